"""Vacation auto-replies following RFC 3834.

RFC 8621 §8 requires VacationResponse implementations to follow RFC 3834,
whose point is to avoid mail loops and spamming lists or robots.  The
decision is a pure function of the incoming message's headers, its
envelope sender, the user's addresses and when we last answered that
sender, so it can be tested as a table and the server only has to persist
"last replied" timestamps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime, make_msgid
from enum import StrEnum
from html.parser import HTMLParser

from jmapd_submission.api import (
    Address,
    Envelope,
    Header,
    get_all,
    get_last,
    header_addresses,
    identity_allows,
)

__all__ = [
    "VacationSettings",
    "Reason",
    "Decision",
    "decide",
    "ComposedReply",
    "compose_reply",
    "html_to_text",
    "DEFAULT_PERIOD",
]

# RFC 3834 §2: "several days"; RFC 5230 (Sieve vacation) defaults to 7.
DEFAULT_PERIOD = timedelta(days=7)

DEFAULT_TEXT = (
    "I am currently away and will read your message when I return.\r\nThis is an automatic reply."
)


@dataclass(frozen=True)
class VacationSettings:
    """The parts of a JMAP VacationResponse object this module needs."""

    is_enabled: bool = False
    from_date: datetime | None = None
    to_date: datetime | None = None
    subject: str | None = None
    text_body: str | None = None
    html_body: str | None = None

    def active_at(self, when: datetime) -> bool:
        """fromDate is inclusive, toDate exclusive (RFC 8621 §8)."""
        if not self.is_enabled:
            return False
        if self.from_date is not None and when < self.from_date:
            return False
        return not (self.to_date is not None and when >= self.to_date)


class Reason(StrEnum):
    """Why we do / do not reply; stable values for logs and tests."""

    REPLY = "reply"
    DISABLED = "disabled"
    NULL_SENDER = "nullSender"
    OWN_ADDRESS = "ownAddress"
    AUTO_SUBMITTED = "autoSubmitted"
    PRECEDENCE = "precedence"
    MAILING_LIST = "mailingList"
    SUPPRESSED = "autoResponseSuppressed"
    ROBOT_SENDER = "robotSender"
    NOT_ADDRESSED = "notAddressedToUser"
    ALREADY_REPLIED = "alreadyReplied"


@dataclass(frozen=True)
class Decision:
    """``reply_to`` is the envelope sender to answer; ``from_address`` is
    the user's address the message was sent to, used as the reply's From."""

    reply: bool
    reason: Reason
    reply_to: str | None = None
    from_address: str | None = None

    def __bool__(self) -> bool:
        return self.reply


_LIST_HEADERS = (
    "List-Id",
    "List-Unsubscribe",
    "List-Post",
    "List-Help",
    "List-Subscribe",
    "List-Owner",
)
_ROBOT_LOCALPARTS = frozenset(
    {
        "mailer-daemon",
        "postmaster",
        "listserv",
        "majordomo",
        "noreply",
        "no-reply",
        "donotreply",
        "do-not-reply",
    }
)


def _comment_free(value: str) -> str:
    """Drop RFC 5322 comments (non-nested is enough for these tokens)."""
    return re.sub(r"\([^()]*\)", " ", value)


def _is_robot(sender: str) -> bool:
    """Senders that are lists or daemons (RFC 5230 §4.6, RFC 2142)."""
    local = sender.rpartition("@")[0].strip('"').lower()
    return local in _ROBOT_LOCALPARTS or local.startswith("owner-") or local.endswith("-request")


def _mentioned_addresses(headers: Sequence[Header]) -> list[str]:
    found = []
    for name in ("To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"):
        for value in get_all(headers, name):
            found.extend(header_addresses(name, value) or [])
    return found


def _matches_own(address: str, own: Sequence[str], untag: Callable[[str], str] | None = None) -> str | None:
    """Which of the user's addresses covers ``address`` (``*@domain`` allowed),
    also once ``untag`` took a recipient-delimiter tag off it (``bob+lists@``)."""
    for candidate in dict.fromkeys([address, untag(address) if untag else address]):
        for mine in own:
            if identity_allows(mine, candidate):
                return candidate if mine.startswith("*@") else mine
    return None


def decide(
    headers: Sequence[Header],
    envelope_sender: str,
    own_addresses: Iterable[str],
    *,
    settings: VacationSettings | None = None,
    last_replied: datetime | None = None,
    now: datetime | None = None,
    period: timedelta = DEFAULT_PERIOD,
    untag: Callable[[str], str] | None = None,
) -> Decision:
    """Decide whether to auto-reply to an incoming message.

    ``envelope_sender`` is the SMTP MAIL FROM / Return-Path ("" for the null
    sender): RFC 3834 §4 says responses go there, never to From or
    Reply-To, which could be forged at no cost to the forger.
    ``last_replied`` is when we last auto-replied to this sender; pass
    ``settings`` to also apply the isEnabled/fromDate/toDate window;
    ``untag`` removes a recipient-delimiter tag, so mail to ``bob+lists@`` is
    addressed to bob.
    """
    now = now or datetime.now(UTC)
    own = [a for a in own_addresses if a]
    sender = envelope_sender.strip().strip("<>").strip()

    def no(reason: Reason) -> Decision:
        return Decision(False, reason)

    if settings is not None and not settings.active_at(now):
        return no(Reason.DISABLED)
    if not sender or "@" not in sender:
        return no(Reason.NULL_SENDER)
    if _matches_own(sender, own, untag):
        return no(Reason.OWN_ADDRESS)

    for value in get_all(headers, "Auto-Submitted"):
        token = _comment_free(value).split(";")[0].strip().lower()
        if token != "no":
            return no(Reason.AUTO_SUBMITTED)
    for value in get_all(headers, "Precedence"):
        if _comment_free(value).strip().lower() in ("bulk", "list", "junk"):
            return no(Reason.PRECEDENCE)
    if any(get_all(headers, name) for name in _LIST_HEADERS):
        return no(Reason.MAILING_LIST)
    # Microsoft's equivalent of "do not auto-reply to this".
    for value in get_all(headers, "X-Auto-Response-Suppress"):
        tokens = {t.strip().lower() for t in value.split(",")}
        if tokens & {"all", "oof", "autoreply"}:
            return no(Reason.SUPPRESSED)
    if _is_robot(sender):
        return no(Reason.ROBOT_SENDER)

    # RFC 3834 §2: personal responders SHOULD NOT answer mail that does not
    # name the user in To/Cc/Bcc (lists, bcc'd spam, forwarded copies).
    addressed_as = None
    for addr in _mentioned_addresses(headers):
        addressed_as = _matches_own(addr, own, untag)
        if addressed_as:
            break
    if addressed_as is None:
        return no(Reason.NOT_ADDRESSED)

    if last_replied is not None and now - last_replied < period:
        return no(Reason.ALREADY_REPLIED)
    return Decision(True, Reason.REPLY, reply_to=sender, from_address=addressed_as)


# --- composing the reply ------------------------------------------------------


class _TextExtractor(HTMLParser):
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain-text rendering of the HTML body (RFC 8621 §8: the server SHOULD
    generate a text part when only htmlBody is set)."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _decoded_subject(headers: Sequence[Header]) -> str:
    raw = get_last(headers, "Subject")
    if raw is None:
        return ""
    try:
        value = str(default.header_factory("subject", raw))
    except Exception:
        value = raw
    return " ".join(value.split())


def _reply_subject(original: str, own_subject: str | None) -> str:
    if own_subject:
        return " ".join(own_subject.split())
    if not original:
        return "Auto: Out of office"
    if re.match(r"re\s*:", original, re.IGNORECASE):
        return original
    return f"Re: {original}"


_MSGID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class ComposedReply:
    """The reply message and the envelope to send it with.

    The envelope sender is null (``MAIL FROM:<>``) as RFC 3834 §3.3 / RFC
    5230 §5.1 recommend, so a bounce of the reply can never trigger another
    auto-reply.
    """

    raw: bytes
    envelope: Envelope
    message_id: str


def compose_reply(
    headers: Sequence[Header],
    decision: Decision,
    settings: VacationSettings,
    *,
    from_name: str | None = None,
    now: datetime | None = None,
    msgid_domain: str | None = None,
) -> ComposedReply:
    """Build the auto-reply for a positive :class:`Decision`.

    Threading headers come from the incoming Message-ID/References so the
    reply lands in the sender's conversation; ``Auto-Submitted:
    auto-replied`` marks it so conforming responders will not answer it.
    """
    if not decision.reply or not decision.reply_to or not decision.from_address:
        raise ValueError("compose_reply needs a positive decision")
    now = now or datetime.now(UTC)
    from_address = decision.from_address
    domain = msgid_domain or from_address.rpartition("@")[2] or "jmapd.invalid"

    msg = EmailMessage(policy=SMTP)
    if from_name:
        local, _, dom = from_address.rpartition("@")
        msg["From"] = HeaderAddress(display_name=from_name, username=local, domain=dom)
    else:
        msg["From"] = from_address
    msg["To"] = decision.reply_to
    msg["Subject"] = _reply_subject(_decoded_subject(headers), settings.subject)
    msg["Date"] = format_datetime(now if now.tzinfo else now.replace(tzinfo=UTC))
    message_id = make_msgid(domain=domain)
    msg["Message-ID"] = message_id

    original_id = get_last(headers, "Message-ID")
    original_ids = _MSGID.findall(original_id or "")
    if original_ids:
        refs = _MSGID.findall(get_last(headers, "References") or "")
        if not refs:
            refs = _MSGID.findall(get_last(headers, "In-Reply-To") or "")[:1]
        msg["In-Reply-To"] = original_ids[0]
        msg["References"] = " ".join([*refs, original_ids[0]])
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"

    text, markup = settings.text_body, settings.html_body
    if text is None and markup is not None:
        text = html_to_text(markup)
    if text is None:
        text = DEFAULT_TEXT
    msg.set_content(text)
    if markup is not None:
        msg.add_alternative(markup, subtype="html")

    envelope = Envelope(Address(""), (Address(decision.reply_to),))
    return ComposedReply(msg.as_bytes(), envelope, message_id)
