"""Quotas (RFC 9425) over real HTTP: limits from config and per account,
overQuota with nothing written, exact usage under concurrent writers,
Quota/get|changes|query|queryChanges, uploads refused when full."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the Board/Card test plugin lives beside us
from test_core_sharing import BOARDS, BoardsPlugin  # noqa: E402

from jmapd.testing import Conformance, TypeSpec  # noqa: E402

QUOTA = "urn:ietf:params:jmap:quota"
USING = ["urn:ietf:params:jmap:core", BOARDS, QUOTA]


@pytest.fixture(scope="module")
def server(jmapd_database, jmapd_data_dir):
    from jmapd.testing import start_server

    srv = start_server({"quota": {"counts": {"Card": 5}, "soft_percent": 95}}, jmapd_data_dir, jmapd_database,
                       [BoardsPlugin()])
    yield srv
    srv.stop()


def ok(client, method, args, using=USING):
    args = {"accountId": client.account_id, **args}
    name, response, _ = client.request([[method, args, "c0"]], using)["methodResponses"][0]
    assert name != "error", f"{method}: {response}"
    return response


def board(client):
    return ok(client, "Board/set", {"create": {"b": {"name": "b"}}})["created"]["b"]["id"]


def set_storage(client, octets):
    from jmapd import quota
    from jmapd.db import ensure_connected, write_transaction
    from jmapd.state import ChangeLog

    ensure_connected()
    log = ChangeLog()
    with write_transaction(client.account_id):
        quota.set_limit(log, client.account_id, "octets", "", octets)
        log.flush()


def test_count_limit_is_enforced_and_used_is_exact(server):
    client = server.client()
    b = board(client)
    got = ok(client, "Quota/get", {"ids": None})
    assert [q["id"] for q in got["list"]] == ["count-Card"]
    q = got["list"][0]
    assert q == {"id": "count-Card", "resourceType": "count", "used": 0, "hardLimit": 5, "warnLimit": 4,
                 "softLimit": 4, "scope": "account", "name": "Card objects", "types": ["Card"],
                 "description": "How many Card objects this account may hold."}
    state = got["state"]
    out = ok(client, "Card/set", {"create": {f"c{i}": {"boardId": b, "text": "x"} for i in range(7)}})
    assert len(out["created"]) == 5
    assert [e["type"] for e in out["notCreated"].values()] == ["overQuota", "overQuota"]
    assert len(ok(client, "Card/get", {"ids": None})["list"]) == 5  # nothing half-written
    assert ok(client, "Quota/get", {"ids": ["count-Card"]})["list"][0]["used"] == 5
    changes = ok(client, "Quota/changes", {"sinceState": state})
    assert changes["updated"] == ["count-Card"] and changes["updatedProperties"] == ["used"]
    ok(client, "Card/set", {"destroy": [c["id"] for c in list(out["created"].values())[:2]]})
    assert ok(client, "Quota/get", {"ids": ["count-Card"], "properties": ["used"]})["list"] == [
        {"id": "count-Card", "used": 3}]
    # the Quota of a type the client does not use is not shown (RFC 9425 §4)
    assert ok(client, "Quota/get", {"ids": None}, ["urn:ietf:params:jmap:core", QUOTA])["list"] == []


def test_storage_limit_uploads_and_blob_upload(server):
    client = server.client()
    b = board(client)
    set_storage(client, 400)
    quotas = {q["id"]: q for q in ok(client, "Quota/get", {"ids": None})["list"]}
    assert quotas["storage"]["hardLimit"] == 400 and quotas["storage"]["types"] == ["Card"]
    out = ok(client, "Card/set", {"create": {"big": {"boardId": b, "text": "x" * 500}, "small": {"boardId": b}}})
    assert out["notCreated"]["big"]["type"] == "overQuota" and "small" in out["created"]
    used = ok(client, "Quota/get", {"ids": ["storage"]})["list"][0]["used"]
    assert 0 < used < 400
    # an update that grows past the limit fails and leaves the old value
    card = out["created"]["small"]["id"]
    out = ok(client, "Card/set", {"update": {card: {"text": "y" * 500}}})
    assert out["notUpdated"][card]["type"] == "overQuota"
    assert ok(client, "Card/get", {"ids": [card]})["list"][0]["text"] == ""
    resp = client.http.post(f"/jmap/upload/{client.account_id}", content=b"z" * 1000)
    assert resp.status_code == 413 and resp.json()["type"] == "urn:ietf:params:jmap:error:overQuota"
    assert client.http.post(f"/jmap/upload/{client.account_id}", content=b"z" * 10).status_code == 201
    out = ok(client, "Blob/upload", {"create": {"u": {"data": [{"data:asText": "z" * 1000}]}}},
             USING + ["urn:ietf:params:jmap:blob"])
    assert out["notCreated"]["u"]["type"] == "overQuota"


def test_eight_concurrent_writers_never_pass_the_limit(server):
    client = server.client()
    b = board(client)
    clients = [server.client(client.user, client.password) for _ in range(8)]
    results: list[dict] = []
    lock = threading.Lock()

    def writer(c):
        out = ok(c, "Card/set", {"create": {f"c{i}": {"boardId": b, "text": "w"} for i in range(3)}})
        with lock:
            results.append(out)

    threads = [threading.Thread(target=writer, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = sum(len(r["created"] or {}) for r in results)
    refused = [e["type"] for r in results for e in (r["notCreated"] or {}).values()]
    assert created == 5 and refused == ["overQuota"] * 19
    assert len(ok(client, "Card/get", {"ids": None})["list"]) == 5
    assert ok(client, "Quota/get", {"ids": ["count-Card"]})["list"][0]["used"] == 5


def test_query_and_query_changes(server):
    client = server.client()
    set_storage(client, 10_000)
    got = ok(client, "Quota/query", {"sort": [{"property": "name"}]})
    assert got["ids"] == ["count-Card", "storage"]
    assert ok(client, "Quota/query", {"filter": {"resourceType": "octets"}})["ids"] == ["storage"]
    assert ok(client, "Quota/query", {"filter": {"type": "Card", "scope": "account", "name": "stor"}})["ids"] == ["storage"]
    state = got["queryState"]
    b = board(client)
    ok(client, "Card/set", {"create": {"c": {"boardId": b}}})
    qc = ok(client, "Quota/queryChanges", {"sinceQueryState": state, "sort": [{"property": "used"}]})
    assert {a["id"] for a in qc["added"]} == {"count-Card", "storage"}


def test_parse_size():
    from jmapd import quota

    assert quota.parse_size("5GiB") == 5 * 1024**3
    assert quota.parse_size("100MB") == 100_000_000
    assert quota.parse_size("512") == 512
    with pytest.raises(ValueError):
        quota.parse_size("lots")


@pytest.fixture
def quota_client(server):
    """A user with two quotas: Card objects (config) and storage (operator)."""
    client = server.client()
    set_storage(client, 10_000_000)
    return client


class TestQuotaConformance(Conformance):
    spec = TypeSpec(
        "Quota",
        QUOTA,
        verbs=frozenset({"get", "changes", "query", "queryChanges"}),
        using=(BOARDS,),
        existing=lambda c: [q["id"] for q in ok(c, "Quota/get", {"ids": None})["list"]],
        filters=[],
        sorts=["name", "used"],
        other_change=board,
        client_fixture="quota_client",
    )
