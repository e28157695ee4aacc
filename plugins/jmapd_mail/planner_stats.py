"""PostgreSQL planner statistics and GIN pending lists, kept fresh by the server (#17).

Without statistics PostgreSQL guesses that an account holds a few rows and
a word is rare, and reads every row of a table for a full-text or header
query (2.7 ms at 2,000 Emails, growing with the mailbox); GIN's fast update
leaves new entries in a pending list that every search reads through until
a vacuum. Autovacuum renews both, but it may be off, or minutes late after
a bulk import. So after a write to Emails the server checks, at most every
:data:`INTERVAL` seconds per process and in a thread of its own (never in
the request), which mail tables changed by more than autovacuum's default
threshold (50 rows + 10%) since their last ANALYZE, and analyzes those and
flushes their GIN indexes' pending lists. An advisory lock keeps two
processes from doing the same work at once.
"""

from __future__ import annotations

import logging
import threading
import time

from jmapd.db import database, is_postgres

log = logging.getLogger("jmapd.mail")

TABLES = ("mail_email", "mail_email_mailbox", "mail_email_keyword", "mail_email_header", "mail_thread_ref",
          "mail_search_text", "mail_fts", "mail_mailbox_count")
INTERVAL = 5.0
#: A table is re-analyzed past BASE_ROWS + SCALE x its rows changed (autovacuum's defaults).
BASE_ROWS = 50
SCALE = 0.1
#: ... or, from the catalog, past (1 + SCALE) x its pages at the last ANALYZE + SLACK_PAGES.
SLACK_PAGES = 8
#: pg_try_advisory_lock key: "jmapd mail analyze".
LOCK_KEY = 0x6A6D_6D61
_guard = threading.Lock()
_last = [-INTERVAL]
_running = [False]


def note_write() -> None:
    """An Email write committed: start a check unless one ran lately or runs now."""
    if not is_postgres():
        return
    now = time.monotonic()
    with _guard:
        if _running[0] or now - _last[0] < INTERVAL:
            return
        _running[0], _last[0] = True, now
    threading.Thread(target=_check_in_thread, name="jmapd-mail-analyze", daemon=True).start()


def _check_in_thread() -> None:
    try:
        database.connect(reuse_if_open=True)
        try:
            refresh()
        finally:
            database.close()
    except Exception:  # noqa: BLE001 - statistics are an optimisation: log, never fail a write
        log.exception("refreshing the mail tables' planner statistics failed")
    finally:
        with _guard:
            _running[0] = False


def stale_tables() -> list[str]:
    """Mail tables changed by more than 50 rows + 10% since they were last analyzed.

    From the statistics collector's count of changed rows, and, as that count
    is lost when PostgreSQL restarts after a crash (and starts at 0 in a
    restored or copied database), from the catalog too: a non-empty table never
    analyzed, or one whose pages grew past the last ANALYZE's count by as much.
    """
    rows = database.execute_sql(
        "SELECT c.relname FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
        " WHERE c.relname = ANY(%s) AND c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
        " AND (COALESCE(s.n_mod_since_analyze, 0) > %s + %s * GREATEST(c.reltuples, 0)"
        " OR pg_relation_size(c.oid) / current_setting('block_size')::int > (1 + %s) * GREATEST(c.relpages, 0) + %s)",
        (list(TABLES), BASE_ROWS, SCALE, SCALE, SLACK_PAGES),
    ).fetchall()
    return sorted(r[0] for r in rows)


def refresh() -> list[str]:
    """ANALYZE the stale mail tables and flush their GIN pending lists; the tables done."""
    if not is_postgres():
        return []
    (locked,) = database.execute_sql("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
    if not locked:
        return []
    try:
        tables = stale_tables()
        for table in tables:
            gin = database.execute_sql(
                "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = %s::regclass AND a.amname = 'gin'",
                (table,),
            ).fetchall()
            for (index,) in gin:
                database.execute_sql("SELECT gin_clean_pending_list(%s::regclass)", (index,))
            database.execute_sql(f'ANALYZE "{table}"')
        return tables
    finally:
        database.execute_sql("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
