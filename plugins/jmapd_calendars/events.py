"""What a Calendar needs to know of the events in it, and what a sharee's
CalendarEvent/changes may name.

CalendarEvent documents (``type_name`` CalendarEvent) carry their
``calendarIds``; removing one also removes its row of the range index.
An event leaving a calendar (moved, removed with it, destroyed) adds a
change row tagged with the calendars it was in, so a sharee of one of them
hears it destroyed and nobody else learns its id (:func:`visible_changes`).
"""

from __future__ import annotations

from typing import Any

from jmapd.db import tuples
from jmapd.models import Change, Document
from jmapd.sharing import access, tag, tagged_ids
from jmapd.state import DESTROYED, UPDATED

from . import peruser
from .index import drop_event

EVENT_TYPE = "CalendarEvent"


def _events(account_id: str) -> Any:
    return Document.select(Document.object_id, Document.data).where(
        (Document.account_id == account_id) & (Document.type_name == EVENT_TYPE)
    )


def _calendar_ids(data: Any) -> dict[str, Any]:
    import orjson

    obj = orjson.loads(data) if isinstance(data, (str, bytes)) else dict(data)
    return dict(obj.get("calendarIds") or {})


def calendar_has_events(account_id: str, calendar_id: str) -> bool:
    return any(calendar_id in _calendar_ids(data) for _, data in _events(account_id).tuples())


def remove_calendar_from_events(ctx: Any, account_id: str, calendar_id: str) -> None:
    """onDestroyRemoveEvents: out of the calendar, destroyed if in no other (no scheduling messages)."""
    for object_id, data in _events(account_id).tuples():
        ids = _calendar_ids(data)
        if calendar_id not in ids:
            continue
        where = (
            (Document.account_id == account_id)
            & (Document.type_name == EVENT_TYPE)
            & (Document.object_id == object_id)
        )
        del ids[calendar_id]
        if ids:
            import orjson

            obj = orjson.loads(data) if isinstance(data, (str, bytes)) else dict(data)
            obj["calendarIds"] = ids
            Document.update(data=obj).where(where).execute()
            ctx.changes.record(account_id, EVENT_TYPE, object_id, UPDATED, props=calendar_tags([calendar_id]))
        else:
            Document.delete().where(where).execute()
            drop_event(account_id, object_id)
            peruser.drop(account_id, object_id)
            # where it was first: the last row of an object decides what /changes says of it
            ctx.changes.record(account_id, EVENT_TYPE, object_id, UPDATED, props=calendar_tags([calendar_id]))
            ctx.changes.record(account_id, EVENT_TYPE, object_id, DESTROYED)


def calendar_tags(calendar_ids: Any) -> list[str]:
    """Change-row tags of the calendars an event left or was in."""
    return [tag(c) for c in sorted(calendar_ids)]


def _in_calendars(account_id: str, ids: list[str], calendars: set[str]) -> set[str]:
    """Those of ``ids`` whose event is in one of ``calendars`` now."""
    found: set[str] = set()
    pending = sorted(set(ids))
    for chunk in range(0, len(pending), 500):
        rows = _events(account_id).where(Document.object_id.in_(pending[chunk:chunk + 500]))
        found.update(oid for oid, data in tuples(rows) if calendars.intersection(_calendar_ids(data)))
    return found


def _lost_calendars(ctx: Any, account_id: str, since: int, until: int) -> set[str]:
    """Calendars whose share with the caller changed in (since, until]
    (each share change tags the calendar's row with the Principals concerned)."""
    wanted = {tag(p) for p in ctx.principal.principal_ids}
    rows = tuples(Change.select(Change.object_id, Change.props).where(
        (Change.account_id == account_id) & (Change.type_name == "Calendar") & (Change.modseq > since)
        & (Change.modseq <= until) & Change.props.is_null(False)))
    return {object_id for object_id, props in rows if wanted.intersection(props or [])}


def visible_changes(ctx: Any, account_id: str, since: int, changes: Any) -> tuple[list[str], list[str], list[str]]:
    """A sharee's CalendarEvent/changes (draft §4, RFC 8620 §5.2): created and
    updated only for events in a calendar they read items of now; destroyed
    for those a row of the window tags with a calendar they read or lost
    (the event left it or was destroyed in it), and for the events of a
    calendar no longer shared with them that are in none they still read.
    Events of calendars never shared with them stay unnamed."""
    readable = access(ctx, account_id).with_right("Calendar", "mayReadItems")
    if readable is None:
        return changes.created, changes.updated, changes.destroyed
    lost = _lost_calendars(ctx, account_id, since, changes.new_modseq) - readable
    now = _in_calendars(account_id, [*changes.created, *changes.updated], readable)
    gone = [i for i in changes.updated if i not in now] + changes.destroyed
    seen = tagged_ids(account_id, EVENT_TYPE, since, changes.new_modseq, gone, readable | lost)
    destroyed = [i for i in gone if i in seen]
    if lost:
        reported = set(destroyed) | set(changes.created) | now
        was_there = {oid for oid, data in tuples(_events(account_id)) if lost.intersection(_calendar_ids(data))}
        still = _in_calendars(account_id, sorted(was_there), readable)
        destroyed += sorted(was_there - still - reported)
    return [i for i in changes.created if i in now], [i for i in changes.updated if i in now], destroyed
