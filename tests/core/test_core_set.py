"""/get and /set through the example plugin's Note type (RFC 8620 §5.1, §5.3)."""

import pytest


def create(client, **notes):
    return client.ok("Note/set", {"create": notes})


def test_create_reports_server_set_and_defaults(client):
    out = create(client, n1={"title": "Hello"})
    created = out["created"]["n1"]
    assert set(created) == {"id", "body", "folderId", "tags", "pinned", "meta", "attachmentBlobId", "created", "revision", "size"}
    assert created["body"] == "" and created["pinned"] is False and created["tags"] == {}
    assert created["revision"] == 1
    assert out["oldState"] != out["newState"]
    assert out["notCreated"] is None


def test_get_ids_null_properties_and_duplicates(client):
    ids = [v["id"] for v in create(client, a={"title": "A"}, b={"title": "B"})["created"].values()]
    all_ = client.ok("Note/get", {"ids": None})
    assert sorted(n["id"] for n in all_["list"]) == sorted(ids)
    assert set(all_["list"][0]) >= {"id", "title", "body", "created"}
    some = client.ok("Note/get", {"ids": [ids[0], ids[0], "nope"], "properties": ["title"]})
    assert some["list"] == [{"id": ids[0], "title": "A"}]
    assert some["notFound"] == ["nope"]
    empty = client.ok("Note/get", {"ids": []})
    assert empty["list"] == [] and empty["notFound"] == []
    name, err = client.call("Note/get", {"ids": None, "properties": ["title", "nosuch"]})
    assert (name, err["type"]) == ("error", "invalidArguments")


def test_get_too_many_ids(make_server):
    server = make_server({"limits": {"max_objects_in_get": 2}})
    client = server.client()
    name, err = client.call("Note/get", {"ids": ["a", "b", "c"]})
    assert (name, err["type"]) == ("error", "requestTooLarge")


def test_set_too_many_objects(make_server):
    server = make_server({"limits": {"max_objects_in_set": 2}})
    client = server.client()
    name, err = client.call("Note/set", {"create": {str(i): {"title": "x"} for i in range(3)}})
    assert (name, err["type"]) == ("error", "requestTooLarge")


@pytest.mark.parametrize(
    "obj, props",
    [
        ({"title": "x", "nosuch": 1}, ["nosuch"]),
        ({"title": "x", "id": "abc"}, ["id"]),
        ({"title": "x", "revision": 3}, ["revision"]),
        ({"body": "no title"}, ["title"]),
        ({"title": 5}, ["title"]),
        ({"title": "   "}, ["title"]),
        ({"title": "x", "pinned": "yes"}, ["pinned"]),
        ({"title": "x", "tags": {"a": False}}, ["tags"]),
        ({"title": "x", "folderId": "#unknowncid"}, ["folderId"]),
        ({"title": "x", "folderId": "no-such-folder"}, ["folderId"]),
        # issue #9.5: every invalid property at once (RFC 8620 §5.3)
        ({"nosuch": 1, "revision": 3, "pinned": "yes", "tags": {"a": False}}, ["nosuch", "revision", "title", "pinned", "tags"]),
        ({"title": 5, "pinned": 1, "body": None, "folderId": "#unknowncid"}, ["folderId", "title", "pinned", "body"]),
    ],
)
def test_create_invalid_properties(client, obj, props):
    out = client.ok("Note/set", {"create": {"bad": obj, "good": {"title": "fine"}}})
    err = out["notCreated"]["bad"]
    assert err["type"] == "invalidProperties"
    assert err["properties"] == props
    assert "good" in out["created"]  # one failure does not sink the others
    assert [n["title"] for n in client.ok("Note/get", {"ids": None})["list"]] == ["fine"]


def test_non_object_create(client):
    out = client.ok("Note/set", {"create": {"bad": "string"}})
    assert out["notCreated"]["bad"]["type"] == "invalidProperties"


def test_type_specific_set_errors(client):
    out = client.ok("Note/set", {"create": {
        "big": {"title": "big", "body": "x" * 100_001},
        "blob": {"title": "b", "attachmentBlobId": "Bnope"},
    }})
    assert out["notCreated"]["big"]["type"] == "tooLarge"
    assert out["notCreated"]["blob"]["type"] == "blobNotFound"
    assert out["notCreated"]["blob"]["notFound"] == ["Bnope"]


def test_creation_references_within_and_across_calls(client):
    acc = client.account_id
    out = client.request([
        ["Note/set", {"accountId": acc, "create": {"n": {"title": "in folder", "folderId": "#f"}}}, "0"],
        ["NoteFolder/set", {"accountId": acc, "create": {"f": {"name": "Work"}}}, "1"],
        ["Note/set", {"accountId": acc, "create": {"n2": {"title": "in folder", "folderId": "#f"}}}, "2"],
    ])
    r = out["methodResponses"]
    assert r[0][1]["notCreated"]["n"]["properties"] == ["folderId"]  # not created yet: no look-ahead
    folder = r[1][1]["created"]["f"]["id"]
    note = r[2][1]["created"]["n2"]["id"]
    got = client.ok("Note/get", {"ids": [note], "properties": ["folderId"]})
    assert got["list"][0]["folderId"] == folder


def test_creates_ordered_by_reference_in_one_call(client):
    # The child is listed first but references its parent: the server orders them.
    out = client.ok("NoteFolder/set", {"create": {
        "child": {"name": "Child", "parentId": "#parent"},
        "grandchild": {"name": "Grandchild", "parentId": "#child"},
        "parent": {"name": "Parent"},
    }})
    assert out["notCreated"] is None
    ids = {k: v["id"] for k, v in out["created"].items()}
    got = {f["id"]: f["parentId"] for f in client.ok("NoteFolder/get", {"ids": None})["list"]}
    assert got[ids["child"]] == ids["parent"] and got[ids["grandchild"]] == ids["child"]
    assert got[ids["parent"]] is None


def test_update_and_destroy_by_creation_id(client):
    acc = client.account_id
    out = client.request([
        ["Note/set", {"accountId": acc, "create": {"n": {"title": "t"}}}, "0"],
        ["Note/set", {"accountId": acc, "update": {"#n": {"title": "t2"}}}, "1"],
        ["Note/set", {"accountId": acc, "destroy": ["#n"]}, "2"],
    ])
    nid = out["methodResponses"][0][1]["created"]["n"]["id"]
    assert nid in out["methodResponses"][1][1]["updated"]
    assert out["methodResponses"][2][1]["destroyed"] == [nid]


def test_update_patch_three_levels(client):
    nid = create(client, n={"title": "t", "meta": {"a": {"b": {"c": 1, "d": 2}}, "keep": True}})["created"]["n"]["id"]
    out = client.ok("Note/set", {"update": {nid: {"meta/a/b/c": 10, "meta/a/b/d": None, "meta/a/e": "new", "tags/work": True}}})
    assert out["updated"] == {nid: {"revision": 2}}
    got = client.ok("Note/get", {"ids": [nid], "properties": ["meta", "tags"]})["list"][0]
    assert got["meta"] == {"a": {"b": {"c": 10}, "e": "new"}, "keep": True}
    assert got["tags"] == {"work": True}


@pytest.mark.parametrize(
    "patch",
    [
        {"meta/missing/x": 1},  # parent does not exist
        {"meta/list/0": 1},  # inside an array
        {"meta/a": 1, "meta/a/b": 2},  # one path prefixes another
        {"": 1},
        {"title/x": 1},  # parent is not an object
    ],
)
def test_invalid_patch(client, patch):
    nid = create(client, n={"title": "t", "meta": {"a": {"b": 1}, "list": [1, 2]}})["created"]["n"]["id"]
    out = client.ok("Note/set", {"update": {nid: patch}})
    assert out["notUpdated"][nid]["type"] == "invalidPatch", out
    assert client.ok("Note/get", {"ids": [nid], "properties": ["meta"]})["list"][0]["meta"] == {"a": {"b": 1}, "list": [1, 2]}


def test_update_server_set_only_if_unchanged(client):
    note = create(client, n={"title": "t"})["created"]["n"]
    nid = note["id"]
    same = client.ok("Note/set", {"update": {nid: {"revision": 1, "id": nid, "title": "t"}}})
    assert same["updated"] == {nid: None}  # re-setting unchanged values is not an error
    diff = client.ok("Note/set", {"update": {nid: {"revision": 7}}})
    assert diff["notUpdated"][nid] == {"type": "invalidProperties", "description": "server-set or immutable: revision", "properties": ["revision"]}
    bad = client.ok("Note/set", {"update": {nid: {"nosuch": 1}}})
    assert bad["notUpdated"][nid]["properties"] == ["nosuch"]
    wrong = client.ok("Note/set", {"update": {nid: {"pinned": "x"}}})
    assert wrong["notUpdated"][nid]["properties"] == ["pinned"]


def test_reset_to_default_with_null(client):
    nid = create(client, n={"title": "t", "pinned": True, "body": "b"})["created"]["n"]["id"]
    client.ok("Note/set", {"update": {nid: {"pinned": None, "body": None}}})
    got = client.ok("Note/get", {"ids": [nid]})["list"][0]
    assert got["pinned"] is False and got["body"] == ""
    out = client.ok("Note/set", {"update": {nid: {"title": None}}})
    assert out["notUpdated"][nid]["properties"] == ["title"]


def test_mixed_set_some_fail_some_succeed(client):
    ids = [v["id"] for v in create(client, a={"title": "A"}, b={"title": "B"})["created"].values()]
    out = client.ok("Note/set", {
        "create": {"ok": {"title": "C"}, "bad": {}},
        "update": {ids[0]: {"title": "A2"}, "missing": {"title": "x"}, ids[1]: {"title": "B2"}},
        "destroy": [ids[1], "missing2"],
    })
    assert set(out["created"]) == {"ok"} and set(out["notCreated"]) == {"bad"}
    assert out["updated"] == {ids[0]: {"revision": 2}}
    assert out["notUpdated"]["missing"]["type"] == "notFound"
    assert out["notUpdated"][ids[1]]["type"] == "willDestroy"
    assert out["destroyed"] == [ids[1]]
    assert out["notDestroyed"] == {"missing2": {"type": "notFound"}}
    titles = sorted(n["title"] for n in client.ok("Note/get", {"ids": None})["list"])
    assert titles == ["A2", "C"]


def test_destroy_twice_and_unknown(client):
    nid = create(client, n={"title": "t"})["created"]["n"]["id"]
    out = client.ok("Note/set", {"destroy": [nid, nid, "unknown"]})
    assert out["destroyed"] == [nid]
    assert out["notDestroyed"] == {nid: {"type": "notFound"}, "unknown": {"type": "notFound"}}


def test_destroy_refused_by_type(client):
    acc = client.account_id
    out = client.request([
        ["NoteFolder/set", {"accountId": acc, "create": {"f": {"name": "F"}}}, "0"],
        ["Note/set", {"accountId": acc, "create": {"n": {"title": "t", "folderId": "#f"}}}, "1"],
        ["NoteFolder/set", {"accountId": acc, "destroy": ["#f"]}, "2"],
    ])
    folder = out["methodResponses"][0][1]["created"]["f"]["id"]
    assert out["methodResponses"][2][1]["notDestroyed"][folder]["type"] == "folderHasNotes"


def test_if_in_state(client):
    state = client.ok("Note/get", {"ids": []})["state"]
    out = client.ok("Note/set", {"ifInState": state, "create": {"a": {"title": "x"}}})
    assert out["oldState"] == state
    name, err = client.call("Note/set", {"ifInState": state, "create": {"b": {"title": "y"}}})
    assert (name, err["type"]) == ("error", "stateMismatch")


def test_custom_method_built_on_engine(client):
    create(client, a={"title": "A"}, b={"title": "B"})
    out = client.ok("Note/pinAll", {})
    assert len(out["updated"]) == 2
    assert all(n["pinned"] for n in client.ok("Note/get", {"ids": None})["list"])


def test_read_only_account_refuses_writes(jmap_server):
    from jmapd.db import ensure_connected
    from jmapd.models import AccountAccess, User

    owner = jmap_server.client()
    reader = jmap_server.client()
    owner.ok("Note/set", {"create": {"a": {"title": "shared"}}})
    ensure_connected()
    AccountAccess.create(account=owner.account_id, user=User.get(User.name == reader.user), read_only=True)
    got = reader.ok("Note/get", {"accountId": owner.account_id, "ids": None})
    assert [n["title"] for n in got["list"]] == ["shared"]
    name, err = reader.call("Note/set", {"accountId": owner.account_id, "create": {"x": {"title": "no"}}})
    assert (name, err["type"]) == ("error", "accountReadOnly")


def test_update_lists_every_invalid_property(client):
    """Issue #9.5 for updates: server-set, bad reference and bad values together."""
    nid = client.ok("Note/set", {"create": {"n": {"title": "t"}}})["created"]["n"]["id"]
    out = client.ok("Note/set", {"update": {nid: {"revision": 9, "pinned": "no", "title": 3, "folderId": "#nocid"}}})
    err = out["notUpdated"][nid]
    assert err["type"] == "invalidProperties"
    assert sorted(err["properties"]) == ["folderId", "pinned", "revision", "title"]
    # an unknown property no longer hides the others (it was refused alone)
    out = client.ok("Note/set", {"update": {nid: {"nosuch": 1, "other/deep": 2, "pinned": "no"}}})
    assert sorted(out["notUpdated"][nid]["properties"]) == ["nosuch", "other", "pinned"]
    assert client.ok("Note/get", {"ids": [nid]})["list"][0]["title"] == "t"  # nothing half-written
