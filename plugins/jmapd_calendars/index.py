"""The occurrence-range index (:class:`~.models.EventRange`): kept in the
same transaction as the event document, read by time-range queries so
only events whose series can reach the window are loaded and expanded.

Every event has a row (an unbounded one when its range cannot be
computed), so a window query reads this table alone, through its
(account_id, first_start) index, instead of every document of the account.
"""

from __future__ import annotations

import datetime
from typing import Any

from jmapd.models import Document

from .domain.recurrence import series_range
from .models import EventRange

EVENT_TYPE = "CalendarEvent"
#: Floating events are indexed as if in UTC; local time is at most this far from it.
FLOATING_SLACK = datetime.timedelta(hours=14)
#: first_start of a row whose range cannot be computed (with no last_end: every window's candidate).
UNBOUNDED_START = datetime.datetime(1, 1, 1)


def _naive(value: datetime.datetime) -> datetime.datetime:
    return value.astimezone(datetime.UTC).replace(tzinfo=None)


def is_exact(event: dict[str, Any]) -> bool:
    """Whether the event's range is its one occurrence in UTC, whatever
    the query's time zone: not recurring, not floating."""
    return bool(event.get("timeZone")) and not (
        event.get("recurrenceRule") or event.get("recurrenceOverrides") or event.get("recurrenceRules"))


def range_row(account_id: str, object_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """The event's row of the index: an unbounded one (a candidate of
    every window) when its range cannot be computed."""
    row: dict[str, Any] = {"account_id": account_id, "object_id": object_id}
    try:
        first, last = series_range(event)
    except (ValueError, KeyError, TypeError):
        return {**row, "first_start": UNBOUNDED_START, "last_end": None, "exact": False}
    return {**row, "first_start": _naive(first), "last_end": _naive(last) if last is not None else None,
            "exact": is_exact(event)}


def index_event(account_id: str, object_id: str, event: dict[str, Any], *, changes: Any = None) -> None:
    """(Re)write the event's row. With ``changes`` (a new event: no row to
    drop yet) the row waits in that ChangeLog and goes in with the other
    creations of the /set, many per statement
    (:meth:`jmapd.state.ChangeLog.defer_insert`)."""
    row = range_row(account_id, object_id, event)
    if changes is not None:
        changes.defer_insert(EventRange, row)
        return
    drop_event(account_id, object_id)
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


class Candidate:
    """One event a window can reach: its index row, and its document
    unless the row decides the window alone (``exact`` rows, when the
    query needs nothing else of the event)."""

    __slots__ = ("object_id", "data", "first_start", "last_end", "exact")

    def __init__(self, object_id: str, data: Any, first_start: Any, last_end: Any, exact: Any) -> None:
        self.object_id = object_id
        #: the document's stored text (None when not read)
        self.data = data
        self.first_start: datetime.datetime = _as_datetime(first_start)
        self.last_end: datetime.datetime | None = None if last_end is None else _as_datetime(last_end)
        self.exact = bool(exact)

    def overlaps(self, after: datetime.datetime | None, before: datetime.datetime | None) -> bool:
        """The window test of an exact row: it ends after ``after`` and starts before ``before``."""
        return ((after is None or (self.last_end is not None and self.last_end > _naive(after)))
                and (before is None or self.first_start < _naive(before)))

    def start_key(self) -> str:
        """What :func:`~.event_query.start_key` gives for the event (both are series_range's first)."""
        if self.first_start == UNBOUNDED_START:
            return ""
        return self.first_start.strftime("%Y-%m-%dT%H:%M:%S")


def _as_datetime(value: Any) -> datetime.datetime:
    # Peewee converts the columns of a plain select; a raw one hands SQLite's text back
    return value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(value)


def window_candidates(account_id: str, after: datetime.datetime | None, before: datetime.datetime | None,
                      *, lean: bool) -> list[Candidate]:
    """The :class:`Candidate` events of a window in creation order, their
    documents as stored text (it keys :mod:`.parsed`); with ``lean`` the
    documents of exact rows are not read.

    One plain statement: Peewee's composing and row conversion of a month's
    few hundred rows cost more than the database's answer. It is driven
    from the range index whatever the planner knows: each row finds its
    document by a correlated lookup (a join let PostgreSQL without
    statistics walk all the account's documents first: 194 ms instead of 7).
    """
    db = Document._meta.database
    param = getattr(getattr(db, "obj", db), "param", "?")
    doc = (f'FROM "{Document._meta.table_name}" d WHERE d.account_id = r.account_id '
           f"AND d.type_name = {param} AND d.object_id = r.object_id")
    data = f"(SELECT d.data {doc})"
    where = [f"r.account_id = {param}"]
    args: list[Any] = [EVENT_TYPE, EVENT_TYPE, account_id]
    if before is not None:
        where.append(f"r.first_start < {param}")
        args.append(str(_naive(before) + FLOATING_SLACK))  # the text Peewee stores on SQLite
    if after is not None:
        where.append(f"(r.last_end IS NULL OR r.last_end > {param})")
        args.append(str(_naive(after) - FLOATING_SLACK))
    sql = (f"SELECT (SELECT d.id {doc}), r.object_id, "
           f"{f'CASE WHEN r.exact THEN NULL ELSE {data} END' if lean else data}, "
           f'r.first_start, r.last_end, r.exact FROM "{EventRange._meta.table_name}" r WHERE {" AND ".join(where)}')
    rows = sorted((row for row in db.execute_sql(sql, args).fetchall() if row[0] is not None),
                  key=lambda row: int(row[0]))
    return [Candidate(*row[1:]) for row in rows]


def documents(account_id: str, object_ids: list[str]) -> dict[str, Any]:
    """object id → stored text of the account's events among ``object_ids``.
    One plain statement: Peewee spent longer composing an IN of a month's
    few hundred ids than the database took to answer it."""
    db = Document._meta.database
    param = getattr(getattr(db, "obj", db), "param", "?")
    out: dict[str, Any] = {}
    for i in range(0, len(object_ids), 5000):  # under SQLite's bound-variable limit
        chunk = object_ids[i:i + 5000]
        sql = (f'SELECT object_id, data FROM "{Document._meta.table_name}" WHERE account_id = {param} '
               f"AND type_name = {param} AND object_id IN ({', '.join([param] * len(chunk))})")
        out.update(db.execute_sql(sql, [account_id, EVENT_TYPE, *chunk]).fetchall())
    return out
