"""subject/from/to/cc/bcc filters: case-insensitive substrings, through the trigram index.

Moving the filters onto an index (SQLite FTS5 trigram, PostgreSQL pg_trgm)
must not change what they find: substrings inside words, LIKE wildcards
taken literally, short substrings, destroyed Emails gone, another
account's Emails never, and the many-matches path as well as the few.
"""

from __future__ import annotations

import importlib

import peewee as pw
import pytest
from jmapd_mail import search


def q(client, **filter_):
    return client.ok("Email/query", {"filter": filter_, "sort": [{"property": "receivedAt"}]})["ids"]


@pytest.fixture
def emails(client, mail, make_message):
    specs = [
        ("Quarterly Report", "Alice <alice@example.com>", "bob@example.org"),
        ("100% done_now", "billing@shop.example", "carol@corp.example"),
        ("Grüße aus München", "Dörte <doerte@example.de>", "alice@example.com"),
        ("ab", "x@y.example", "z@y.example"),
    ]
    ids = []
    for n, (subject, frm, to) in enumerate(specs):
        raw = make_message(subject, frm=frm, to=to, message_id=f"h{n}@x")
        ids.append(mail.import_(raw, receivedAt=f"2021-01-0{n + 1}T10:00:00Z")["id"])
    return ids


def test_substrings_wildcards_and_case(client, emails):
    e = emails
    assert q(client, subject="port") == [e[0]]  # inside a word
    assert q(client, subject="REPORT") == [e[0]]
    assert q(client, subject="100%") == [e[1]] and q(client, subject="e_n") == [e[1]]
    assert q(client, subject="0%_") == [] and q(client, subject="e%n") == []  # wildcards are literal
    assert q(client, subject="München") == [e[2]] and q(client, **{"from": "dörte"}) == [e[2]]
    assert q(client, subject="ab") == [e[3]]  # shorter than a trigram: still found
    assert q(client, to="alice@example.com") == [e[2]] and q(client, to="example.org") == [e[0]]
    assert q(client, **{"from": "shop.exa"}) == [e[1]]
    assert q(client, cc="example") == [] and q(client, bcc="alice") == []
    both = {"operator": "AND", "conditions": [{"subject": "report"}, {"from": "alice"}]}
    assert client.ok("Email/query", {"filter": both})["ids"] == [e[0]]
    either = {"operator": "OR", "conditions": [{"subject": "report"}, {"subject": "grüße"}]}
    assert client.ok("Email/query", {"filter": either, "sort": [{"property": "receivedAt"}]})["ids"] == [e[0], e[2]]


def test_destroyed_and_other_accounts_emails_are_not_found(client, jmap_server, mail, make_message, emails):
    other = jmap_server.client()
    blob = other.upload(make_message("Quarterly Report", message_id="o@x"), "message/rfc822")["blobId"]
    inbox = next(m["id"] for m in other.ok("Mailbox/get", {"ids": None})["list"] if m["role"] == "inbox")
    created = other.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": {inbox: True}}}})["created"]
    assert q(other, subject="report") == [created["k"]["id"]]
    assert q(client, subject="report") == [emails[0]]
    client.ok("Email/set", {"destroy": [emails[0]]})
    assert q(client, subject="report") == []
    assert q(other, subject="report") == [created["k"]["id"]]


def test_many_matches_take_the_subquery_path(client, emails, monkeypatch):
    monkeypatch.setattr(search, "FEW_HEADER_MATCHES", 1)
    assert q(client, to="example") == emails
    assert q(client, subject="report") == [emails[0]]


def test_migration_indexes_existing_headers(tmp_path):
    db = pw.SqliteDatabase(str(tmp_path / "m.sqlite3"))
    db.connect()
    importlib.import_module("jmapd_mail.migrations.m0001_initial").up(db)
    db.execute_sql("INSERT INTO mail_search_text (seq, account_id, subject, from_addr, \"to\", cc, bcc)"
                   " VALUES (7, 'A', 'Budget meeting', 'a@b', 'c@d', '', '')")
    importlib.import_module("jmapd_mail.migrations.m0004_header_trigrams").up(db)
    rows = db.execute_sql("SELECT rowid FROM mail_search_trgm WHERE subject LIKE '%dget mee%'").fetchall()
    assert rows == [(7,)]
    db.close()
