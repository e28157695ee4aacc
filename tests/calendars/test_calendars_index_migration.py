"""m0002: an existing database gets calendars_event_range.exact and a row
for every event (those stored before m0001, and those whose range cannot
be computed), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime
import importlib
import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse, urlunparse

import orjson
import pytest
from playhouse.db_url import connect


@pytest.fixture
def scratch_db(tmp_path: Any) -> Iterator[Any]:
    """An empty database of the kind the suite runs on (never the session's)."""
    base = os.environ.get("JMAPD_TEST_DATABASE", "")
    if not base.startswith(("postgresql://", "postgres://")):
        db = connect(f"sqlite:///{tmp_path / 'm.sqlite3'}")
        yield db
        db.close()
        return
    import psycopg2

    name = f"jmapd_mig_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(base)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    db = connect(urlunparse(urlparse(base)._replace(path="/" + name)))
    try:
        yield db
    finally:
        db.close()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def _dt(value: Any) -> Any:
    return value if value is None or isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(value)


def test_upgrade_adds_exact_and_a_row_for_every_event(scratch_db: Any) -> None:
    from jmapd.models import Document

    db = scratch_db
    mark = "%s" if "postgres" in type(db).__name__.lower() else "?"
    with db.bind_ctx([Document]):
        db.create_tables([Document])
    importlib.import_module("jmapd_calendars.migrations.m0001_event_range").up(db)
    events = {
        "eZoned": {"start": "2025-03-03T09:00:00", "timeZone": "Europe/Berlin", "duration": "PT1H"},
        "eWeekly": {"start": "2025-03-03T09:00:00", "timeZone": "Europe/Berlin", "duration": "PT1H",
                    "recurrenceRule": {"frequency": "weekly", "count": 3}},
        "eOld": {"start": "2025-03-03T09:00:00", "timeZone": "Etc/UTC", "duration": "PT1H"},  # before m0001: no row
        "eFloating": {"start": "2025-03-03T09:00:00", "duration": "PT1H"},  # no row either
        "eBroken": {"start": "not a date", "timeZone": "Etc/UTC"},  # range cannot be computed: no row
    }
    now = datetime.datetime(2025, 1, 1)
    for object_id, event in events.items():
        db.execute_sql("INSERT INTO jmap_document (account_id, type_name, object_id, data, created) "
                       f"VALUES ({mark}, 'CalendarEvent', {mark}, {mark}, {mark})",
                       ("A", object_id, orjson.dumps(event).decode(), now))
    db.execute_sql("INSERT INTO jmap_document (account_id, type_name, object_id, data, created) "
                   f"VALUES ('A', 'Calendar', 'cX', '{{}}', {mark})", (now,))
    for object_id, first, last in (("eZoned", datetime.datetime(2025, 3, 3, 8), datetime.datetime(2025, 3, 3, 9)),
                                   ("eWeekly", datetime.datetime(2025, 3, 3, 8), datetime.datetime(2025, 3, 17, 9))):
        db.execute_sql("INSERT INTO calendars_event_range (account_id, object_id, first_start, last_end) "
                       f"VALUES ('A', {mark}, {mark}, {mark})", (object_id, first, last))

    importlib.import_module("jmapd_calendars.migrations.m0002_event_range_exact").up(db)

    got = {r[0]: (_dt(r[1]), _dt(r[2]), bool(r[3])) for r in db.execute_sql(
        "SELECT object_id, first_start, last_end, exact FROM calendars_event_range WHERE account_id = 'A'").fetchall()}
    assert got == {
        "eZoned": (datetime.datetime(2025, 3, 3, 8), datetime.datetime(2025, 3, 3, 9), True),
        "eWeekly": (datetime.datetime(2025, 3, 3, 8), datetime.datetime(2025, 3, 17, 9), False),
        "eOld": (datetime.datetime(2025, 3, 3, 9), datetime.datetime(2025, 3, 3, 10), True),
        "eFloating": (datetime.datetime(2025, 3, 3, 9), datetime.datetime(2025, 3, 3, 10), False),
        "eBroken": (datetime.datetime(1, 1, 1), None, False),
    }
    # the model describes the migrated table
    from jmapd_calendars.models import EventRange

    columns = {c.name for c in db.get_columns("calendars_event_range")}
    assert columns == {f.column_name for f in EventRange._meta.sorted_fields}
