"""CalendarEventNotification (draft §8): what others did to events you see.

A notification lives in the account of the event it is about (draft
§8), one document per recipient: the draft allows one shared instance,
but one per recipient lets each dismiss theirs with a plain destroy and
keeps /changes per user. The recipient is stored in the document under
:data:`RECIPIENT`, which no property names, and tags every change row of
the notification, so nobody else's /get, /query or /changes ever shows it.

Recipients of a change to an event: everyone who can read items of one
of its calendars (before or after the change) and is subscribed to it —
the owner, sharees (members of a group sharee too) and delegates — but
not whoever made the change. An iTIP message applied to the account
(:mod:`jmapd_calendars.inbound`) is a change by its sender, so the owner
is told as well (:func:`changed_by_sender`).
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from jmapd.db import tuples
from jmapd.methods.documents import DocumentType
from jmapd.methods.types import CHECKS, P
from jmapd.models import AccountAccess, Document, PerUserValue, PrincipalRecord, ShareGrant, new_id
from jmapd.sharing import members_of, owner_principal, principal_of_user, tag, tagged_ids
from jmapd.state import CREATED, UPDATED

from .calendar import CALENDARS
from .callcache import once
from .domain.patch import patch_between

NOTIFICATION_TYPE = "CalendarEventNotification"
#: Stored member naming the recipient's Principal (not a property).
RECIPIENT = "~for"
#: JMAP-only or per-user members left out of ``event`` (draft §8: a
#: notification has no per-user data; §5.3's per-user list).
_NOT_EVENT = frozenset({
    "id", "calendarIds", "isDraft", "isOrigin", "baseEventId", "utcStart", "utcEnd", "iCalendar",
    "keywords", "color", "freeBusyStatus", "useDefaultAlerts", "alerts",
})

#: Set while an iTIP message from someone else is applied (see :func:`changed_by_sender`).
_sender: ContextVar[dict[str, Any] | None] = ContextVar("calendars_notification_sender", default=None)


@contextlib.contextmanager
def changed_by_sender(address: str | None, name: str | None = None, comment: str | None = None) -> Iterator[None]:
    """Changes made inside are notified as made by the iTIP sender ``address``
    (principalId null: draft §8 ``changedBy``), the account's owner included."""
    token = _sender.set({"name": name or (address or "").removeprefix("mailto:"),
                         "email": (address or "").removeprefix("mailto:") or None,
                         "principalId": None, "calendarAddress": address, "comment": comment})
    try:
        yield
    finally:
        _sender.reset(token)


def _utc_check(value: Any) -> bool:
    return value is None or CHECKS["UTCDate"](value)


class CalendarEventNotification(DocumentType):
    name = NOTIFICATION_TYPE
    capability = CALENDARS
    id_prefix = "n"
    verbs = ("get", "changes", "set", "query", "queryChanges")
    set_verbs = frozenset({"destroy"})
    properties = {
        "created": P("UTCDate", server_set=True),
        "changedBy": P("Object", server_set=True),
        "comment": P("String", nullable=True, server_set=True),
        "type": P("String", server_set=True),
        "calendarEventId": P("Id", server_set=True),
        "isDraft": P("Boolean", nullable=True, server_set=True),
        "event": P("Object", server_set=True),
        "eventPatch": P("Object", nullable=True, server_set=True),
    }
    filters = {"after": "UTCDate?", "before": "UTCDate?", "type": "String", "calendarEventIds": "Id[]?"}
    predicates = {
        "after": lambda obj, v: v is None or str(obj.get("created", "")) >= v,
        "before": lambda obj, v: v is None or str(obj.get("created", "")) < v,
        "type": lambda obj, v: obj.get("type") == v,
        "calendarEventIds": lambda obj, v: v is None or obj.get("calendarEventId") in v,
    }
    sorts = frozenset({"created"})

    def check_filter(self, name: str, value: Any) -> bool:
        if name in ("after", "before"):
            return _utc_check(value)
        if name == "calendarEventIds":
            return value is None or CHECKS["Id[]"](value)
        return super().check_filter(name, value)

    def load(self, ctx: Any, account_id: str, ids: list[str] | None, properties: list[str],
             args: dict[str, Any]) -> dict[str, dict[str, Any]]:
        me = ctx.principal.principal_id
        found = super().load(ctx, account_id, ids, properties, args)
        return {k: v for k, v in found.items() if me is not None and v.pop(RECIPIENT, None) == me}

    def delete(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        # The engine's destroy row carries no tag; this one lets the
        # recipient's /changes report the destroy (jmapd.sharing.tagged_ids).
        ctx.changes.record(account_id, self.name, obj["id"], UPDATED, props=[tag(ctx.principal.principal_id)])
        super().delete(ctx, account_id, obj, args)

    def visible_changes(self, ctx: Any, account_id: str, since: int, changes: Any) -> tuple[list[str], list[str], list[str]]:
        mine = set(self.load(ctx, account_id, [*changes.created, *changes.updated], [], {}))
        me = ctx.principal.principal_id
        gone = tagged_ids(account_id, self.name, since, changes.new_modseq, changes.destroyed, [me] if me else [])
        return ([i for i in changes.created if i in mine], [i for i in changes.updated if i in mine],
                [i for i in changes.destroyed if i in gone])


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _calendars(account_id: str, calendar_ids: list[str]) -> dict[str, dict[str, Any]]:
    import orjson

    rows = Document.select(Document.object_id, Document.data).where(
        (Document.account_id == account_id) & (Document.type_name == "Calendar")
        & Document.object_id.in_(calendar_ids))
    return {oid: (orjson.loads(d) if isinstance(d, (str, bytes)) else dict(d)) for oid, d in tuples(rows)}


def recipients(account_id: str, calendar_ids: list[str]) -> set[str]:
    """Principals that can read items of one of the calendars and are subscribed to it."""
    if not calendar_ids:
        return set()
    calendars = _calendars(account_id, calendar_ids)
    readers: dict[str, set[str]] = {}  # principal → calendars it reads
    owner = owner_principal(account_id)
    delegates = [principal_of_user(u) for (u,) in tuples(
        AccountAccess.select(AccountAccess.user).where(AccountAccess.account == account_id))]
    for pid in [owner, *delegates]:
        if pid is not None:
            readers.setdefault(pid, set()).update(calendars)
    grants = ShareGrant.select(ShareGrant.object_id, ShareGrant.principal, ShareGrant.rights).where(
        (ShareGrant.account_id == account_id) & (ShareGrant.type_name == "Calendar")
        & ShareGrant.object_id.in_(list(calendars)))
    for object_id, pid, rights in tuples(grants):
        if (rights or {}).get("mayReadItems"):
            for member in members_of(pid):
                readers.setdefault(member, set()).add(object_id)
    users = dict(tuples(PrincipalRecord.select(PrincipalRecord.id, PrincipalRecord.user)
                        .where(PrincipalRecord.id.in_(list(readers)))))
    overlays: dict[tuple[int, str], dict[str, Any]] = {
        (user, oid): dict(data) for user, oid, data in tuples(
            PerUserValue.select(PerUserValue.user, PerUserValue.object_id, PerUserValue.data).where(
                (PerUserValue.account_id == account_id) & (PerUserValue.type_name == "Calendar")
                & PerUserValue.object_id.in_(list(calendars))))
    }
    out = set()
    for pid, readable in readers.items():
        user = users.get(pid)
        for calendar_id in readable:
            if pid == owner or user is None:
                subscribed = calendars[calendar_id].get("isSubscribed", True)
            else:  # anyone else is not subscribed until they say so (Calendar sharee_defaults)
                subscribed = overlays.get((user, calendar_id), {}).get("isSubscribed", False)
            if subscribed:
                out.add(pid)
                break
    return out


def _event_part(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in _NOT_EVENT}


def _actor(ctx: Any) -> dict[str, Any]:
    from .identity import identities

    me = ctx.principal.principal_id
    record = PrincipalRecord.get_or_none(PrincipalRecord.id == me) if me else None
    home = ctx.principal.primary_account
    own = identities(home) if home else []
    return {"name": record.name if record else ctx.principal.name,
            "email": record.email if record else None,
            "principalId": me,
            "calendarAddress": own[0]["calendarAddress"] if own else None}


def targets(ctx: Any, account_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> set[str]:
    """Who is told of a change to an event (everyone who reads one of its
    calendars and is subscribed to it, but not the one making it)."""
    calendar_ids = sorted(set((old or {}).get("calendarIds") or {}) | set((new or {}).get("calendarIds") or {}))
    found = set(once(("recipients", account_id, tuple(calendar_ids)), lambda: recipients(account_id, calendar_ids)))
    if _sender.get() is None:
        found.discard(ctx.principal.principal_id or "")
    return found


def notify(ctx: Any, account_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """Record the notifications of one change to a stored event (inside its savepoint)."""
    sender = _sender.get()
    to = targets(ctx, account_id, old, new)
    if not to:
        return
    if old is None:
        assert new is not None
        kind, event, patch = "created", _event_part(new), None
    elif new is None:
        kind, event, patch = "destroyed", _event_part(old), None
    else:
        kind, event = "updated", _event_part(old)
        patch = patch_between(event, _event_part(new))
        if not patch:
            return  # only per-user or JMAP-only members changed
    changed_by = dict(sender) if sender is not None else _actor(ctx)
    comment = changed_by.pop("comment", None)
    body = {"created": _now(), "changedBy": changed_by, "comment": comment, "type": kind,
            "calendarEventId": (new or old or {})["id"], "event": event, "eventPatch": patch}
    if new is not None:
        body["isDraft"] = bool(new.get("isDraft"))
    limit = ctx.config.section("calendars").max_event_notifications
    for pid in sorted(to):
        note_id = new_id(CalendarEventNotification.id_prefix)
        Document.insert(account_id=account_id, type_name=NOTIFICATION_TYPE, object_id=note_id,
                        data={**body, RECIPIENT: pid}).execute()
        ctx.changes.record(account_id, NOTIFICATION_TYPE, note_id, CREATED, props=[tag(pid)])
        _trim(ctx, account_id, pid, limit)


def _trim(ctx: Any, account_id: str, pid: str, limit: int) -> None:
    """Draft §8: past the limit, a new notification removes the oldest."""
    import orjson

    from jmapd.state import DESTROYED

    where = (Document.account_id == account_id) & (Document.type_name == NOTIFICATION_TYPE)
    if Document.select(Document.id).where(where).count() <= limit:
        return  # nobody can be over the limit: the common case costs one count
    rows = Document.select(Document.id, Document.object_id, Document.data).where(
        (Document.account_id == account_id) & (Document.type_name == NOTIFICATION_TYPE)).order_by(Document.id)
    mine = [(row_id, oid) for row_id, oid, d in tuples(rows)
            if (orjson.loads(d) if isinstance(d, (str, bytes)) else dict(d)).get(RECIPIENT) == pid]
    for row_id, oid in mine[: max(0, len(mine) - limit)]:
        Document.delete().where(Document.id == row_id).execute()
        ctx.changes.record(account_id, NOTIFICATION_TYPE, oid, UPDATED, props=[tag(pid)])
        ctx.changes.record(account_id, NOTIFICATION_TYPE, oid, DESTROYED)
