"""PostgreSQL statement queue (jmapd.db.later): BEGIN, the account lock and
writes nobody reads go out with the next statement or the COMMIT, in one
round trip, and a transaction means exactly what it meant before."""

from __future__ import annotations

import uuid

import peewee
import pytest

from jmapd.db import database, ensure_connected, is_postgres, later, plain_rows, write_transaction


@pytest.fixture
def probe(jmap_server):
    """A table of our own in the test database (connected by the server fixture)."""
    ensure_connected()
    if not is_postgres():
        pytest.skip("the queue is PostgreSQL's; SQLite runs later() at once")
    table = "probe_" + uuid.uuid4().hex[:8]
    database.execute_sql(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT)")
    yield table
    database.execute_sql(f"DROP TABLE {table}")


def values(table):
    return sorted(plain_rows(f"SELECT id, v FROM {table}"))


def round_trips(monkeypatch):
    sent = []
    real = peewee.Database._execute_cursor

    def counting(self, sql, params, **kw):
        sent.append(sql)
        return real(self, sql, params, **kw)

    monkeypatch.setattr(peewee.Database, "_execute_cursor", counting)
    return sent


def test_queued_writes_are_seen_by_the_next_statement_and_committed_in_one_trip(probe, monkeypatch):
    sent = round_trips(monkeypatch)
    with write_transaction("acct-probe"):
        later(f"INSERT INTO {probe} (id, v) VALUES (?, ?)", (1, "a"))
        later(f"INSERT INTO {probe} (id, v) VALUES (?, ?)", (2, "b"))
        assert values(probe) == [(1, "a"), (2, "b")]  # BEGIN, the lock and both inserts went with this read
        later(f"UPDATE {probe} SET v = ? WHERE id = ?", ("c", 2))
    assert len(sent) == 2, sent  # the read (with what waited), then the update with COMMIT
    assert sent[0].startswith("BEGIN; SELECT pg_advisory_xact_lock") and sent[1].endswith("COMMIT")
    assert values(probe) == [(1, "a"), (2, "c")]


def test_a_savepoint_rolled_back_takes_its_queued_writes_with_it(probe):
    with write_transaction("acct-probe"):
        later(f"INSERT INTO {probe} (id, v) VALUES (?, ?)", (1, "kept"))
        with pytest.raises(RuntimeError), database.atomic():
            later(f"INSERT INTO {probe} (id, v) VALUES (?, ?)", (2, "queued, then rolled back"))
            raise RuntimeError
        with pytest.raises(RuntimeError), database.atomic():
            later(f"INSERT INTO {probe} (id, v) VALUES (?, ?)", (3, "sent, then rolled back"))
            assert len(values(probe)) == 2
            raise RuntimeError
        later(f"INSERT INTO {probe} (id, v) VALUES (?, ?)", (4, "after"))
    assert values(probe) == [(1, "kept"), (4, "after")]


def test_a_failing_queued_write_fails_the_transaction_at_commit(probe):
    with pytest.raises(peewee.IntegrityError), write_transaction("acct-probe"):
        later(f"INSERT INTO {probe} (id, v) VALUES (?, ?)", (1, "a"))
        later(f"INSERT INTO {probe} (id, v) VALUES (?, ?)", (1, "the same key"))
    assert values(probe) == []
    with write_transaction("acct-probe"):  # the connection is usable again
        later(f"INSERT INTO {probe} (id, v) VALUES (?, ?)", (5, "e"))
    assert values(probe) == [(5, "e")]


def test_a_transaction_that_sent_nothing_costs_no_round_trip(probe, monkeypatch):
    sent = round_trips(monkeypatch)
    with database.atomic():
        pass
    with pytest.raises(RuntimeError), database.atomic():
        raise RuntimeError
    assert sent == []
