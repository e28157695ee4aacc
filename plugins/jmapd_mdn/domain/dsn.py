"""What a received report says about a message this account sent: a DSN
(RFC 3464 message/delivery-status) per recipient, or an MDN (RFC 8098)."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message

from .report import NotAReport, parse

#: RFC 3464 §2.3.3 Action → RFC 8621 DeliveryStatus ``delivered``.
ACTIONS = {"delivered": "yes", "failed": "no", "delayed": "queued", "relayed": "unknown", "expanded": "unknown"}


@dataclass
class Outcome:
    kind: str  # "dsn" or "mdn"
    envelope_id: str | None = None
    message_id: str | None = None  # without angle brackets
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)


def _address(value: object) -> str | None:
    """``rfc822; a@b`` → ``a@b``."""
    if value is None:
        return None
    kind, _, address = str(value).partition(";")
    if kind.strip().lower() != "rfc822":
        return None
    return address.strip().strip("<>") or None


def _bare(value: object) -> str | None:
    text = " ".join(str(value).split()).strip().strip("<>") if value is not None else ""
    return text or None


#: Both are multipart/report (RFC 6522): the top-level header names it
#: literally (a MIME token is never encoded).
_MAYBE_REPORT = re.compile(rb"report", re.IGNORECASE)


def _head(raw: bytes) -> bytes:
    """The top-level header section (up to the first empty line, either line ending)."""
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    return raw[:end]


def read(raw: bytes) -> Outcome | None:
    """The outcome of a DSN or MDN, or None for any other message.

    Runs for every delivered message: one scan of the header section turns
    away those that cannot be a report before the full MIME parse."""
    if not _MAYBE_REPORT.search(_head(raw)):
        return None
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if msg.get_content_type() != "multipart/report":
        return None
    report_type = str(msg.get_param("report-type") or "").lower()
    if report_type == "disposition-notification":
        try:
            report, _ = parse(raw)
        except NotAReport:
            return None
        rcpt = _address(report.final_recipient)
        displayed = {"displayed": "yes"} if report.disposition["type"] == "displayed" else {}
        return Outcome("mdn", message_id=_bare(report.original_message_id),
                       statuses={rcpt: displayed} if rcpt and displayed else {})
    if report_type != "delivery-status":
        return None
    parts = list(msg.iter_parts()) if hasattr(msg, "iter_parts") else []
    status = next((p for p in parts if p.get_content_type() == "message/delivery-status"), None)
    if status is None:
        return None
    blocks = [b for b in status.get_payload() if isinstance(b, Message)] if status.is_multipart() else []
    if not blocks:
        return None
    outcome = Outcome("dsn", envelope_id=_bare(blocks[0].get("Original-Envelope-Id")))
    for block in blocks[1:]:
        rcpt = _address(block.get("Original-Recipient")) or _address(block.get("Final-Recipient"))
        action = str(block.get("Action") or "").strip().lower()
        if rcpt and action in ACTIONS:
            outcome.statuses[rcpt] = {"delivered": ACTIONS[action]}
    original = next((p for p in parts[2:] if p.get_content_type() in ("message/rfc822", "text/rfc822-headers")), None)
    if original is not None:
        inner = original.get_payload()
        head: Message | None = inner[0] if isinstance(inner, list) and inner and isinstance(inner[0], Message) else None
        if head is None and isinstance(inner, str):
            head = email.message_from_string(inner, policy=email.policy.compat32)
        if head is not None:
            outcome.message_id = _bare(head.get("Message-ID"))
    return outcome
