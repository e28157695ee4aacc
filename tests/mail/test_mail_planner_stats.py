"""PostgreSQL statistics kept fresh by the server itself (#17).

With autovacuum off (as on the test and benchmark machines) nothing else
renews them: a write to Emails must lead, without anyone running ANALYZE,
to fresh row counts for the mail tables and empty GIN pending lists.
"""

from __future__ import annotations

import pytest
from jmapd_mail import planner_stats

from jmapd.db import database, ensure_connected, is_postgres
from jmapd.testing import wait_for


def _reltuples(table: str) -> float:
    ensure_connected()
    (estimate,) = database.execute_sql("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()
    return float(estimate)


def test_a_write_renews_the_statistics_of_changed_tables(client, mail, make_message, monkeypatch):
    ensure_connected()
    if not is_postgres():
        assert planner_stats.refresh() == []  # SQLite plans without them
        return
    assert wait_for(lambda: planner_stats._running[0], lambda running: not running) is False  # the start-up check
    monkeypatch.setattr(planner_stats, "INTERVAL", 0.0)
    # The statistics collector's counts reach pg_stat_user_tables a while after
    # the writes: the catalog (pages there, none at the last ANALYZE) tells sooner.
    monkeypatch.setattr(planner_stats, "SLACK_PAGES", 0)
    # As a database never analyzed (the session's may have been, by earlier tests' writes)
    database.execute_sql("UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = ANY(ARRAY["
                         "'mail_email'::regclass, 'mail_fts'::regclass])")
    mail.import_(make_message("Stats", message_id="s@x"))
    assert wait_for(lambda: _reltuples("mail_email"), lambda n: n >= 1) >= 1
    assert wait_for(lambda: _reltuples("mail_fts"), lambda n: n >= 1) >= 1
    assert wait_for(lambda: planner_stats._running[0], lambda running: not running) is False
    (pending,) = database.execute_sql("SELECT gin_clean_pending_list('mail_fts_account_tsv'::regclass)").fetchone()
    assert pending == 0


def test_stale_tables_from_the_catalog_when_the_counters_are_gone(client, mail, make_message, monkeypatch):
    """A restored or copied database starts with no change counters: a table
    never analyzed (as pg_restore leaves it), or grown past its last ANALYZE's
    page count, is stale all the same."""
    ensure_connected()
    if not is_postgres():
        pytest.skip("PostgreSQL statistics")
    assert wait_for(lambda: planner_stats._running[0], lambda running: not running) is False  # the start-up check
    monkeypatch.setattr(planner_stats, "INTERVAL", 3600.0)  # no check from the writes below
    planner_stats._last[0] = planner_stats.time.monotonic()
    monkeypatch.setattr(planner_stats, "BASE_ROWS", 10**9)  # the counters say nothing
    monkeypatch.setattr(planner_stats, "SLACK_PAGES", 0)
    mail.import_(make_message("Catalog", message_id="c@x"))
    database.execute_sql("ANALYZE mail_email")
    assert "mail_email" not in planner_stats.stale_tables()
    database.execute_sql("UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = 'mail_email'::regclass")
    assert "mail_email" in planner_stats.stale_tables()
    assert "mail_email" in planner_stats.refresh()
    assert _reltuples("mail_email") >= 1 and "mail_email" not in planner_stats.stale_tables()
