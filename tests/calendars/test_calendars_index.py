"""The occurrence-range index (calendars_event_range): kept with every
create, update and destroy, and consulted by time-range queries."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from jmapd_calendars.testing import calendars, ok
from playhouse.db_url import connect


@pytest.fixture
def db(jmapd_database: str) -> Any:
    conn = connect(jmapd_database)
    yield conn
    conn.close()


def _mark(db: Any) -> str:
    return "?" if "sqlite" in type(db).__name__.lower() else "%s"


def rows(db: Any, account_id: str) -> dict[str, tuple[Any, Any]]:
    sql = f"SELECT object_id, first_start, last_end FROM calendars_event_range WHERE account_id = {_mark(db)}"
    cur = db.execute_sql(sql, (account_id,))
    return {r[0]: (_dt(r[1]), _dt(r[2])) for r in cur.fetchall()}


def _dt(value: Any) -> Any:
    if value is None or isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(value)


def make(client: Any, cal: str, **event: Any) -> str:
    made = ok(client, "CalendarEvent/set", {"create": {"e": {"calendarIds": {cal: True}, "duration": "PT1H", **event}}})
    return made["created"]["e"]["id"]


def test_rows_follow_create_update_destroy(client, db):
    cal = calendars(client)[0]["id"]
    once = make(client, cal, start="2025-03-03T09:00:00", timeZone="Europe/Berlin")
    weekly = make(client, cal, start="2025-03-03T09:00:00", timeZone="Europe/Berlin",
                  recurrenceRule={"frequency": "weekly", "count": 3})
    forever = make(client, cal, start="2025-03-03T09:00:00", timeZone="Europe/Berlin",
                   recurrenceRule={"frequency": "daily"})
    got = rows(db, client.account_id)
    assert got[once] == (datetime.datetime(2025, 3, 3, 8), datetime.datetime(2025, 3, 3, 9))
    # the third weekly occurrence is after the DST change: 09:00 Berlin = 07:00 UTC
    assert got[weekly] == (datetime.datetime(2025, 3, 3, 8), datetime.datetime(2025, 3, 17, 9))
    assert got[forever] == (datetime.datetime(2025, 3, 3, 8), None)
    ok(client, "CalendarEvent/set", {"update": {once: {"start": "2025-04-01T12:00:00"}}})
    assert rows(db, client.account_id)[once] == (datetime.datetime(2025, 4, 1, 10), datetime.datetime(2025, 4, 1, 11))
    ok(client, "CalendarEvent/set", {"destroy": [weekly]})
    assert weekly not in rows(db, client.account_id)
    other = ok(client, "Calendar/set", {"create": {"o": {"name": "Other"}}})["created"]["o"]["id"]
    gone = make(client, other, start="2025-03-03T09:00:00", timeZone="Etc/UTC")
    assert gone in rows(db, client.account_id)
    ok(client, "Calendar/set", {"destroy": [other], "onDestroyRemoveEvents": True})
    assert gone not in rows(db, client.account_id)


def test_query_reads_the_index(client, db):
    cal = calendars(client)[0]["id"]
    march = make(client, cal, start="2025-03-03T09:00:00", timeZone="Etc/UTC")
    window = {"after": "2025-03-01T00:00:00", "before": "2025-04-01T00:00:00"}
    assert ok(client, "CalendarEvent/query", {"filter": window})["ids"] == [march]
    mark = _mark(db)
    # A row claiming 1990 hides the event from a March query: the window is
    # answered from the index, not by expanding every event.
    db.execute_sql(f"UPDATE calendars_event_range SET first_start = {mark}, last_end = {mark} WHERE object_id = {mark}",
                   (datetime.datetime(1990, 1, 1), datetime.datetime(1990, 1, 2), march))
    assert ok(client, "CalendarEvent/query", {"filter": window})["ids"] == []
    assert ok(client, "CalendarEvent/query", {"filter": window, "expandRecurrences": True})["ids"] == []
    # without a window every event is read; an event without a row is always a candidate
    assert ok(client, "CalendarEvent/query", {"filter": {"title": ""}})["ids"] == [march]
    db.execute_sql(f"DELETE FROM calendars_event_range WHERE object_id = {mark}", (march,))
    assert ok(client, "CalendarEvent/query", {"filter": window})["ids"] == [march]
    assert ok(client, "CalendarEvent/query", {"filter": {"operator": "AND", "conditions": [window]}})["ids"] == [march]
