"""The ``submission:`` section of the YAML."""

from __future__ import annotations

from dataclasses import dataclass

from jmapd.config import doc


@dataclass
class SmarthostConfig:
    host: str | None = doc("SMTP relay every message is handed to. Null: sending is disabled (forbiddenToSend).", None)
    port: int = doc("Relay port (587 submission, 465 implicit TLS, 25 plain).", 587)
    security: str = doc("none, starttls or tls. starttls never falls back to plaintext.", "starttls")
    user: str | None = doc("AUTH user name at the relay (null: no AUTH).", None)
    password: str | None = doc("AUTH password at the relay.", None)
    timeout: float = doc("Seconds before a silent relay counts as a temporary failure.", 60.0)
    local_hostname: str | None = doc("Name sent in EHLO. Null: this host's FQDN.", None)
    ca_file: str | None = doc(
        "PEM file of the CA certificate(s) the relay's certificate must chain to (starttls, tls). "
        "Null: the system's trust store. The host name is always checked.",
        None,
    )
    accepted_status: str = doc(
        "deliveryStatus.delivered once the relay accepted a recipient: unknown (an external relay) or queued.",
        "unknown",
    )


@dataclass
class SubmissionConfig:
    smarthost: SmarthostConfig = doc("Outbound SMTP relay.", factory=SmarthostConfig)
    default_domain: str = doc(
        "Domain of a user's default identity when the user name is not an address (user@default_domain).",
        "localhost",
    )
    addresses: dict[str, list[str]] = doc(
        "Further addresses per user name a user may send as (and create identities for); `*@domain` allowed.",
        factory=dict,
    )
    forbidden_users: list[str] = doc("User names that may not send at all (forbiddenToSend).", factory=list)
    max_submissions_per_hour: int = doc("Submissions one account may make per hour; 0: unlimited.", 0)
    max_message_size: int = doc("Largest message that may be sent, in octets (tooLarge).", 25_000_000)
    max_recipients: int = doc("Most envelope recipients per submission (tooManyRecipients).", 100)
    send_delay: float = doc(
        "Seconds every submission is held before release (an undo window: it stays cancelable).", 0.0
    )
    max_delayed_send: int = doc(
        "Longest FUTURERELEASE hold (HOLDFOR/HOLDUNTIL) a client may ask for, in seconds; 0: none.", 86400 * 7
    )
    worker: bool = doc("Run the outbound queue worker inside each HTTP worker.", True)
    poll_interval: float = doc(
        "Safety poll: longest the queue worker sleeps between scans. New mail and retries coming due "
        "wake it on their own (a NOTIFY on PostgreSQL, a FIFO on SQLite); the poll only makes good a "
        "wake-up lost to a crash.",
        60.0,
    )
    concurrency: int = doc("Messages one worker relays at once.", 4)
    retry_base: float = doc("Seconds before the first retry after a temporary failure (then doubled).", 60.0)
    retry_cap: float = doc("Longest wait between retries, in seconds.", 4 * 3600.0)
    give_up_after: float = doc("Seconds after the first attempt before temporary failures become final.", 5 * 86400.0)
    finished_retention: float = doc(
        "Seconds a finished queue row (relayed, bounced, given up or canceled) is kept before the queue "
        "worker deletes it with its copy of the message. Rows of the last hour are kept while "
        "max_submissions_per_hour is set, because the limit counts them.",
        7 * 86400.0,
    )
    lease: float = doc(
        "Seconds after which an item claimed by a worker that died is sent again by another.", 600.0
    )
