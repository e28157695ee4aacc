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

from jmapd.db import is_postgres


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


@pytest.fixture(params=["index", "rows"])
def path(request, monkeypatch):
    """Each edge case answered both ways: the few-matches id list (through the
    trigram index on SQLite) and the row-by-row test (FEW_HEADER_MATCHES 0)."""
    listed: list[list[int]] = []
    real = search._listed
    monkeypatch.setattr(search, "_listed", lambda seqs: listed.append(list(seqs)) or real(seqs))
    if request.param == "rows":
        monkeypatch.setattr(search, "FEW_HEADER_MATCHES", 0)
    return request.param, listed


@pytest.fixture
def edges(client, mail, make_message):
    specs = {
        "encoded": ("=?UTF-8?B?UsOpdW5pb24gZCfDqXF1aXBl?=", "=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.de>",
                    "Team <team@corp.example>"),
        "quoted": ('say "hi" now', "Eve <eve@x.example>", "Ops <ops@corp.example>"),
        "upper": ("MÜNCHEN ist groß", "STRASSE <STRASSE@EXAMPLE.DE>", "me@example.org"),
    }
    out = {}
    for n, (key, (subject, frm, to)) in enumerate(specs.items()):
        raw = make_message(subject, frm=frm, to=to, message_id=f"edge{n}@x")
        out[key] = mail.import_(raw, receivedAt=f"2021-02-0{n + 1}T10:00:00Z")["id"]
    return out


def test_edges_are_the_same_through_the_index_and_row_by_row(client, edges, path):
    kind, listed = path
    e = edges
    assert q(client, subject="équipe") == [e["encoded"]]  # an encoded-word, decoded
    assert q(client, subject="union d'éq") == [e["encoded"]]  # inside a word, across the space
    assert q(client, **{"from": "Jörg"}) == [e["encoded"]] and q(client, **{"from": "müller"}) == [e["encoded"]]
    # an address filter finds the display name and the address alike
    assert q(client, **{"from": "joerg@example.de"}) == [e["encoded"]] and q(client, **{"from": "eve"}) == [e["quoted"]]
    assert q(client, to="corp.example") == [e["encoded"], e["quoted"]] and q(client, to="Ops") == [e["quoted"]]
    assert q(client, subject='"hi"') == [e["quoted"]] and q(client, subject='say "hi" now') == [e["quoted"]]
    assert q(client, subject='"hi" later') == [] and q(client, subject='y "') == [e["quoted"]]
    assert q(client, subject="MÜNCHEN") == [e["upper"]] and q(client, subject="mÜnchen ist") == [e["upper"]]
    assert q(client, **{"from": "strasse@example"}) == [e["upper"]]  # ASCII case folds on every backend
    # Non-ASCII case (SQLite's LIKE folds ASCII only, PostgreSQL's ILIKE all of Unicode):
    # whatever the backend answers, both paths answer the same.
    folded = q(client, subject="münchen")
    assert folded == ([e["upper"]] if is_postgres() else [])
    assert q(client, subject="xyzzy") == [] and q(client, subject="ist groß und") == []
    if kind == "rows":
        assert all(seqs == [] for seqs in listed)  # only empty answers are lists
    elif not is_postgres():
        assert any(len(seqs) == 2 for seqs in listed)


def test_sharee_filters_see_only_readable_mailboxes(client, mail, make_message, path):
    from .test_mail_sharing import Shared, grant

    shared = Shared(client, client.server.client(), mail, make_message)
    grant(shared.owner, shared.team, shared.sharee, "mayReadItems")
    # "Team news" is shared; "Re: Team news" (same sender and Thread) is in the private inbox
    ids = shared.ok("Email/query", {"filter": {"subject": "team news"}, "sort": [{"property": "receivedAt"}]})["ids"]
    assert ids == [shared.team_mail]
    found = shared.ok("Email/query", {"filter": {"from": "alice"}, "calculateTotal": True})
    assert sorted(found["ids"]) == sorted([shared.team_mail, shared.both]) and found["total"] == 2
    assert shared.ok("Email/query", {"filter": {"subject": "Re: T"}})["ids"] == []
    assert sorted(q(client, subject="team news")) == sorted([shared.team_mail, shared.private])


def test_many_matches_in_another_account_leave_the_id_list(client, jmap_server, mail, make_message, monkeypatch):
    """The index lookup counts only the account's own rows: another account's
    many matches must not push a rare substring onto the row-by-row path."""
    from .conftest import MailHelper

    other = jmap_server.client()
    theirs = [MailHelper(other).import_(make_message(f"Quarterly Report {n}", message_id=f"o{n}@x"))["id"] for n in range(4)]
    mine = mail.import_(make_message("Quarterly Report", message_id="m@x"))["id"]
    monkeypatch.setattr(search, "FEW_HEADER_MATCHES", 2)
    listed: list[list[int]] = []
    real = search._listed
    monkeypatch.setattr(search, "_listed", lambda seqs: listed.append(list(seqs)) or real(seqs))
    assert q(client, subject="quarterly rep") == [mine]
    assert sorted(q(other, subject="quarterly rep")) == sorted(theirs)
    if not is_postgres():
        assert listed[0] and len(listed[0]) == 1 and len(listed) == 1
