"""Outbound delivery through an SMTP smarthost.

The server does not do MX routing itself: every submission goes to one
configured relay.  :func:`send` performs a single synchronous SMTP
transaction (call it from a worker thread, never on the event loop) and
classifies the outcome *per recipient*, because RFC 8621 ``deliveryStatus``
is per recipient and a durable retry queue must retry only the recipients
that failed temporarily.

Classification rules:

- 2xx to RCPT and 250 after DATA: accepted.
- 4xx at MAIL/RCPT/DATA, dropped connections, timeouts: temporary.
- 5xx at MAIL/RCPT/DATA: permanent.
- Failures *before* MAIL (connect, greeting, EHLO, STARTTLS, AUTH) are
  temporary even when the relay answers 5xx: they describe our relay
  configuration, not the message, and bouncing every queued message while
  an operator rotates a password would be worse than retrying until the
  queue's give-up age.
"""

from __future__ import annotations

import random
import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from .addresses import encode_parameters
from .envelope import Address, Envelope

__all__ = [
    "Security",
    "RelayConfig",
    "Outcome",
    "RecipientResult",
    "RelayResult",
    "send",
    "probe",
    "flatten_reply",
    "normalize_line_endings",
    "RetryPolicy",
    "backoff",
]


class Security(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


@dataclass(frozen=True)
class RelayConfig:
    """Smarthost connection settings.

    ``accepted_status`` is what ``deliveryStatus.delivered`` says once the
    relay accepted a recipient: RFC 8621 says relaying to an external host
    is not final delivery (``unknown``); operators whose smarthost is their
    own local MTA may prefer ``queued``.
    """

    host: str
    port: int = 587
    security: Security = Security.STARTTLS
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    local_hostname: str | None = None
    ssl_context: ssl.SSLContext | None = None
    accepted_status: Literal["unknown", "queued"] = "unknown"

    def __post_init__(self) -> None:
        object.__setattr__(self, "security", Security(self.security))
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password must be given together")

    def tls_context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


def classify(code: int) -> Outcome:
    """Map an SMTP reply code to an outcome (non-2xx/5xx counts as temporary)."""
    if 200 <= code < 300:
        return Outcome.ACCEPTED
    if 500 <= code < 600:
        return Outcome.PERMANENT
    return Outcome.TEMPORARY


_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}(?= |$)")


def flatten_reply(code: int, text: str | bytes) -> str:
    """Render an SMTP reply as RFC 8621 ``smtpReply``.

    smtplib already strips ``550-``/``550 `` from each line.  The prefix
    shared with the first line that the RFC says to drop is, in practice,
    the enhanced status code repeated per line; only that is removed,
    because a blind character-wise common prefix would eat into words.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    if lines:
        first = _ENHANCED.match(lines[0])
        if first:
            prefix = first.group(0)
            lines = [lines[0]] + [
                line[len(prefix) :].lstrip() if line.startswith(prefix) else line
                for line in lines[1:]
            ]
    body = " ".join(line for line in lines if line)
    return f"{code} {body}" if body else str(code)


@dataclass(frozen=True)
class RecipientResult:
    """Result of one delivery attempt for one recipient."""

    email: str
    code: int
    reply: str
    outcome: Outcome
    accepted_status: str = "unknown"

    def delivery_status(self) -> dict[str, str]:
        """JMAP ``DeliveryStatus`` for this recipient."""
        delivered = {
            Outcome.ACCEPTED: self.accepted_status,
            Outcome.TEMPORARY: "queued",
            Outcome.PERMANENT: "no",
        }[self.outcome]
        return {"smtpReply": self.reply, "delivered": delivered, "displayed": "unknown"}

    def given_up(self) -> RecipientResult:
        """The final state once the retry queue abandons a temporary failure."""
        return replace(self, outcome=Outcome.PERMANENT)


@dataclass(frozen=True)
class RelayResult:
    """Per-recipient results of one SMTP transaction, in envelope order."""

    recipients: tuple[RecipientResult, ...]
    #: The relay's reply to DATA (its queue id, for the log); None if DATA was never sent.
    data_reply: str | None = None

    def delivery_status(self) -> dict[str, dict[str, str]]:
        """JMAP ``deliveryStatus`` map (address -> DeliveryStatus)."""
        return {r.email: r.delivery_status() for r in self.recipients}

    def by_outcome(self, outcome: Outcome) -> list[str]:
        return [r.email for r in self.recipients if r.outcome is outcome]

    @property
    def accepted(self) -> list[str]:
        return self.by_outcome(Outcome.ACCEPTED)

    @property
    def temporary(self) -> list[str]:
        return self.by_outcome(Outcome.TEMPORARY)

    @property
    def permanent(self) -> list[str]:
        return self.by_outcome(Outcome.PERMANENT)

    @property
    def needs_retry(self) -> bool:
        return bool(self.temporary)

    def retry_envelope(self, envelope: Envelope) -> Envelope | None:
        """The envelope for the next attempt: only temporarily failed
        recipients (with their parameters), or None when nothing is left."""
        pending = set(self.temporary)
        rcpts = tuple(a for a in envelope.rcpt_to if a.email in pending)
        return Envelope(envelope.mail_from, rcpts) if rcpts else None


class _Abort(Exception):
    """Ends the transaction; every recipient without a final reply gets this."""

    def __init__(self, code: int, reply: str, outcome: Outcome | None = None) -> None:
        super().__init__(reply)
        self.code = code
        self.reply = reply
        self.outcome = outcome or classify(code)


def normalize_line_endings(raw: bytes) -> bytes:
    """Convert bare LF / bare CR to CRLF (RFC 5321 §2.3.8 forbids bare ones).

    smtplib only fixes line endings of ``str`` messages, not ``bytes``.
    """
    return re.sub(rb"\r\n|\r|\n", b"\r\n", raw)


def _command(smtp: smtplib.SMTP, verb: str, address: Address) -> tuple[int, str]:
    """Send MAIL/RCPT with our own formatting.

    smtplib's ``mail()``/``rcpt()`` run addresses through
    ``email.utils.parseaddr``, which rewrites some valid mailboxes; the
    address has already been validated, so it is sent verbatim.
    """
    tokens = encode_parameters(address.parameters)
    arg = f"{verb}:<{address.email}>" + "".join(f" {t}" for t in tokens)
    if any(c in arg for c in "\r\n\0"):
        raise ValueError("control character in SMTP command")
    smtp.putcmd(arg)
    code, text = smtp.getreply()
    return code, flatten_reply(code, text)


def _open(config: RelayConfig) -> smtplib.SMTP:
    kwargs: dict[str, Any] = {"timeout": config.timeout}
    if config.local_hostname:
        kwargs["local_hostname"] = config.local_hostname
    try:
        if config.security is Security.TLS:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                config.host, config.port, context=config.tls_context(), **kwargs
            )
        else:
            smtp = smtplib.SMTP(config.host, config.port, **kwargs)
    except smtplib.SMTPConnectError as exc:  # greeting was not 220
        raise _Abort(
            exc.smtp_code, flatten_reply(exc.smtp_code, exc.smtp_error), Outcome.TEMPORARY
        ) from exc
    except ssl.SSLError as exc:
        raise _Abort(421, f"421 4.7.0 TLS negotiation with relay failed: {exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise _Abort(
            421, f"421 4.4.1 Could not connect to relay {config.host}:{config.port}: {exc}"
        ) from exc
    return smtp


def _prepare(smtp: smtplib.SMTP, config: RelayConfig) -> None:
    """EHLO, STARTTLS and AUTH; any failure is a temporary session failure."""
    try:
        smtp.ehlo_or_helo_if_needed()
        if config.security is Security.STARTTLS:
            if not smtp.has_extn("starttls"):
                # Never silently downgrade to plaintext.
                raise _Abort(421, "421 4.7.0 Relay does not offer STARTTLS")
            code, text = smtp.starttls(context=config.tls_context())
            if code != 220:
                raise _Abort(code, flatten_reply(code, text), Outcome.TEMPORARY)
            smtp.ehlo()
        if config.username is not None:
            if not smtp.has_extn("auth"):
                raise _Abort(421, "421 4.7.0 Relay does not offer AUTH")
            smtp.login(config.username, config.password or "")
    except smtplib.SMTPResponseException as exc:
        raise _Abort(
            exc.smtp_code, flatten_reply(exc.smtp_code, exc.smtp_error), Outcome.TEMPORARY
        ) from exc
    except ssl.SSLError as exc:
        raise _Abort(421, f"421 4.7.0 TLS negotiation with relay failed: {exc}") from exc
    except smtplib.SMTPException as exc:  # e.g. no supported AUTH mechanism
        raise _Abort(421, f"421 4.7.0 Relay session setup failed: {exc}") from exc


def probe(config: RelayConfig) -> tuple[bool, str]:
    """Open a session as :func:`send` would (connect, EHLO, STARTTLS, AUTH)
    and QUIT without sending: ``(worked, what happened)``, for
    ``jmapd config check --connect``."""
    try:
        smtp = _open(config)
    except _Abort as exc:
        return False, exc.reply
    try:
        _prepare(smtp, config)
    except _Abort as exc:
        return False, exc.reply
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    steps = ["EHLO"] + (["STARTTLS"] if config.security is Security.STARTTLS else [])
    steps += ["TLS"] if config.security is Security.TLS else []
    steps += ["AUTH"] if config.username is not None else []
    return True, " + ".join(steps) + " accepted"


def send(
    config: RelayConfig, envelope: Envelope, message: bytes, *, envid: str | None = None
) -> RelayResult:
    """Relay ``message`` to all envelope recipients in one SMTP transaction.

    ``envid`` becomes the ``ENVID`` MAIL parameter (RFC 3461) when the
    relay advertises DSN and the envelope does not already carry one, so
    delivery status notifications name the submission they are about.

    ``message`` should already have had Bcc stripped (see
    ``envelope.strip_bcc``).  Never raises for network or protocol
    failures: those become per-recipient results.  Raises ``ValueError``
    only for an envelope that was not validated (``parse_envelope`` /
    ``derive_envelope``) and cannot be put on the wire safely.  Blocking;
    run it in a thread.
    """
    message = normalize_line_endings(message)
    status = config.accepted_status
    final: dict[str, RecipientResult] = {}
    rcpt_replies: dict[str, tuple[int, str]] = {}

    def settle(email: str, code: int, reply: str, outcome: Outcome) -> None:
        final[email] = RecipientResult(email, code, reply, outcome, status)

    smtp: smtplib.SMTP | None = None
    data_reply: str | None = None
    try:
        smtp = _open(config)
        _prepare(smtp, config)

        mail_from = envelope.mail_from
        params = dict(mail_from.parameters or {})
        keys = {k.upper() for k in params}
        if envelope.needs_smtputf8:
            if not smtp.has_extn("smtputf8"):
                raise _Abort(553, "553 5.6.7 Relay does not support SMTPUTF8 addresses")
            smtp.command_encoding = "utf-8"
            if "SMTPUTF8" not in keys:
                params["SMTPUTF8"] = None
        limit = smtp.esmtp_features.get("size", "")
        if limit.isdigit() and int(limit) and len(message) > int(limit):
            raise _Abort(552, f"552 5.3.4 Message size exceeds relay limit of {limit} octets")
        if smtp.has_extn("size") and "SIZE" not in keys:
            params["SIZE"] = str(len(message))
        if envid and len(envid) <= 100 and smtp.has_extn("dsn") and "ENVID" not in keys:
            params["ENVID"] = envid

        code, reply = _command(smtp, "MAIL FROM", Address(mail_from.email, params or None))
        if not 200 <= code < 300:
            raise _Abort(code, reply)

        for rcpt in envelope.rcpt_to:
            code, reply = _command(smtp, "RCPT TO", rcpt)
            if 200 <= code < 300:
                rcpt_replies[rcpt.email] = (code, reply)
            else:
                settle(rcpt.email, code, reply, classify(code))

        if not rcpt_replies:
            return _result(envelope, final, status)

        text: bytes | str
        try:
            code, text = smtp.data(message)
        except smtplib.SMTPDataError as exc:  # DATA itself refused
            code, text = exc.smtp_code, exc.smtp_error
        reply = flatten_reply(code, text)
        data_reply = reply
        for email, (rcode, rreply) in rcpt_replies.items():
            if 200 <= code < 300:
                settle(email, rcode, rreply, Outcome.ACCEPTED)
            else:
                settle(email, code, reply, classify(code))
    except _Abort as abort:
        for email in [a.email for a in envelope.rcpt_to if a.email not in final]:
            settle(email, abort.code, abort.reply, abort.outcome)
    except (OSError, smtplib.SMTPException) as exc:
        detail = "timed out" if isinstance(exc, socket.timeout) else f"connection lost: {exc}"
        for email in [a.email for a in envelope.rcpt_to if a.email not in final]:
            settle(email, 421, f"421 4.4.2 Relay {detail}", Outcome.TEMPORARY)
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    return replace(_result(envelope, final, status), data_reply=data_reply)


def _result(envelope: Envelope, final: Mapping[str, RecipientResult], status: str) -> RelayResult:
    ordered = []
    for a in envelope.rcpt_to:
        r = final.get(a.email) or RecipientResult(
            a.email, 451, "451 4.3.0 No reply from relay", Outcome.TEMPORARY, status
        )
        ordered.append(r)
    return RelayResult(tuple(ordered))


# --- retry schedule -----------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for the durable retry queue.

    Delays grow ``base * factor**(attempt-1)`` up to ``cap`` and are then
    shortened by up to ``jitter`` (a fraction) at random, so messages that
    failed together (relay outage) do not all retry in the same second,
    and the cap is never exceeded.  ``max_age`` follows RFC 5321 §4.5.4.1
    (give up after 4-5 days).
    """

    base: float = 60.0
    factor: float = 2.0
    cap: float = 4 * 3600.0
    jitter: float = 0.25
    max_age: timedelta = timedelta(days=5)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        if attempt < 1:
            raise ValueError("attempt counts failed attempts and starts at 1")
        exponent = min(attempt - 1, 64)  # avoid float overflow for huge counts
        raw = min(self.cap, self.base * self.factor**exponent)
        r = (rng or random).random()
        return raw * (1.0 - self.jitter * r)

    def expired(self, first_attempt: datetime, now: datetime) -> bool:
        return now - first_attempt >= self.max_age


DEFAULT_RETRY = RetryPolicy()


def backoff(
    attempt: int, *, policy: RetryPolicy = DEFAULT_RETRY, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = after the first failure)."""
    return policy.delay(attempt, rng)
