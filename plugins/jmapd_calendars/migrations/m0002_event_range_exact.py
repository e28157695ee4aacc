"""calendars_event_range.exact, and a row for every event (#13 query speed).

A window query used to read every event of the account (an anti-join of
all documents against the index) so that events without a row were never
missed; it now reads the index alone, so every event needs a row: events
stored before m0001 and those whose range could not be computed get one
here. ``exact`` marks rows that answer a window by themselves
(non-recurring events in a time zone of their own); rows the backfill
cannot judge keep the safe default (false: read the event).
"""

from __future__ import annotations

import datetime
from typing import Any

import orjson
import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate

#: Same value as jmapd_calendars.index.UNBOUNDED_START (frozen here).
UNBOUNDED_START = datetime.datetime(1, 1, 1)
BATCH = 500


def _exact(event: dict[str, Any]) -> bool:
    return bool(event.get("timeZone")) and not (
        event.get("recurrenceRule") or event.get("recurrenceOverrides") or event.get("recurrenceRules"))


def _range(event: dict[str, Any]) -> tuple[datetime.datetime, datetime.datetime | None]:
    # The live computation: a row written now must match what index.range_row writes.
    from jmapd_calendars.domain.recurrence import series_range

    def naive(value: datetime.datetime) -> datetime.datetime:
        return value.astimezone(datetime.UTC).replace(tzinfo=None)

    try:
        first, last = series_range(event)
    except (ValueError, KeyError, TypeError):
        return UNBOUNDED_START, None
    return naive(first), naive(last) if last is not None else None


def up(db: Any) -> None:
    migrate(SchemaMigrator.from_database(db).add_column(
        "calendars_event_range", "exact", pw.BooleanField(default=False)))
    mark = "%s" if "postgres" in type(db).__name__.lower() else "?"
    have: set[tuple[str, str]] = {
        (a, o) for a, o in db.execute_sql("SELECT account_id, object_id FROM calendars_event_range").fetchall()}
    cursor = db.execute_sql(
        "SELECT account_id, object_id, data FROM jmap_document WHERE type_name = 'CalendarEvent' ORDER BY id")
    exact: dict[str, list[str]] = {}
    missing: list[tuple[Any, ...]] = []
    for account_id, object_id, data in cursor.fetchall():
        try:
            event = orjson.loads(data) if isinstance(data, (str, bytes)) else dict(data)
        except orjson.JSONDecodeError:
            event = {}
        if (account_id, object_id) in have:
            if _exact(event):
                exact.setdefault(account_id, []).append(object_id)
            continue
        first, last = _range(event)
        missing.append((account_id, object_id, first, last, _exact(event) and first != UNBOUNDED_START))
    for account_id, ids in exact.items():
        for i in range(0, len(ids), BATCH):
            batch = ids[i:i + BATCH]
            db.execute_sql(f"UPDATE calendars_event_range SET exact = {mark} WHERE account_id = {mark} "
                           f"AND object_id IN ({', '.join([mark] * len(batch))})", (True, account_id, *batch))
    for row in missing:
        db.execute_sql("INSERT INTO calendars_event_range (account_id, object_id, first_start, last_end, exact) "
                       f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})", row)


def down(db: Any) -> None:
    migrate(SchemaMigrator.from_database(db).drop_column("calendars_event_range", "exact"))
