"""The occurrence-range index (:class:`~.models.EventRange`): kept in the
same transaction as the event document, read by time-range queries so
only events whose series can reach the window are loaded and expanded.
"""

from __future__ import annotations

import datetime
from typing import Any

import peewee as pw

from jmapd.models import Document

from .domain.recurrence import series_range
from .models import EventRange

EVENT_TYPE = "CalendarEvent"
#: Floating events are indexed as if in UTC; local time is at most this far from it.
FLOATING_SLACK = datetime.timedelta(hours=14)


def _naive(value: datetime.datetime) -> datetime.datetime:
    return value.astimezone(datetime.UTC).replace(tzinfo=None)


def range_row(account_id: str, object_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
    """The event's row of the index; None when its range cannot be computed
    (it is then a candidate of every query, so nothing is missed)."""
    try:
        first, last = series_range(event)
    except (ValueError, KeyError, TypeError):
        return None
    return {"account_id": account_id, "object_id": object_id, "first_start": _naive(first),
            "last_end": _naive(last) if last is not None else None}


def index_event(account_id: str, object_id: str, event: dict[str, Any], *, changes: Any = None) -> None:
    """(Re)write the event's row. With ``changes`` (a new event: no row to
    drop yet) the row waits in that ChangeLog and goes in with the other
    creations of the /set, many per statement
    (:meth:`jmapd.state.ChangeLog.defer_insert`)."""
    row = range_row(account_id, object_id, event)
    if changes is not None:
        if row is not None:
            changes.defer_insert(EventRange, row)
        return
    drop_event(account_id, object_id)
    if row is not None:
        EventRange.insert(**row).execute()


def drop_event(account_id: str, object_id: str) -> None:
    EventRange.delete().where((EventRange.account_id == account_id) & (EventRange.object_id == object_id)).execute()


def drop_account_rows(account_id: str, object_ids: list[str]) -> None:
    if object_ids:
        EventRange.delete().where((EventRange.account_id == account_id)
                                  & EventRange.object_id.in_(object_ids)).execute()


def window_of(node: Any) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """The after/before every match must satisfy: a top-level condition's,
    or the tightest of an AND's direct conditions (OR/NOT give none)."""
    if not isinstance(node, dict):
        return None, None
    if node.get("operator") == "AND":
        afters, befores = [], []
        for child in node["conditions"]:
            a, b = window_of(child)
            if a is not None:
                afters.append(a)
            if b is not None:
                befores.append(b)
        return (max(afters) if afters else None), (min(befores) if befores else None)
    if "operator" in node:
        return None, None
    return node.get("after"), node.get("before")


def candidates(account_id: str, after: datetime.datetime | None, before: datetime.datetime | None) -> Any:
    """(object_id, data) of the account's events whose indexed range
    overlaps the window widened by :data:`FLOATING_SLACK`, and of those
    without a row."""
    on = (EventRange.account_id == Document.account_id) & (EventRange.object_id == Document.object_id)
    where = (Document.account_id == account_id) & (Document.type_name == EVENT_TYPE)
    overlap = EventRange.id.is_null(False)
    if before is not None:
        overlap &= EventRange.first_start < _naive(before) + FLOATING_SLACK
    if after is not None:
        overlap &= EventRange.last_end.is_null() | (EventRange.last_end > _naive(after) - FLOATING_SLACK)
    return (Document.select(Document.object_id, Document.data)
            .join(EventRange, pw.JOIN.LEFT_OUTER, on=on)
            .where(where & (EventRange.id.is_null() | overlap))
            .order_by(Document.id).tuples())
