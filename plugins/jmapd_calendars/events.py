"""What a Calendar needs to know of the events in it.

CalendarEvent documents (``type_name`` CalendarEvent) carry their
``calendarIds``; removing one also removes its row of the range index.
"""

from __future__ import annotations

from typing import Any

from jmapd.models import Document
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
            ctx.changes.record(account_id, EVENT_TYPE, object_id, UPDATED)
        else:
            Document.delete().where(where).execute()
            drop_event(account_id, object_id)
            peruser.drop(account_id, object_id)
            ctx.changes.record(account_id, EVENT_TYPE, object_id, DESTROYED)
