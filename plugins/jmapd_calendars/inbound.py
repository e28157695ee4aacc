"""Incoming iMIP (RFC 6047): what a delivered iTIP message does to the calendar.

Runs from the delivery plugin's ``jmapd_message_delivered`` hook, after the
message itself is stored, for LMTP, ``jmapd deliver`` and the local copies
:mod:`.scheduling` delivers directly. Changes go through CalendarEvent/set
as the account's owner, in-process, so they get the API's validation,
change log and push:

- REPLY to an event this account organizes: the replying participant's
  ``participationStatus`` (series or one occurrence), with
  ``scheduleSequence``/``scheduleUpdated`` (draft §5.1.3), unless the reply
  is older than the one already applied;
- REQUEST for one of the account's participant identities: the event is
  created in the default calendar, or replaced by a newer sequence;
- CANCEL: the occurrence is excluded, or the event marked cancelled.

Spoofing (draft §9.2): a REPLY is only applied for the attendee whose
address sent it (From or envelope sender), a REQUEST or CANCEL only from
the event's organizer. Anything else is logged and left as mail.
"""

from __future__ import annotations

import logging
import re
from email import policy
from email.parser import BytesParser
from typing import Any

from jmapd.auth import Principal

from .calendar import CALENDARS
from .identity import normalize_address, own_addresses
from .notifications import changed_by_sender
from .peruser import PER_USER

log = logging.getLogger("jmapd.calendars.inbound")

USING = ["urn:ietf:params:jmap:core", CALENDARS]
#: Members of a stored event that are the store's, not the organizer's.
_STORE = frozenset({"id", "calendarIds", "isDraft", "isOrigin", "baseEventId", "uid", "created", "method", "iCalendar"})


#: A text/calendar part's Content-Type names the subtype literally (a MIME
#: token is never encoded), so a message without the word has none.
_MAYBE_CALENDAR = re.compile(rb"calendar", re.IGNORECASE)


def itip_parts(raw: bytes) -> list[str]:
    """The text/calendar bodies of a message.

    Runs for every delivered message: those that cannot hold a calendar
    part are answered by one byte scan instead of a full MIME parse (the
    parse was a fifth of an LMTP delivery's time)."""
    if not _MAYBE_CALENDAR.search(raw):
        return []
    message = BytesParser(policy=policy.default).parsebytes(raw)
    out = []
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            try:
                out.append(str(part.get_content()))
            except (LookupError, ValueError):
                continue
    return out


def _senders(raw: bytes, mail_from: str) -> set[str]:
    from email.utils import getaddresses

    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    found = {normalize_address(f"mailto:{a}") for _, a in getaddresses(message.get_all("From") or []) if a}
    envelope = mail_from.strip().strip("<>").strip()
    if envelope:
        found.add(normalize_address(f"mailto:{envelope}"))
    return {a for a in found if a}


class Owner:
    """JMAP calls as the owner of one account, in-process."""

    def __init__(self, services: Any, account_id: str) -> None:
        from jmapd.models import Account

        self.services = services
        self.account_id = account_id
        account = Account.get_or_none(Account.id == account_id)
        self.principal: Principal | None = (
            services.auth.principal(account.owner_id) if account is not None else None
        )

    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        from jmapd.methods.context import RequestContext
        from jmapd.methods.dispatch import run_calls
        from jmapd.protocol.envelope import parse_request

        if self.principal is None:  # process() checks first; a disabled owner gets nothing applied
            raise RuntimeError(f"{method}: account {self.account_id} has no enabled owner")
        calls = [[method, {"accountId": self.account_id, **args}, "0"]]
        request = parse_request({"using": USING, "methodCalls": calls})
        rctx = RequestContext(principal=self.principal, services=self.services, using=set(USING))
        try:
            result = run_calls(request, rctx, self.services.registry)
        finally:
            self.services.changes_committed(rctx.changes.committed)
        name, response, _ = result["methodResponses"][0]
        if name == "error":
            raise RuntimeError(f"{method}: {response}")
        return dict(response)

    def by_uid(self, uid: str) -> list[dict[str, Any]]:
        ids = self.call("CalendarEvent/query", {"filter": {"uid": uid}})["ids"]
        return self.call("CalendarEvent/get", {"ids": ids})["list"] if ids else []


def process(services: Any, account_id: str, raw: bytes, mail_from: str) -> list[str]:
    """Apply every iTIP object in ``raw`` to ``account_id``; what was done, for logs and tests."""
    from .domain.ical import ITipError, parse_itip

    bodies = itip_parts(raw)
    if not bodies:
        return []
    owner = Owner(services, account_id)
    if owner.principal is None:
        return []
    owner.call("ParticipantIdentity/get", {"ids": None})  # the default identity exists from here on
    senders = _senders(raw, mail_from)
    done: list[str] = []
    for body in bodies:
        try:
            method, events = parse_itip(body)
        except ITipError as exc:
            log.info("not an iTIP object for %s: %s", account_id, exc)
            continue
        for event in events:
            event.pop("method", None)
            address, name = _sender_of(method, event, senders)
            with changed_by_sender(address, name):
                if method == "REPLY":
                    done += _reply(owner, event, senders)
                elif method == "REQUEST":
                    done += _request(owner, event, senders)
                elif method == "CANCEL":
                    done += _cancel(owner, event, senders)
                else:
                    log.info("iTIP %s for %s left as mail", method, account_id)
    return done


def _sender_of(method: str, event: dict[str, Any], senders: set[str]) -> tuple[str | None, str | None]:
    """Who an iTIP object speaks for (CalendarEventNotification changedBy):
    the replying attendee of a REPLY, else the organizer."""
    for p in (event.get("participants") or {}).values():
        if not isinstance(p, dict):
            continue
        address = normalize_address(p.get("calendarAddress"))
        organizer = address == normalize_address(event.get("organizerCalendarAddress"))
        if (method == "REPLY" and address in senders and not organizer) or (method != "REPLY" and organizer):
            return address, p.get("name") or None
    return (normalize_address(event.get("organizerCalendarAddress")) if method != "REPLY"
            else next(iter(sorted(senders)), None)), None


def _pid(event: dict[str, Any], address: Any) -> str | None:
    norm = normalize_address(address)
    for pid, p in (event.get("participants") or {}).items():
        if isinstance(p, dict) and normalize_address(p.get("calendarAddress")) == norm:
            return str(pid)
    return None


def _newer(reply: dict[str, Any], current: dict[str, Any]) -> bool:
    """RFC 5546 §2.1.5 ordering: SEQUENCE, then DTSTAMP (scheduleUpdated)."""
    seq, have = int(reply.get("sequence") or 0), int(current.get("scheduleSequence") or 0)
    if seq != have:
        return seq > have
    stamp, applied = reply.get("updated"), current.get("scheduleUpdated")
    return not (stamp and applied and stamp <= applied)


def _compact(rid: str) -> str:
    return rid.replace("-", "").replace(":", "")


def _reply(owner: Owner, reply: dict[str, Any], senders: set[str]) -> list[str]:
    stored = [e for e in owner.by_uid(reply["uid"]) if e.get("isOrigin")]
    rid = reply.get("recurrenceId")
    target = next((e for e in stored if e.get("recurrenceId") == rid), None)
    instance = None
    if target is None and rid is not None:
        target = next((e for e in stored if not e.get("recurrenceId")), None)
        instance = f"{target['id']}_{_compact(rid)}" if target is not None else None
    if target is None:
        log.info("REPLY for unknown event %s in %s", reply.get("uid"), owner.account_id)
        return []
    done = []
    update: dict[str, dict[str, Any]] = {}
    for answer in (reply.get("participants") or {}).values():
        address = normalize_address(answer.get("calendarAddress"))
        if address is None or address == normalize_address(target.get("organizerCalendarAddress")):
            continue
        if address not in senders:
            log.warning("REPLY for %s not sent by that address (from %s): ignored", address, sorted(senders))
            continue
        pid = _pid(target, address)
        if pid is None or not _newer(reply, target["participants"][pid]):
            continue
        patch = {f"participants/{pid}/participationStatus": answer.get("participationStatus") or "needs-action",
                 f"participants/{pid}/scheduleSequence": int(reply.get("sequence") or 0)}
        if reply.get("updated"):
            patch[f"participants/{pid}/scheduleUpdated"] = reply["updated"]
        update.setdefault(instance or target["id"], {}).update(patch)
        # per-occurrence answers carried as overrides of the reply
        for orid, opatch in (reply.get("recurrenceOverrides") or {}).items():
            rpid = _pid(reply, address)
            status = opatch.get(f"participants/{rpid}/participationStatus") if isinstance(opatch, dict) else None
            if status and instance is None:
                update.setdefault(f"{target['id']}_{_compact(orid)}", {})[f"participants/{pid}/participationStatus"] = status
        done.append(f"REPLY {address} {patch[f'participants/{pid}/participationStatus']}")
    if update:
        response = owner.call("CalendarEvent/set", {"update": update})
        if response.get("notUpdated"):
            log.warning("REPLY for %s not applied: %s", reply.get("uid"), response["notUpdated"])
            return []
    return done


def _mine(owner: Owner, event: dict[str, Any]) -> bool:
    own = own_addresses(owner.account_id)
    return any(isinstance(p, dict) and normalize_address(p.get("calendarAddress")) in own
               for p in (event.get("participants") or {}).values())


def _from_organizer(event: dict[str, Any], senders: set[str]) -> bool:
    if normalize_address(event.get("organizerCalendarAddress")) in senders:
        return True
    log.warning("iTIP for %s not sent by its organizer (from %s): ignored", event.get("uid"), sorted(senders))
    return False


def _default_calendar(owner: Owner) -> str:
    calendars = owner.call("Calendar/get", {"ids": None, "properties": ["isDefault"]})["list"]
    return str(next((c["id"] for c in calendars if c.get("isDefault")), calendars[0]["id"]))


def _request(owner: Owner, event: dict[str, Any], senders: set[str]) -> list[str]:
    if not _mine(owner, event) or not _from_organizer(event, senders):
        return []
    stored = [e for e in owner.by_uid(event["uid"]) if e.get("recurrenceId") == event.get("recurrenceId")]
    if not stored:
        created = owner.call("CalendarEvent/set", {"create": {"i": {**event, "calendarIds": {_default_calendar(owner): True}}}})
        if created.get("notCreated"):
            log.warning("REQUEST %s not stored: %s", event.get("uid"), created["notCreated"])
            return []
        return [f"REQUEST created {event['uid']}"]
    current = stored[0]
    if current.get("isOrigin") or int(event.get("sequence") or 0) < int(current.get("sequence") or 0):
        return []
    patch: dict[str, Any] = {k: v for k, v in event.items() if k not in _STORE and k not in PER_USER}
    for key in current:
        if key not in event and key not in _STORE and key not in PER_USER and current.get(key) is not None:
            patch[key] = None
    patch = {k: v for k, v in patch.items() if current.get(k) != v}
    if patch:
        response = owner.call("CalendarEvent/set", {"update": {current["id"]: patch}})
        if response.get("notUpdated"):
            log.warning("REQUEST %s not applied: %s", event.get("uid"), response["notUpdated"])
            return []
    return [f"REQUEST updated {event['uid']}"]


def _cancel(owner: Owner, event: dict[str, Any], senders: set[str]) -> list[str]:
    if not _from_organizer(event, senders):
        return []
    stored = [e for e in owner.by_uid(event["uid"]) if not e.get("isOrigin")]
    rid = event.get("recurrenceId")
    exact = next((e for e in stored if e.get("recurrenceId") == rid), None)
    if exact is not None:
        owner.call("CalendarEvent/set", {"update": {exact["id"]: {"status": "cancelled",
                                                                  "sequence": int(event.get("sequence") or 0)}}})
        return [f"CANCEL {event['uid']}"]
    base = next((e for e in stored if not e.get("recurrenceId")), None)
    if base is None or rid is None:
        return []
    owner.call("CalendarEvent/set", {"destroy": [f"{base['id']}_{_compact(rid)}"]})
    return [f"CANCEL {event['uid']} {rid}"]
