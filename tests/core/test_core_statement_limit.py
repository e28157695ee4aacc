"""database.statement_timeout (#16): one expensive statement cannot hold a
worker. It is cut (PostgreSQL statement_timeout, SQLite progress handler),
its call answers an error that does not invite a retry, one log line says
so, and the other calls, users and requests go on."""

from __future__ import annotations

import logging
from typing import Any

import peewee
import pytest

from jmapd import hookimpl
from jmapd.db import database, is_postgres
from jmapd.methods.registry import Method

CORE = "urn:ietf:params:jmap:core"


def _spin(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    """A statement that runs for many seconds when ``heavy`` (and at once otherwise)."""
    if is_postgres():
        database.execute_sql("SELECT pg_sleep(%s)", (30 if args.get("heavy") else 0,))
    else:
        n = 200_000_000 if args.get("heavy") else 10
        database.execute_sql(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT count(*) FROM c", (n,)
        ).fetchone()
    return {"done": True}


class SpinPlugin:
    __name__ = "spin"

    @hookimpl
    def jmapd_methods(self, config: Any) -> list[Method]:
        return [Method("Test/spin", _spin, CORE)]


@pytest.fixture
def spin_server(make_server):
    return make_server({"database": {"statement_timeout": 0.2}}, [SpinPlugin()])


def test_a_statement_past_the_limit_fails_its_call_only(spin_server, caplog):
    owner, other = spin_server.client(), spin_server.client()
    assert owner.ok("Test/spin", {"heavy": False}) == {"done": True}  # the method works within the limit
    with caplog.at_level(logging.WARNING, logger="jmapd.api"):
        resp = owner.post({"using": [CORE], "methodCalls": [
            ["Test/spin", {"heavy": True}, "a"], ["Core/echo", {"still": "here"}, "b"],
        ]}).json()
    (name, err, _), echo = resp["methodResponses"]
    assert name == "error" and err["type"] == "serverFail", err
    assert "0.2 s" in err["description"] and "retry" in err["description"]
    assert echo == ["Core/echo", {"still": "here"}, "b"]
    lines = [r for r in caplog.records if "statement_timeout" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None and "Test/spin" in lines[0].getMessage()
    # The worker is free and the connection usable: the next requests, the
    # user's own and another's, are answered normally.
    assert owner.ok("Test/spin", {"heavy": False}) == {"done": True}
    assert other.ok("Core/echo", {"x": 1}) == {"x": 1}
    assert other.ok("Mailbox/get", {"ids": None}, using=[CORE, "urn:ietf:params:jmap:mail"])["list"]


def test_an_expensive_filter_is_unsupported_filter_not_retry(make_server, monkeypatch):
    """Finding 3: an OR that the database could not finish in time answered
    serverUnavailable ("database busy, retry") on SQLite."""
    import jmapd.db
    from jmapd.methods.standard.query import MAX_FILTER_NODES

    server = make_server()
    client = server.client()
    using = [CORE, "urn:ietf:params:jmap:mail"]
    terms = [{"subject": f"nomatch{n}"} for n in range(MAX_FILTER_NODES - 1)]
    query = {"filter": {"operator": "OR", "conditions": terms}}
    assert client.ok("Email/query", query, using=using)["ids"] == []  # within the default limit
    # The smallest limits each backend takes (SQLite: checked at every step).
    server.services.config.database.statement_timeout = 0.001 if is_postgres() else 1e-6
    monkeypatch.setattr(jmapd.db, "PROGRESS_STEPS", 1)
    name, err = client.call("Email/query", query, using=using)
    assert (name, err["type"]) == ("error", "unsupportedFilter"), err
    assert "time limit" in err["description"]
    server.services.config.database.statement_timeout = 10.0
    assert client.ok("Email/query", {}, using=using)["ids"] == []


def test_sqlite_leaves_write_transactions_alone(jmap_server, monkeypatch):
    """SQLite rolls back a whole transaction when one of its statements is
    interrupted (and the writer's savepoints then fail), so the handler cuts
    only statements outside one; PostgreSQL cancels any statement and the
    transaction rolls back as a whole."""
    import peewee

    import jmapd.db
    from jmapd.db import ensure_connected, statement_limit, statement_timed_out, write_transaction

    if is_postgres():
        pytest.skip("PostgreSQL cancels statements inside transactions too")
    ensure_connected()
    monkeypatch.setattr(jmapd.db, "PROGRESS_STEPS", 1)
    with statement_limit(1e-6):
        with write_transaction("statement-limit-test"):
            assert database.execute_sql("SELECT count(*) FROM (SELECT 1 UNION SELECT 2)").fetchone() == (2,)
        with pytest.raises(peewee.OperationalError) as raised:
            database.execute_sql("SELECT count(*) FROM (SELECT 1 UNION SELECT 2)").fetchone()
        assert statement_timed_out(raised.value)
    assert database.execute_sql("SELECT count(*) FROM (SELECT 1 UNION SELECT 2)").fetchone() == (2,)


def test_postgresql_timeout_holds_inside_the_limit_only(jmap_server):
    """The timeout is set on the connection lazily and kept between limited
    blocks (no SET/RESET per request), so it must still be exactly the
    limit's inside one and the server's default outside, also after a
    ROLLBACK (whole or to a savepoint) undid a SET made in a transaction."""
    from jmapd.db import ensure_connected, statement_limit, write_transaction

    if not is_postgres():
        pytest.skip("the SQLite limit is a progress handler, installed per block")
    ensure_connected()

    def timeout() -> str:
        return str(database.execute_sql("SHOW statement_timeout").fetchone()[0])

    default = timeout()
    assert default != "250ms"
    for _ in range(2):
        with statement_limit(0.25):
            assert timeout() == "250ms"
        assert timeout() == default
    # A SET made as a transaction's first statement, then rolled back.
    with statement_limit(0.25), pytest.raises(RuntimeError):
        with write_transaction("timeout-test"):
            assert timeout() == "250ms"
            raise RuntimeError
    with statement_limit(0.25):
        assert timeout() == "250ms"
    # ... and a RESET undone by a ROLLBACK TO SAVEPOINT: still no limit outside.
    with write_transaction("timeout-test"):
        savepoint = database.savepoint()
        with statement_limit(0.25):
            savepoint.__enter__()  # SAVEPOINT under the limit
        assert timeout() == default  # a RESET inside the savepoint ...
        savepoint.rollback(begin=False)  # ... undone
        assert timeout() == default
        database.execute_sql("SELECT pg_sleep(0.4)")  # would be cut under the limit
    with statement_limit(0.25):
        assert timeout() == "250ms"
        with pytest.raises(peewee.DatabaseError) as cut:
            database.execute_sql("SELECT pg_sleep(2)")
        from jmapd.db import statement_timed_out

        assert statement_timed_out(cut.value)
    assert timeout() == default
