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
    # without a window every event is read
    assert ok(client, "CalendarEvent/query", {"filter": {"title": ""}})["ids"] == [march]
    # an unbounded row (what an event whose range cannot be computed gets) is a candidate of every window
    db.execute_sql(f"UPDATE calendars_event_range SET first_start = {mark}, last_end = NULL, exact = {mark} "
                   f"WHERE object_id = {mark}", (datetime.datetime(1, 1, 1), False, march))
    assert ok(client, "CalendarEvent/query", {"filter": window})["ids"] == [march]
    assert ok(client, "CalendarEvent/query", {"filter": window, "expandRecurrences": True})["ids"] == [march]
    assert ok(client, "CalendarEvent/query", {"filter": {"operator": "AND", "conditions": [window]}})["ids"] == [march]
    assert ok(client, "CalendarEvent/query", {"filter": {"after": "2030-01-01T00:00:00"}})["ids"] == []


def test_exact_rows_answer_window_only_queries(client, db):
    """An exact row (single occurrence, own time zone) decides a query that
    asks nothing but the window without the event being read; one that
    needs the event (another condition) reads it and judges its own times."""
    cal = calendars(client)[0]["id"]
    april = make(client, cal, start="2025-04-15T09:00:00", timeZone="Etc/UTC")
    assert rows(db, client.account_id)[april] == (datetime.datetime(2025, 4, 15, 9), datetime.datetime(2025, 4, 15, 10))
    mark = _mark(db)
    db.execute_sql(f"UPDATE calendars_event_range SET first_start = {mark}, last_end = {mark} WHERE object_id = {mark}",
                   (datetime.datetime(2025, 3, 10), datetime.datetime(2025, 3, 10, 1), april))
    window = {"after": "2025-03-01T00:00:00", "before": "2025-04-01T00:00:00"}

    def ids(**extra: Any) -> list[str]:
        return ok(client, "CalendarEvent/query", {"filter": {**window, **extra.pop("filter", {})}, **extra})["ids"]

    assert ids() == [april] and ids(expandRecurrences=True) == [april]  # the row was believed
    assert ids(filter={"title": ""}) == [] and ids(filter={"title": ""}, expandRecurrences=True) == []
    db.execute_sql(f"UPDATE calendars_event_range SET exact = {mark} WHERE object_id = {mark}", (False, april))
    assert ids() == [] and ids(expandRecurrences=True) == []  # not exact: the event itself is read


#: A window-only query may answer from exact index rows; the same query with a
#: condition every event matches (``title: ""``) reads every candidate event.
EDGE_EVENTS: dict[str, dict[str, Any]] = {
    "inside": {"start": "2025-03-10T09:00:00", "timeZone": "Europe/Berlin"},
    "spans_start": {"start": "2025-02-28T22:00:00", "timeZone": "Etc/UTC", "duration": "PT4H"},
    "ends_at_after": {"start": "2025-02-28T23:00:00", "timeZone": "Etc/UTC"},  # 1 h, ends exactly at after
    "zero_at_after": {"start": "2025-03-01T00:00:00", "timeZone": "Etc/UTC", "duration": "PT0S"},
    "zero_inside": {"start": "2025-03-02T00:00:00", "timeZone": "Etc/UTC", "duration": "PT0S"},
    "starts_at_before": {"start": "2025-03-15T00:00:00", "timeZone": "Etc/UTC"},
    "tokyo_edge": {"start": "2025-03-01T08:30:00", "timeZone": "Asia/Tokyo"},  # 23:30 UTC the day before
    "floating_edge": {"start": "2025-03-01T00:30:00"},  # inside in UTC, outside in New York
    "all_day": {"start": "2025-03-14T00:00:00", "showWithoutTime": True, "duration": "P1D"},
    "infinite": {"start": "2024-01-01T10:00:00", "timeZone": "America/New_York", "recurrenceRule": {"frequency": "weekly"}},
    "moved_in": {"start": "2025-02-03T10:00:00", "timeZone": "Etc/UTC",
                 "recurrenceRule": {"frequency": "weekly", "count": 3},
                 "recurrenceOverrides": {"2025-02-10T10:00:00": {"start": "2025-03-05T10:00:00"}}},
    "moved_out": {"start": "2025-03-03T10:00:00", "timeZone": "Etc/UTC",
                  "recurrenceRule": {"frequency": "daily", "count": 2},
                  "recurrenceOverrides": {"2025-03-03T10:00:00": {"start": "2025-05-01T10:00:00"},
                                          "2025-03-04T10:00:00": {"excluded": True}}},
    "dst_daily": {"start": "2025-03-08T01:30:00", "timeZone": "America/New_York",
                  "recurrenceRule": {"frequency": "daily", "count": 4}},
}


@pytest.mark.parametrize("expand", [False, True])
def test_window_only_queries_agree_with_reading_every_event(client, expand):
    cal = calendars(client)[0]["id"]
    ok(client, "Calendar/set", {"update": {cal: {"timeZone": "Asia/Tokyo"}}})
    made = {name: make(client, cal, title=name, **{"duration": "PT1H", **event}) for name, event in EDGE_EVENTS.items()}
    names = {v: k for k, v in made.items()}
    windows = [("2025-03-01T00:00:00", "2025-03-15T00:00:00"), ("2025-03-09T00:00:00", "2025-03-10T00:00:00"),
               ("2025-02-01T00:00:00", "2025-02-28T23:00:00"), ("2025-04-30T00:00:00", "2025-05-02T00:00:00")]
    seen: set[str] = set()
    for after, before in windows:
        for zone in ("Etc/UTC", "America/New_York", "Asia/Tokyo"):
            for sort in ([], [{"property": "start"}], [{"property": "start", "isAscending": False}]):
                base = {"timeZone": zone, "sort": sort, "expandRecurrences": expand}
                if expand and not sort:
                    base["sort"] = [{"property": "recurrenceId"}]
                lean = ok(client, "CalendarEvent/query", {**base, "filter": {"after": after, "before": before}})["ids"]
                full = ok(client, "CalendarEvent/query", {**base, "filter": {"after": after, "before": before,
                                                                            "title": ""}})["ids"]
                assert lean == full, (after, before, zone, sort)
                seen.update(names[i.split("_2")[0]] if i not in names else names[i] for i in lean)
    first = ok(client, "CalendarEvent/query", {"filter": {"after": "2025-03-01T00:00:00",
                                                          "before": "2025-03-15T00:00:00"}})["ids"]
    got = {names[i] for i in first}
    assert {"inside", "zero_inside", "spans_start", "floating_edge", "all_day", "infinite", "moved_in",
            "dst_daily", "tokyo_edge"} <= got, got
    assert not got & {"ends_at_after", "zero_at_after", "starts_at_before"}, got  # an end must be after "after"
    in_ny = ok(client, "CalendarEvent/query", {"timeZone": "America/New_York", "filter": {
        "after": "2025-03-01T00:00:00", "before": "2025-03-15T00:00:00"}})["ids"]
    # a floating event keeps its wall-clock place in the query's zone; a zoned one does not
    assert "floating_edge" in {names[i] for i in in_ny} and "tokyo_edge" not in {names[i] for i in in_ny}
    assert "moved_out" in seen


def test_long_finite_series_ends_where_its_count_does(client, db):
    """5,000,000 occurrences every 30 s end on 2031-03-03 (count), not never:
    the index row, a window query and an expanded one all know it."""
    cal = calendars(client)[0]["id"]
    rule = {"frequency": "secondly", "interval": 30, "count": 5_000_000}
    long = make(client, cal, start="2026-06-01T09:00:00", timeZone="Etc/UTC", duration="PT1S", recurrenceRule=rule)
    last = datetime.datetime(2031, 3, 3, 11, 39, 30)  # 09:00 + 4,999,999 x 30 s
    assert rows(db, client.account_id)[long] == (datetime.datetime(2026, 6, 1, 9), last + datetime.timedelta(seconds=1))

    def window(after: str, before: str, expand: bool = False) -> list[str]:
        args: dict[str, Any] = {"filter": {"after": after, "before": before}}
        if expand:
            args["expandRecurrences"] = True
        return ok(client, "CalendarEvent/query", args)["ids"]

    for after, before in (("2099-01-01T00:00:00", "2099-01-01T00:00:10"),
                          ("2031-03-03T11:39:31", "2031-03-03T11:40:31")):  # just after the last one ends
        assert window(after, before) == [] and window(after, before, expand=True) == [], (after, before)
    assert window("2031-03-03T11:39:15", "2031-03-03T11:39:45") == [long]
    assert window("2031-03-03T11:39:15", "2031-03-03T11:39:45", expand=True) == [
        f"{long}_20310303T113930"]  # the 5,000,000th, and no 5,000,001st at 11:40:00
    assert window("2028-02-29T12:00:00", "2028-02-29T12:01:00", expand=True) == [
        f"{long}_20280229T120000", f"{long}_20280229T120030"]
    got = ok(client, "CalendarEvent/get", {"ids": [f"{long}_20310303T113930", f"{long}_20310303T114000"]})
    assert [e["start"] for e in got["list"]] == ["2031-03-03T11:39:30"] and got["notFound"] == [f"{long}_20310303T114000"]


def test_batch_with_refused_events_leaves_nothing_of_them(client, db):
    """The bulk create path buffers each event's document and range row
    without a savepoint: a refused event in the middle of a batch must
    take its rows back, and the others' rows must all be written."""
    cal = calendars(client)[0]["id"]
    create: dict[str, Any] = {}
    for n in range(6):
        create[f"e{n}"] = {"calendarIds": {cal: True}, "title": f"E{n}", "duration": "PT1H",
                           "start": f"2025-05-0{n + 1}T09:00:00", "timeZone": "Europe/Berlin"}
    create["e2"]["timeZone"] = "Nowhere/Atlantis"  # refused by the validator
    create["e4"]["calendarIds"] = {"cNoSuchCalendar": True}  # refused after the generic checks
    made = ok(client, "CalendarEvent/set", {"create": create})
    assert sorted(made["notCreated"]) == ["e2", "e4"], made
    ids = {made["created"][k]["id"] for k in ("e0", "e1", "e3", "e5")}
    assert set(rows(db, client.account_id)) == ids
    found = ok(client, "CalendarEvent/query", {"filter": {"after": "2025-05-01T00:00:00", "before": "2025-05-07T00:00:00"}})
    assert set(found["ids"]) == ids
    total = ok(client, "CalendarEvent/query", {"calculateTotal": True})["total"]
    assert total == 4
    changes = ok(client, "CalendarEvent/changes", {"sinceState": made["oldState"]})
    assert set(changes["created"]) == ids


def test_after_an_import_the_planner_knows_the_tables_it_filled(client):
    """PostgreSQL: right after a bulk import the planner had an empty
    range table's statistics and joined every row by nested loop; the
    import's analyze() renews them."""
    from jmapd_calendars.cli import ANALYZED, analyze

    from jmapd.db import database, ensure_connected, is_postgres

    cal = calendars(client)[0]["id"]
    ok(client, "CalendarEvent/set", {"create": {f"e{n}": {
        "calendarIds": {cal: True}, "title": f"E{n}", "start": f"2025-06-0{n + 1}T09:00:00", "duration": "PT1H",
        "timeZone": "Europe/Berlin"} for n in range(3)}})
    ensure_connected()
    if not is_postgres():
        analyze()  # nothing to do, and nothing fails
        return
    analyze()
    for table in ANALYZED:
        (estimate,) = database.execute_sql("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()
        (count,) = database.execute_sql(f'SELECT count(*) FROM "{table}"').fetchone()
        assert estimate == count, table
