"""The ``delivery:`` section of the YAML."""

from __future__ import annotations

from dataclasses import dataclass

from jmapd.config import doc


@dataclass
class DeliveryConfig:
    lmtp: bool = doc("Run an LMTP listener beside the HTTP workers in `jmapd serve`.", False)
    lmtp_host: str = doc("Address the LMTP listener binds (loopback: only the local MTA may deliver).", "127.0.0.1")
    lmtp_port: int = doc("LMTP port.", 2424)
    hostname: str | None = doc("Name in the LMTP greeting. Null: this host's name.", None)
    domains: list[str] = doc(
        "Domains delivered locally; an address at another domain is refused (550). Empty: any domain.",
        factory=list,
    )
    fold_local_part: bool = doc(
        "Match the local part of a recipient case-insensitively (`Alice@...` reaches `alice`); "
        "domains are always case-insensitive.",
        True,
    )
    recipient_delimiter: str = doc("`user+folder@domain` delivers into the mailbox named `folder`.", "+")
    max_message_size: int = doc("Largest message accepted, in octets (larger: 552).", 50_000_000)
    max_recipients: int = doc("Most recipients of one LMTP transaction.", 1000)
