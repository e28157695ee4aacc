"""Scheduling by email: iTIP (RFC 5546) messages as iMIP (RFC 6047).

``CalendarEvent/set`` with ``sendSchedulingMessages`` (draft §5.5.1) asks
:func:`plan` what a create, update or destroy means to the other
participants, then :func:`dispatch` turns each message into an email:

- the origin (organizer) sends REQUEST to every participant that is not
  the account itself when the event is created or changes in a way that is
  not per-user, CANCEL to removed participants, and CANCEL for an
  occurrence that is excluded (or an extra occurrence that is removed) or
  for the whole event when it is destroyed;
- an attendee sends REPLY to the organizer when their participationStatus
  changes (for the series or one occurrence) to anything but needs-action,
  or when they create or destroy an event they answered.

Changes only to participation statuses (an attendee's RSVP recorded by the
organizer) send nothing: the draft allows leaving out updates that are not
essential, and they would echo every REPLY back to everyone.

Remote recipients go through the submission plugin's queue in the same
savepoint as the change, so a message exists exactly when the change does.
A recipient the delivery plugin knows as a local user is delivered
directly after the change committed (into their inbox, where
:mod:`.inbound` applies it to their calendar), as an MTA would have. A
recipient that cannot be reached (no ``mailto:`` address, no relay for a
remote one) fails the change with ``noSupportedScheduleMethods``, before
anything is stored.
"""

from __future__ import annotations

import copy
import datetime
import logging
from dataclasses import dataclass, field
from typing import Any

from jmapd.protocol.errors import SetError

from .identity import identities, mail_address, normalize_address
from .peruser import PER_USER

log = logging.getLogger("jmapd.calendars.scheduling")

#: Changes that are not the event's scheduling content (draft §5.5 sequence rule).
QUIET = PER_USER | {"calendarIds", "isDraft", "updated", "sequence", "isOrigin", "created", "id", "iCalendar"}
#: What an organizer records of an attendee's answer; changing it alone is not essential.
_ANSWER = ("participationStatus", "scheduleSequence", "scheduleUpdated", "expectReply", "scheduleStatus")


@dataclass
class Message:
    """One iTIP message about one event to some recipients."""

    method: str
    event: dict[str, Any]
    sender: str
    sender_name: str
    recipients: list[str]
    recurrence_id: str | None = None
    attendee: str | None = None
    updated: bool = False


@dataclass
class Outbox:
    """Messages a /set call produced, remote ones queued, local ones held
    until the call's transaction has committed."""

    #: (event id, recipient, envelope sender, message)
    local: list[tuple[str, str, str, bytes]] = field(default_factory=list)
    queued: bool = False


class Unreachable(Exception):
    """A recipient has no address the server can send to."""

    def __init__(self, address: Any) -> None:
        super().__init__(address)
        self.address = address


# -- what to send --------------------------------------------------------------
def _answerless(participants: Any) -> Any:
    if not isinstance(participants, dict):
        return participants
    return {pid: {k: v for k, v in p.items() if k not in _ANSWER} if isinstance(p, dict) else p
            for pid, p in participants.items()}


def _answerless_patch(patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    out = {}
    for key, value in patch.items():
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == "participants" and parts[2] in _ANSWER:
            continue
        if key == "participants":
            value = _answerless(value)
        out[key] = value
    return out


def is_significant(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether an update changes what participants were told (draft §5.5:
    anything but calendarIds, isDraft, updated and per-user properties;
    here also not just the recorded answers of attendees)."""
    keys = {k for k in set(old) | set(new) if old.get(k) != new.get(k)} - QUIET
    if keys - {"participants", "recurrenceOverrides"}:
        return True
    if _answerless(old.get("participants")) != _answerless(new.get("participants")):
        return True
    old_ov = old.get("recurrenceOverrides") or {}
    new_ov = new.get("recurrenceOverrides") or {}
    return any(_answerless_patch(old_ov.get(r)) != _answerless_patch(new_ov.get(r)) for r in set(old_ov) | set(new_ov))


def _scheduled(participant: Any) -> bool:
    """JSCalendar scheduleAgent: only "server" (the default) is ours to send."""
    return isinstance(participant, dict) and participant.get("scheduleAgent", "server") == "server"


def _recipients(event: dict[str, Any], own: set[str]) -> dict[str, str]:
    """Normalised calendar address → participant id, of everyone the origin
    writes to (not the account itself, not the organizer)."""
    organizer = normalize_address(event.get("organizerCalendarAddress"))
    out: dict[str, str] = {}
    for pid, p in (event.get("participants") or {}).items():
        if not _scheduled(p):
            continue
        address = normalize_address(p.get("calendarAddress"))
        if address is None:
            raise Unreachable(p.get("calendarAddress"))
        if address in own or address == organizer:
            continue
        out.setdefault(address, pid)
    return out


def _excluded(overrides: Any) -> set[str]:
    return {r for r, p in (overrides or {}).items() if isinstance(p, dict) and p.get("excluded") is True}


def _sender(event: dict[str, Any], address: str | None, ids: list[dict[str, Any]]) -> tuple[str, str]:
    name = ""
    norm = normalize_address(address)
    for identity in ids:
        if normalize_address(identity.get("calendarAddress")) == norm:
            name = identity.get("name") or ""
    for p in (event.get("participants") or {}).values():
        if isinstance(p, dict) and normalize_address(p.get("calendarAddress")) == norm and not name:
            name = p.get("name") or ""
    mail = mail_address(address)
    if mail is None:
        raise Unreachable(address)
    return mail, name


def _mails(addresses: list[str]) -> list[str]:
    out = []
    for a in addresses:
        mail = mail_address(a)
        if mail is None:
            raise Unreachable(a)
        out.append(mail)
    return out


def plan(old: dict[str, Any] | None, new: dict[str, Any] | None, account_id: str,
         user: list[dict[str, Any]] | None = None) -> list[Message]:
    """The iTIP messages for ``old`` → ``new`` (None: created / destroyed).

    :param user: the identities of the user making the change, when they
        are not the account's (a sharee answering in a shared calendar:
        draft §5.5.1 REPLY is "for every participant corresponding to one of
        the user's ParticipantIdentities").
    :raises Unreachable: a recipient without a ``mailto:`` address.
    """
    current = new if new is not None else old
    assert current is not None
    if current.get("isDraft") or (new is not None and old is not None and old.get("isDraft") and new.get("isDraft")):
        return []
    ids = identities(account_id)
    own = {a for a in (normalize_address(i.get("calendarAddress")) for i in ids) if a}
    if current.get("isOrigin", True):
        return _plan_origin(old, new, own, ids)
    if user is not None:
        ids = user
        own = {a for a in (normalize_address(i.get("calendarAddress")) for i in ids) if a}
    return _plan_attendee(old, new, own, ids)


def _plan_origin(old: dict[str, Any] | None, new: dict[str, Any] | None, own: set[str],
                 ids: list[dict[str, Any]]) -> list[Message]:
    current = new if new is not None else old
    assert current is not None
    if not current.get("participants") or not current.get("organizerCalendarAddress"):
        return []
    sender, name = _sender(current, current.get("organizerCalendarAddress"), ids)
    messages: list[Message] = []
    if new is None:
        assert old is not None
        to = _recipients(old, own)
        if to:
            messages.append(Message("CANCEL", old, sender, name, _mails(list(to))))
        return messages
    to = _recipients(new, own)
    if old is None:
        if to:
            messages.append(Message("REQUEST", new, sender, name, _mails(list(to))))
        return messages
    before = _recipients(old, own) if old.get("organizerCalendarAddress") and old.get("participants") else {}
    removed = [a for a in before if a not in to]
    if removed:
        messages.append(Message("CANCEL", {**old, "sequence": new.get("sequence", 0)}, sender, name, _mails(removed)))
    from .domain.recurrence import get_occurrence, is_occurrence

    old_ov, new_ov = old.get("recurrenceOverrides") or {}, new.get("recurrenceOverrides") or {}
    cancelled = [r for r in sorted(_excluded(new_ov) - _excluded(old_ov))]
    cancelled += [r for r in sorted(set(old_ov) - set(new_ov) - _excluded(old_ov)) if not is_occurrence(new, r)]
    kept = [a for a in to if a in before]
    for rid in cancelled:
        if kept and get_occurrence(old, rid) is not None:
            messages.append(Message("CANCEL", {**old, "sequence": new.get("sequence", 0)}, sender, name,
                                    _mails(kept), recurrence_id=rid))
    # The exclusions are told by their CANCEL: a REQUEST only for other changes.
    rest_old = {**old, "recurrenceOverrides": {r: p for r, p in old_ov.items() if r not in cancelled} or None}
    rest_new = {**new, "recurrenceOverrides": {r: p for r, p in new_ov.items() if r not in cancelled} or None}
    added = [a for a in to if a not in before]
    if is_significant(rest_old, rest_new) and to:
        messages.append(Message("REQUEST", new, sender, name, _mails(list(to)), updated=bool(before)))
    elif added:
        messages.append(Message("REQUEST", new, sender, name, _mails(added)))
    return messages


def _status(p: Any) -> str:
    return (p.get("participationStatus") if isinstance(p, dict) else None) or "needs-action"


def _plan_attendee(old: dict[str, Any] | None, new: dict[str, Any] | None, own: set[str],
                   ids: list[dict[str, Any]]) -> list[Message]:
    current = new if new is not None else old
    assert current is not None
    organizer = current.get("organizerCalendarAddress")
    mine = {pid: p for pid, p in (current.get("participants") or {}).items()
            if isinstance(p, dict) and normalize_address(p.get("calendarAddress")) in own}
    if not organizer or not mine:
        return []
    messages: list[Message] = []

    def reply(event: dict[str, Any], pid: str, rid: str | None = None) -> None:
        address = event["participants"][pid]["calendarAddress"]
        sender, name = _sender(event, address, ids)
        messages.append(Message("REPLY", event, sender, name, _mails([organizer]), recurrence_id=rid,
                                attendee=address))

    if new is None:
        assert old is not None
        for pid, p in mine.items():
            if _status(p) != "needs-action":
                declined = copy.deepcopy(old)
                declined["participants"][pid]["participationStatus"] = "declined"
                reply(declined, pid)
        return messages
    old_parts = (old or {}).get("participants") or {}
    for pid, p in mine.items():
        if _status(p) != "needs-action" and (old is None or _status(old_parts.get(pid)) != _status(p)):
            reply(new, pid)
    if old is None:
        return messages
    old_ov, new_ov = old.get("recurrenceOverrides") or {}, new.get("recurrenceOverrides") or {}
    for rid, patch in new_ov.items():
        if not isinstance(patch, dict) or patch.get("excluded"):
            continue
        for pid in mine:
            key = f"participants/{pid}/participationStatus"
            value = patch.get(key)
            before = (old_ov.get(rid) or {}).get(key) if isinstance(old_ov.get(rid), dict) else None
            if value and value != "needs-action" and value != before:
                reply(new, pid, rid)
    return messages


# -- how to send ------------------------------------------------------------
_SUBJECT = {"accepted": "Accepted", "declined": "Declined", "tentative": "Tentatively accepted",
            "delegated": "Delegated"}


def _subject(message: Message) -> str:
    title = message.event.get("title") or "(no title)"
    if message.method == "REQUEST":
        return f"{'Updated invitation' if message.updated else 'Invitation'}: {title}"
    if message.method == "CANCEL":
        return f"Cancelled: {title}"
    status = "needs-action"
    for p in (message.event.get("participants") or {}).values():
        if isinstance(p, dict) and normalize_address(p.get("calendarAddress")) == normalize_address(message.attendee):
            status = _status(p)
    return f"{_SUBJECT.get(status, 'Reply')}: {title}"


def _text(message: Message) -> str:
    ev = message.event
    when = ev.get("start") or ""
    if message.recurrence_id:
        when = message.recurrence_id
    zone = ev.get("timeZone")
    lines = [_subject(message), "", f"When: {when}{' (' + zone + ')' if zone else ''}"]
    if ev.get("duration"):
        lines.append(f"Duration: {ev['duration']}")
    if message.method != "REPLY":
        lines.append(f"Organizer: {message.sender_name or message.sender}")
    lines += ["", "The attached iCalendar object is for your calendar application."]
    return "\r\n".join(lines) + "\r\n"


def compose(
    message: Message, recipient: str, stamp: datetime.datetime | None = None, *, msgid_domain: str | None = None
) -> bytes:
    """One iMIP message (RFC 6047 §2): a text part for people and the iTIP
    object as ``text/calendar; method=…`` for their calendar."""
    from email import policy
    from email.message import EmailMessage
    from email.utils import format_datetime, formataddr, make_msgid

    from .domain.ical import itip_message

    stamp = stamp or datetime.datetime.now(datetime.UTC)
    ics = itip_message(message.method, _for_recipient(message, recipient), attendee=message.attendee,
                       recurrence_id=message.recurrence_id, sequence=message.event.get("sequence"), stamp=stamp)
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = formataddr((message.sender_name, message.sender))
    mail["To"] = recipient
    mail["Subject"] = _subject(message)
    mail["Date"] = format_datetime(stamp)
    mail["Message-ID"] = make_msgid(domain=msgid_domain or message.sender.rpartition("@")[2])
    mail.set_content(_text(message))
    mail.add_alternative(ics.decode("utf-8"), subtype="calendar", params={"method": message.method},
                         cte="base64")
    return mail.as_bytes()


def _for_recipient(message: Message, recipient: str) -> dict[str, Any]:
    """hideAttendees (draft §5.5.1.1): the recipient is the only attendee told of."""
    ev = message.event
    if message.method == "REPLY" or not ev.get("hideAttendees"):
        return ev
    organizer = normalize_address(ev.get("organizerCalendarAddress"))
    keep = {}
    for pid, p in (ev.get("participants") or {}).items():
        address = normalize_address(p.get("calendarAddress")) if isinstance(p, dict) else None
        if address in (organizer, f"mailto:{recipient}") or (isinstance(p, dict) and (p.get("roles") or {}).get("owner")):
            keep[pid] = p
    return {**ev, "participants": keep}


def check_reachable(services: Any, messages: list[Message]) -> None:
    """noSupportedScheduleMethods unless every recipient can be sent to."""
    for message in messages:
        for recipient in message.recipients:
            if _local_target(services, recipient):
                continue
            if not services.pm.has_plugin("submission"):
                raise SetError("noSupportedScheduleMethods", "scheduling needs the submission plugin")
            if not services.config.section("submission").smarthost.host:
                raise SetError("noSupportedScheduleMethods",
                               f"no outbound relay (submission.smarthost.host) to reach {recipient}")


def _local_target(services: Any, address: str) -> bool:
    if not services.pm.has_plugin("delivery"):
        return False
    from jmapd_delivery.api import is_local

    return bool(is_local(services.config, address))


def _message_id_domain(services: Any, sender: str) -> str | None:
    """Mail's choice (the sender's domain unless it is ``localhost``-like, else
    mail.hostname): no iMIP Message-ID names localhost (issue #9.8)."""
    if not services.pm.has_plugin("mail"):
        return None
    from jmapd_mail.api import message_id_domain

    return message_id_domain(services.config, sender)


def dispatch(services: Any, account_id: str, event_id: str, messages: list[Message], outbox: Outbox) -> None:
    """Queue the remote copies (in the caller's transaction) and hold the local ones."""
    for message in messages:
        domain = _message_id_domain(services, message.sender)
        for recipient in message.recipients:
            raw = compose(message, recipient, msgid_domain=domain)
            if _local_target(services, recipient):
                outbox.local.append((event_id, recipient, message.sender, raw))
                continue
            from jmapd_submission.api import Address, Envelope, enqueue

            enqueue(account_id, Envelope(Address(message.sender), (Address(recipient),)), raw, kind="itip")
            outbox.queued = True
            log.info("queued iTIP %s for %s from %s", message.method, recipient, account_id)


def flush(services: Any, outbox: Outbox, succeeded: set[str]) -> None:
    """After commit: wake the queue, deliver the local copies of the
    changes that were stored (a refused object's copies are dropped, as
    its queued ones were rolled back with it)."""
    if outbox.queued:
        from jmapd_submission.api import wake

        wake(services)
    for event_id, recipient, sender, raw in outbox.local:
        from jmapd_delivery.api import deliver

        if event_id not in succeeded:
            continue
        try:
            deliver(services, recipient, sender, raw)
            log.info("delivered iTIP to local %s", recipient)
        except Exception:  # the change committed; a failed copy is logged, not the caller's error
            log.exception("local delivery of an iTIP message to %s failed", recipient)
    outbox.local.clear()
    outbox.queued = False
