"""/changes, /query, /queryChanges and /copy (RFC 8620 §5.2, §5.4–5.6)."""

import datetime

import pytest


def ids_of(client, **notes):
    out = client.ok("Note/set", {"create": notes})
    return {k: v["id"] for k, v in out["created"].items()}


def state(client, type_="Note"):
    return client.ok(f"{type_}/get", {"ids": []})["state"]


def test_changes_created_updated_destroyed(client):
    s0 = state(client)
    ids = ids_of(client, a={"title": "a"}, b={"title": "b"}, c={"title": "c"})
    s1 = state(client)
    client.ok("Note/set", {"update": {ids["a"]: {"title": "a2"}}, "destroy": [ids["b"]]})
    out = client.ok("Note/changes", {"sinceState": s0})
    # b created and destroyed since s0: omitted; a created+updated: created only
    assert sorted(out["created"]) == sorted([ids["a"], ids["c"]])
    assert out["updated"] == [] and out["destroyed"] == []
    assert out["oldState"] == s0 and out["hasMoreChanges"] is False
    assert out["newState"] == state(client)
    out = client.ok("Note/changes", {"sinceState": s1})
    assert out["created"] == [] and out["updated"] == [ids["a"]] and out["destroyed"] == [ids["b"]]
    same = client.ok("Note/changes", {"sinceState": out["newState"]})
    assert same["created"] == same["updated"] == same["destroyed"] == []
    assert same["newState"] == out["newState"]


def test_changes_max_changes_pages_through_intermediate_states(client):
    s0 = state(client)
    ids = list(ids_of(client, **{f"n{i}": {"title": str(i)} for i in range(5)}).values())
    client.ok("Note/set", {"update": {ids[0]: {"title": "again"}}})
    seen, since, rounds = [], s0, 0
    while True:
        out = client.ok("Note/changes", {"sinceState": since, "maxChanges": 2})
        assert len(out["created"]) + len(out["updated"]) + len(out["destroyed"]) <= 2
        seen += out["created"] + out["updated"]
        since = out["newState"]
        rounds += 1
        if not out["hasMoreChanges"]:
            break
    assert rounds == 3
    assert sorted(set(seen)) == sorted(ids)
    assert since == state(client)


@pytest.mark.parametrize("bad", [0, -1, "2", 1.5])
def test_changes_bad_max_changes(client, bad):
    name, err = client.call("Note/changes", {"sinceState": "0", "maxChanges": bad})
    assert (name, err["type"]) == ("error", "invalidArguments")


@pytest.mark.parametrize("since", ["garbage", "99999999999", "-1"])
def test_changes_unknown_state(client, since):
    name, err = client.call("Note/changes", {"sinceState": since})
    assert (name, err["type"]) == ("error", "cannotCalculateChanges")


def test_changes_across_pruning(client):
    from jmapd.db import ensure_connected
    from jmapd.state import prune_before

    s0 = state(client)
    ids = ids_of(client, a={"title": "a"})
    s1 = state(client)
    ensure_connected()
    prune_before(datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(seconds=5), client.account_id)
    name, err = client.call("Note/changes", {"sinceState": s0})
    assert (name, err["type"]) == ("error", "cannotCalculateChanges")
    client.ok("Note/set", {"update": {ids["a"]: {"title": "b"}}})
    out = client.ok("Note/changes", {"sinceState": s1})  # from the low-water mark on, still fine
    assert out["updated"] == [ids["a"]]


def test_query_filters_sorts_and_windows(client):
    ids = ids_of(
        client,
        a={"title": "apple", "pinned": True, "tags": {"fruit": True}},
        b={"title": "Banana", "tags": {"fruit": True}},
        c={"title": "cherry pie", "body": "dessert"},
        d={"title": "date", "pinned": True},
    )
    q = lambda **kw: client.ok("Note/query", kw)  # noqa: E731
    assert q(sort=[{"property": "title"}])["ids"] == [ids["a"], ids["b"], ids["c"], ids["d"]]
    assert q(sort=[{"property": "title", "collation": "i;octet"}])["ids"][0] == ids["b"]  # "B" < "a" in octets
    assert q(sort=[{"property": "title", "isAscending": False}])["ids"][0] == ids["d"]
    assert q(sort=[{"property": "pinned", "isAscending": False}, {"property": "title"}])["ids"] == [ids["a"], ids["d"], ids["b"], ids["c"]]
    assert set(q(filter={"pinned": True})["ids"]) == {ids["a"], ids["d"]}
    assert q(filter={"operator": "AND", "conditions": [{"hasTag": "fruit"}, {"pinned": True}]})["ids"] == [ids["a"]]
    assert set(q(filter={"operator": "OR", "conditions": [{"text": "dessert"}, {"text": "DATE"}]})["ids"]) == {ids["c"], ids["d"]}
    assert set(q(filter={"operator": "NOT", "conditions": [{"hasTag": "fruit"}]})["ids"]) == {ids["c"], ids["d"]}
    sort = [{"property": "title"}]
    page = q(sort=sort, position=1, limit=2, calculateTotal=True)
    assert page["ids"] == [ids["b"], ids["c"]] and page["position"] == 1 and page["total"] == 4
    assert "total" not in q(sort=sort)
    assert q(sort=sort, position=-1)["ids"] == [ids["d"]]
    assert q(sort=sort, position=-10)["position"] == 0
    assert q(sort=sort, position=10)["ids"] == []
    anchored = q(sort=sort, anchor=ids["c"], anchorOffset=-1, limit=2)
    assert anchored["ids"] == [ids["b"], ids["c"]] and anchored["position"] == 1
    assert q(sort=sort, anchor=ids["a"], anchorOffset=-5)["position"] == 0
    out = q(sort=sort)
    assert out["canCalculateChanges"] is True and out["queryState"]


@pytest.mark.parametrize(
    "args, error",
    [
        ({"filter": {"nosuch": 1}}, "unsupportedFilter"),
        ({"filter": {"operator": "XOR", "conditions": []}}, "invalidArguments"),
        ({"filter": {"operator": "AND"}}, "invalidArguments"),
        ({"filter": {"pinned": "yes"}}, "invalidArguments"),
        ({"filter": "x"}, "invalidArguments"),
        ({"sort": [{"property": "body"}]}, "unsupportedSort"),
        ({"sort": [{"property": "title", "collation": "i;klingon"}]}, "unsupportedSort"),
        ({"sort": [{"isAscending": True}]}, "invalidArguments"),
        ({"limit": -1}, "invalidArguments"),
        ({"anchor": "nosuch"}, "anchorNotFound"),
    ],
)
def test_query_errors(client, args, error):
    name, err = client.call("Note/query", args)
    assert (name, err["type"]) == ("error", error)


def test_query_limit_clamped(make_server):
    server = make_server({"limits": {"max_query_limit": 2}})
    client = server.client()
    ids_of(client, a={"title": "a"}, b={"title": "b"}, c={"title": "c"})
    out = client.ok("Note/query", {"limit": 10})
    assert len(out["ids"]) == 2 and out["limit"] == 2


def test_query_changes(client):
    ids = ids_of(client, a={"title": "a"}, b={"title": "b"}, c={"title": "c"})
    sort = [{"property": "title"}]
    first = client.ok("Note/query", {"sort": sort, "filter": {"pinned": False}})
    new = ids_of(client, aa={"title": "aa"})
    client.ok("Note/set", {"update": {ids["b"]: {"pinned": True}}, "destroy": [ids["c"]]})
    out = client.ok("Note/queryChanges", {"sort": sort, "filter": {"pinned": False}, "sinceQueryState": first["queryState"], "calculateTotal": True})
    assert out["oldQueryState"] == first["queryState"]
    assert out["newQueryState"] == client.ok("Note/query", {"sort": sort})["queryState"]
    assert set(out["removed"]) == {ids["b"], ids["c"]}
    assert out["added"] == [{"id": new["aa"], "index": 1}]
    assert out["total"] == 2
    # applying the RFC's splice algorithm gives the new results
    cached = list(first["ids"])
    cached = [i for i in cached if i not in out["removed"]]
    for item in out["added"]:
        cached.insert(item["index"], item["id"])
    assert cached == client.ok("Note/query", {"sort": sort, "filter": {"pinned": False}})["ids"]
    name, err = client.call("Note/queryChanges", {"sort": sort, "filter": {"pinned": False}, "sinceQueryState": first["queryState"], "maxChanges": 1})
    assert (name, err["type"]) == ("error", "tooManyChanges")
    name, err = client.call("Note/queryChanges", {"sinceQueryState": "bogus"})
    assert (name, err["type"]) == ("error", "cannotCalculateChanges")


def _share(owner, user, read_only=False):
    from jmapd.db import ensure_connected
    from jmapd.models import AccountAccess, User

    ensure_connected()
    AccountAccess.create(account=owner.account_id, user=User.get(User.name == user.user), read_only=read_only)


def test_copy_between_accounts(jmap_server):
    alice, bob = jmap_server.client(), jmap_server.client()
    _share(bob, alice)
    src = ids_of(alice, a={"title": "copy me", "body": "text", "pinned": True})
    out = alice.ok("Note/copy", {
        "fromAccountId": alice.account_id, "accountId": bob.account_id,
        "create": {"c1": {"id": src["a"], "title": "copied"}, "c2": {"id": "nosuch"}},
    })
    assert out["fromAccountId"] == alice.account_id and out["accountId"] == bob.account_id
    new_id = out["created"]["c1"]["id"]
    assert new_id != src["a"]
    assert out["notCreated"]["c2"]["type"] == "notFound"
    got = bob.ok("Note/get", {"ids": [new_id]})["list"][0]
    assert (got["title"], got["body"], got["pinned"]) == ("copied", "text", True)
    assert alice.ok("Note/get", {"ids": [src["a"]]})["list"]  # original kept


def test_copy_on_success_destroy_original(jmap_server):
    alice, bob = jmap_server.client(), jmap_server.client()
    _share(bob, alice)
    src = ids_of(alice, a={"title": "move me"})
    out = alice.request([["Note/copy", {
        "fromAccountId": alice.account_id, "accountId": bob.account_id,
        "create": {"m": {"id": src["a"]}}, "onSuccessDestroyOriginal": True,
    }, "0"]])
    names = [r[0] for r in out["methodResponses"]]
    assert names == ["Note/copy", "Note/set"]
    assert out["methodResponses"][1][1]["destroyed"] == [src["a"]]
    assert alice.ok("Note/get", {"ids": [src["a"]]})["notFound"] == [src["a"]]


def test_copy_errors(jmap_server):
    alice, bob = jmap_server.client(), jmap_server.client()
    name, err = alice.call("Note/copy", {"fromAccountId": "nosuch", "accountId": alice.account_id, "create": {}})
    assert (name, err["type"]) == ("error", "fromAccountNotFound")
    name, err = alice.call("Note/copy", {"fromAccountId": alice.account_id, "accountId": bob.account_id, "create": {}})
    assert (name, err["type"]) == ("error", "accountNotFound")  # bob's account is not shared with alice
    name, err = alice.call("Note/copy", {"fromAccountId": alice.account_id, "accountId": alice.account_id, "create": {}})
    assert (name, err["type"]) == ("error", "invalidArguments")
    _share(bob, alice, read_only=True)
    name, err = alice.call("Note/copy", {"fromAccountId": alice.account_id, "accountId": bob.account_id, "create": {}})
    assert (name, err["type"]) == ("error", "accountReadOnly")
    _share(alice, bob)
    name, err = bob.call("Note/copy", {"fromAccountId": alice.account_id, "ifFromInState": "12345678", "accountId": bob.account_id, "create": {}})
    assert (name, err["type"]) == ("error", "stateMismatch")
