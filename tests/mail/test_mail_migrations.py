"""The mail migrations: an upgraded database (m0001 with data, then m0002...m0005)
ends where a fresh one does, and matches the models (SQLite, in-process)."""

from __future__ import annotations

import importlib
import zlib

import orjson
import peewee as pw
import pytest


@pytest.fixture
def scratch_db(tmp_path):
    # The migrations take their database as an argument (m0001 binds its frozen
    # models to it), so the session's database is never touched.
    db = pw.SqliteDatabase(str(tmp_path / "m.sqlite3"))
    db.connect()
    yield db
    db.close()


def _schema(db):
    tables = {}
    for (name,) in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'mail_%'"):
        if name.startswith("mail_fts_"):
            continue
        tables[name] = sorted(r[1] for r in db.execute_sql(f'PRAGMA table_info("{name}")'))
    indexes = sorted(r[0] for r in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'mail_%'"))
    return tables, indexes


def test_upgrade_backfills_and_matches_models(scratch_db):
    db = scratch_db
    m1 = importlib.import_module("jmapd_mail.migrations.m0001_initial")
    m2 = importlib.import_module("jmapd_mail.migrations.m0002_list_views")
    m1.up(db)
    parsed = {"v": 1, "size": 10, "headers": [["Subject", "hi"]], "props": {}, "body": {}, "textBody": [],
              "htmlBody": [], "attachments": [], "hasAttachment": False, "preview": "hi"}
    for seq, (email, thread, when) in enumerate([("Ma", "T1", "2021-01-01 00:00:00"), ("Mb", "T1", "2021-01-02 00:00:00"),
                                                 ("Mc", "T2", "2021-01-01 00:00:00")], start=1):
        db.execute_sql(
            "INSERT INTO mail_email (seq, id, account_id, thread_id, blob_id, size, received_at, subject_sort, from_sort,"
            " to_sort, has_attachment, unread, keywords, summary, parsed) VALUES (?, ?, 'A', ?, 'B', 10, ?, '', '', '',"
            " 0, 1, '[]', '{}', ?)", (seq, email, thread, when, orjson.dumps(parsed).decode()),
        )
        db.execute_sql(
            "INSERT INTO mail_email_mailbox (account_id, email_id, mailbox_id, thread_id, received_at, unread)"
            " VALUES ('A', ?, 'mInbox', ?, ?, 1)", (email, thread, when),
        )
        db.execute_sql("INSERT INTO mail_fts (rowid, head, body) VALUES (?, ?, ?)", (seq, f"subject {email}", "zebra body"))
    m2.up(db)
    rows = dict(((e, (s, bool(latest))) for e, s, latest in db.execute_sql(
        "SELECT email_id, seq, is_latest FROM mail_email_mailbox")))
    assert rows == {"Ma": (1, False), "Mb": (2, True), "Mc": (3, True)}
    (blob,) = db.execute_sql("SELECT parsed_z FROM mail_email WHERE id = 'Ma'").fetchone()
    assert orjson.loads(zlib.decompress(blob)) == parsed
    hits = sorted(r[0] for r in db.execute_sql("SELECT rowid FROM mail_fts WHERE mail_fts MATCH 'zebra'"))
    assert hits == [1, 2, 3]
    db.execute_sql("INSERT INTO mail_fts (mail_fts, rowid, head, body) VALUES ('delete', 2, 'subject Mb', 'zebra body')")
    assert sorted(r[0] for r in db.execute_sql("SELECT rowid FROM mail_fts WHERE mail_fts MATCH 'zebra'")) == [1, 3]

    # m0003 counts what is there: T1 is unread in the trash only, T2 in the inbox.
    db.execute_sql("INSERT INTO mail_mailbox (id, account_id, name, role, sort_order, is_subscribed)"
                   " VALUES ('mTrash', 'A', 'Trash', 'trash', 0, 1)")
    db.execute_sql("UPDATE mail_email_mailbox SET mailbox_id = 'mTrash' WHERE email_id = 'Ma'")
    db.execute_sql("UPDATE mail_email_mailbox SET unread = 0 WHERE email_id = 'Mb'")
    importlib.import_module("jmapd_mail.migrations.m0003_mailbox_counts").up(db)
    stored = {r[0]: r[1:] for r in db.execute_sql(
        "SELECT mailbox_id, total_emails, unread_emails, total_threads, unread_threads FROM mail_mailbox_count")}
    assert stored == {"mInbox": (2, 1, 2, 1), "mTrash": (1, 1, 1, 1)}

    importlib.import_module("jmapd_mail.migrations.m0005_import").up(db)
    # The models describe exactly the migrated tables.
    from jmapd_mail.models import MODELS

    tables, indexes = _schema(db)
    for model in MODELS:
        assert sorted(f.column_name for f in model._meta.sorted_fields) == tables[model._meta.table_name], model
    assert "mail_email_mailbox_latest" in indexes and "mail_email_account_id_received_at_seq" in indexes


def test_full_text_index_gains_the_account(scratch_db):
    """m0007 rebuilds SQLite's contentless index from its own terms with an account
    token per row: every row is found again, by its account only, and a deletion
    with the original text still removes it (the index stays consistent)."""
    from jmapd_mail.search import account_token

    db = scratch_db
    importlib.import_module("jmapd_mail.migrations.m0001_initial").up(db)
    rows = [(1, "A", "Café zebra from alice@example.com", "zebra body"), (2, "A", "subject two", "the zebra crossing"),
            (3, "Äb", "zebra", "other account")]
    for seq, account, head, body in rows:
        db.execute_sql(
            "INSERT INTO mail_email (seq, id, account_id, thread_id, blob_id, size, received_at, subject_sort, from_sort,"
            " to_sort, has_attachment, unread, keywords, summary, parsed) VALUES (?, ?, ?, 'T', 'B', 10,"
            " '2021-01-01 00:00:00', '', '', '', 0, 1, '[]', '{}', '{}')", (seq, f"M{seq}", account),
        )
        db.execute_sql("INSERT INTO mail_fts (rowid, head, body) VALUES (?, ?, ?)", (seq, head, body))
    importlib.import_module("jmapd_mail.migrations.m0002_list_views").up(db)
    importlib.import_module("jmapd_mail.migrations.m0007_fts_account").up(db)

    def match(account, terms):
        query = " AND ".join([f'acct : "{account_token(account)}"', *terms])
        return sorted(r[0] for r in db.execute_sql("SELECT rowid FROM mail_fts WHERE mail_fts MATCH ?", (query,)))

    assert match("A", ['{head body} : "zebra"']) == [1, 2]
    assert match("Äb", ['{head body} : "zebra"']) == [3]
    assert match("A", ['head : "cafe"', 'head : "example"']) == [1]
    assert match("A", ['body : "crossing"']) == [2] and match("A", ['head : "crossing"']) == []
    db.execute_sql("INSERT INTO mail_fts (mail_fts, rowid, acct, head, body) VALUES ('delete', 2, ?, ?, ?)",
                   (account_token("A"), rows[1][2], rows[1][3]))
    assert match("A", ['{head body} : "zebra"']) == [1]
    db.execute_sql("INSERT INTO mail_fts (mail_fts, rank) VALUES ('integrity-check', 0)")
