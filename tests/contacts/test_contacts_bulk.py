"""Many cards in one ContactCard/set (an import): the rows of the creations
are written together at the end (NOTE(bulk) in :mod:`jmapd.state`), so
each creation must still succeed or fail on its own — a failed one leaves
no document, index row or quota charge behind, a uid taken by an earlier
creation of the same /set is ``alreadyExists``, and an update or query
later in the request sees what was created."""

from __future__ import annotations

from typing import Any

import pytest
from jmapd_contacts.testing import USING, default_book, ok

QUOTA = "urn:ietf:params:jmap:quota"


def _card(book: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"addressBookIds": {book: True}, "name": {"full": name},
            "emails": {"e": {"address": f"{name.lower()}@bulk.example"}}, **extra}


def _emails(client: Any, text: str) -> list[str]:
    return ok(client, "ContactCard/query", {"filter": {"email": text}})["ids"]


def test_failed_creations_leave_nothing_and_uids_clash_within_one_set(client):
    book = default_book(client)
    out = ok(client, "ContactCard/set", {"create": {
        "a": _card(book, "Alma", uid="urn:uuid:bulk-1"),
        "b": _card(book, "Bert", uid="urn:uuid:bulk-1"),  # the uid "a" just took
        "c": _card(book, "Cleo", emails={"e": {"address": 7}}),  # invalid JSContact
        "d": _card(book, "Dora", uid="urn:uuid:bulk-2"),
        **{f"n{i}": _card(book, f"Nils{i}") for i in range(40)},
    }})
    created = out["created"]
    assert set(created) == {"a", "d", *(f"n{i}" for i in range(40))}
    assert out["notCreated"]["b"]["type"] == "alreadyExists"
    assert out["notCreated"]["b"]["existingId"] == created["a"]["id"]
    assert out["notCreated"]["c"]["type"] == "invalidProperties"
    # the index holds exactly the cards created: the failed ones left no row
    assert _emails(client, "bert@") == [] and _emails(client, "cleo@") == []
    assert _emails(client, "alma@") == [created["a"]["id"]]
    assert ok(client, "ContactCard/query", {"calculateTotal": True})["total"] == 42
    assert len(ok(client, "ContactCard/get", {"ids": None})["list"]) == 42
    # a later /set sees the stored uids
    again = ok(client, "ContactCard/set", {"create": {"x": _card(book, "Xena", uid="urn:uuid:bulk-2")}})
    assert again["notCreated"]["x"]["existingId"] == created["d"]["id"]


def test_update_and_destroy_in_the_same_set_see_the_creations(client):
    book = default_book(client)
    made = ok(client, "ContactCard/set", {"create": {"old": _card(book, "Olga")}})["created"]["old"]["id"]
    out = ok(client, "ContactCard/set", {
        "create": {"new": _card(book, "Nora", uid="urn:uuid:bulk-3")},
        "update": {"#new": {"name/full": "Nora B"}, made: {"uid": "urn:uuid:bulk-3"}},
        "destroy": [made],
    })
    new = out["created"]["new"]["id"]
    assert new in out["updated"] and out["destroyed"] == [made]
    assert out["notUpdated"][made]["type"] == "willDestroy"
    got = ok(client, "ContactCard/get", {"ids": [new]})["list"][0]
    assert got["name"]["full"] == "Nora B"
    assert ok(client, "ContactCard/query", {"filter": {"name": "nora b"}})["ids"] == [new]


@pytest.fixture
def quota_client(make_server):
    return make_server({"quota": {"counts": {"ContactCard": 3}}}).client()


def _used(client: Any) -> int:
    quotas = client.ok("Quota/get", {"accountId": client.account_id, "ids": None}, [*USING, QUOTA])["list"]
    return int(next(q for q in quotas if q["id"] == "count-ContactCard")["used"])


def test_count_quota_refuses_cards_past_the_limit_with_nothing_half_written(quota_client):
    client = quota_client
    book = default_book(client)
    out = ok(client, "ContactCard/set", {"create": {f"c{i}": _card(book, f"Quinn{i}") for i in range(5)}})
    assert sorted(out["created"]) == ["c0", "c1", "c2"]
    assert [e["type"] for e in out["notCreated"].values()] == ["overQuota", "overQuota"]
    assert _emails(client, "quinn3@") == [] and _emails(client, "quinn4@") == []
    assert ok(client, "ContactCard/query", {"calculateTotal": True})["total"] == 3
    assert len(ok(client, "ContactCard/get", {"ids": None})["list"]) == 3
    assert _used(client) == 3
    # a destroy gives the room back; the next /set may use it, and no more
    ok(client, "ContactCard/set", {"destroy": [out["created"]["c0"]["id"]]})
    assert _used(client) == 2
    out = ok(client, "ContactCard/set", {"create": {"x": _card(book, "Xavi"), "y": _card(book, "Yuki")}})
    assert list(out["created"]) == ["x"] and out["notCreated"]["y"]["type"] == "overQuota"
    assert _used(client) == 3


PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="


def _savepoints(caplog: Any, client: Any, create: dict[str, Any]) -> int:
    caplog.clear()
    with caplog.at_level("DEBUG", logger="peewee"):
        out = ok(client, "ContactCard/set", {"create": create})
    assert not out["notCreated"], out["notCreated"]
    return sum("SAVEPOINT" in r.getMessage() and "RELEASE" not in r.getMessage() for r in caplog.records)


def test_creations_buffer_everything_so_they_need_no_savepoint(client, caplog):
    """create_needs_savepoint: a card is written only at the end of the /set,
    so its create skips SAVEPOINT/RELEASE; one with a data: photo, whose blob
    is stored at once, keeps its savepoint."""
    book = default_book(client)
    plain = {f"p{i}": _card(book, f"Plain{i}") for i in range(5)}
    assert _savepoints(caplog, client, plain) == 0
    photo = {"f": _card(book, "Foto", media={"m": {"kind": "photo", "uri": PNG}})}
    assert _savepoints(caplog, client, photo) == 1


def test_after_an_import_the_planner_knows_every_table_it_filled(client):
    """PostgreSQL: with an empty table's statistics the planner read all of
    an account's cards for a ContactCard/get of 50 (bench/contacts.py); the
    import's analyze() renews them for each table it wrote."""
    from jmapd_contacts.index import analyze, uid_holders

    from jmapd.db import database, ensure_connected, is_postgres

    book = default_book(client)
    made = ok(client, "ContactCard/set", {"create": {
        f"c{i}": _card(book, f"Stats{i}", uid=f"urn:uuid:stats-{i}") for i in range(3)}})["created"]
    ensure_connected()
    assert uid_holders(client.account_id, ["urn:uuid:stats-0", "urn:uuid:stats-2", "urn:uuid:none"]) == {
        "urn:uuid:stats-0": made["c0"]["id"], "urn:uuid:stats-2": made["c2"]["id"]}
    if not is_postgres():
        return
    analyze()
    for table in ("jmap_document", "jmap_change", "contacts_card_index", "contacts_card_book"):
        (estimate,) = database.execute_sql("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()
        (count,) = database.execute_sql(f'SELECT count(*) FROM "{table}"').fetchone()
        assert estimate == count, table


def test_a_uid_whose_creation_was_rolled_back_is_free_again(make_server):
    """A creation refused after its rows were buffered (over the storage
    quota) leaves no trace for the uid check of the next one in the /set."""
    client = make_server({"quota": {"storage": 4000}}).client()
    book = default_book(client)
    out = ok(client, "ContactCard/set", {"create": {
        "a": _card(book, "Ann", uid="urn:uuid:roll-a"),
        "big": _card(book, "Big", uid="urn:uuid:roll-same", notes={"n": {"note": "x" * 6000}}),
        "small": _card(book, "Small", uid="urn:uuid:roll-same"),
        "again": _card(book, "Again", uid="urn:uuid:roll-a")}})
    assert out["notCreated"]["big"]["type"] == "overQuota", out
    assert "small" in out["created"], out
    assert out["notCreated"]["again"]["type"] == "alreadyExists"
    assert out["notCreated"]["again"]["existingId"] == out["created"]["a"]["id"]
