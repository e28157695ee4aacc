"""The RFC 8098 message/disposition-notification report, both ways.

``compose`` builds the multipart/report a user's MDN is sent as; ``parse``
reads one back into the fields of a JMAP MDN object (RFC 9007 §2).
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import format_datetime, make_msgid
from typing import Any

ACTION_MODES = ("manual-action", "automatic-action")
SENDING_MODES = ("mdn-sent-manually", "mdn-sent-automatically")
TYPES = ("deleted", "dispatched", "displayed", "processed")
_FIELD_NAME = re.compile(r"^[A-Za-z0-9-]{1,76}$")
_KNOWN = {"reporting-ua", "mdn-gateway", "original-recipient", "final-recipient", "original-message-id",
          "disposition", "error"}


@dataclass
class Report:
    """The fields of one MDN (RFC 9007 names, RFC 8098 meanings)."""

    final_recipient: str
    disposition: dict[str, str]
    original_message_id: str | None = None
    original_recipient: str | None = None
    reporting_ua: str | None = None
    mdn_gateway: str | None = None
    error: list[str] = field(default_factory=list)
    extension_fields: dict[str, str] = field(default_factory=dict)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def report_fields(report: Report) -> str:
    """The body of the message/disposition-notification part (RFC 8098 §3.1)."""
    lines = []
    if report.reporting_ua:
        lines.append(f"Reporting-UA: {_one_line(report.reporting_ua)}")
    if report.mdn_gateway:
        lines.append(f"MDN-Gateway: {_one_line(report.mdn_gateway)}")
    if report.original_recipient:
        lines.append(f"Original-Recipient: {_one_line(report.original_recipient)}")
    lines.append(f"Final-Recipient: {_one_line(report.final_recipient)}")
    if report.original_message_id:
        lines.append(f"Original-Message-ID: {_one_line(report.original_message_id)}")
    d = report.disposition
    lines.append(f"Disposition: {d['actionMode']}/{d['sendingMode']}; {d['type']}")
    for text in report.error:
        lines.append(f"Error: {_one_line(text)}")
    for name, value in report.extension_fields.items():
        lines.append(f"{name}: {_one_line(value)}")
    return "".join(line + "\r\n" for line in lines)


def compose(
    report: Report, *, from_header: str, to: list[str], subject: str, text: str,
    original: bytes | None, domain: str, now: Any,
) -> bytes:
    """The MDN message: multipart/report (RFC 6522) of the human-readable
    text, the report and, if asked for, the original message."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = from_header
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["MIME-Version"] = "1.0"
    msg.set_type("multipart/report")
    msg.set_param("report-type", "disposition-notification")
    text_part = EmailMessage(policy=email.policy.SMTP)
    text_part.set_content(text)
    del text_part["MIME-Version"]
    notification = EmailMessage(policy=email.policy.SMTP)
    notification["Content-Type"] = "message/disposition-notification"
    notification.set_payload(report_fields(report))
    msg.attach(text_part)
    msg.attach(notification)
    if original is not None:
        copy = EmailMessage(policy=email.policy.SMTP)
        copy["Content-Type"] = "message/rfc822"
        copy.set_payload(original.decode("utf-8", "surrogateescape"))
        msg.attach(copy)
    return msg.as_bytes()


class NotAReport(ValueError):
    """The message is not an RFC 8098 disposition notification."""


def parse(raw: bytes) -> tuple[Report, dict[str, Any]]:
    """The report of an MDN message and its subject, text and whether the
    original is included; :class:`NotAReport` if it is not an MDN."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if msg.get_content_type() != "multipart/report" or \
            str(msg.get_param("report-type") or "").lower() != "disposition-notification":
        raise NotAReport("not a multipart/report of type disposition-notification")
    parts = list(msg.iter_parts()) if hasattr(msg, "iter_parts") else []
    notification = next((p for p in parts if p.get_content_type() == "message/disposition-notification"), None)
    if notification is None:
        raise NotAReport("no message/disposition-notification part")
    payload = notification.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        fields: Message = payload[0]  # the parser reads message/* bodies as header blocks
    else:
        body = payload.encode("utf-8", "replace") if isinstance(payload, str) else b""
        fields = email.message_from_bytes(body.lstrip(b"\r\n"), policy=email.policy.compat32)
    disposition = _disposition(fields.get("Disposition"))
    final = fields.get("Final-Recipient")
    if final is None:
        raise NotAReport("no Final-Recipient")
    extensions = {k: _one_line(str(v)) for k, v in fields.items() if k.lower() not in _KNOWN}
    report = Report(
        final_recipient=_one_line(str(final)), disposition=disposition,
        original_message_id=_opt(fields.get("Original-Message-ID")),
        original_recipient=_opt(fields.get("Original-Recipient")),
        reporting_ua=_opt(fields.get("Reporting-UA")), mdn_gateway=_opt(fields.get("MDN-Gateway")),
        error=[_one_line(str(v)) for v in fields.get_all("Error") or []], extension_fields=extensions,
    )
    first = parts[0] if parts else None
    text = first.get_content() if first is not None and first.get_content_type() == "text/plain" else None
    if text is not None:  # the line ends of the wire, not of the text
        text = text.replace("\r\n", "\n").removesuffix("\n")
    extra = {
        "subject": str(msg["Subject"]) if msg["Subject"] is not None else None,
        "textBody": text,
        "includeOriginalMessage": any(p.get_content_type() in ("message/rfc822", "text/rfc822-headers")
                                      for p in parts[2:]),
    }
    return report, extra


def _opt(value: Any) -> str | None:
    return _one_line(str(value)) if value is not None else None


def _disposition(value: Any) -> dict[str, str]:
    """``action-mode/sending-mode; type[/modifiers]``, lowercased (RFC 9007 §2)."""
    if value is None:
        raise NotAReport("no Disposition")
    text = re.sub(r"\([^)]*\)", "", str(value)).strip().lower()
    modes, _, rest = text.partition(";")
    action, _, sending = modes.strip().partition("/")
    kind = rest.strip().split("/")[0].strip()
    if action.strip() not in ACTION_MODES or sending.strip() not in SENDING_MODES or kind not in TYPES:
        raise NotAReport(f"bad Disposition {value!r}")
    return {"actionMode": action.strip(), "sendingMode": sending.strip(), "type": kind}


def valid_field_name(name: str) -> bool:
    return bool(_FIELD_NAME.match(name)) and name.lower() not in _KNOWN
