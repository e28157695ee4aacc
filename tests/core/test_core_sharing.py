"""The core sharing mechanism over real HTTP: a shareable container type
(Board) and its items (Card) that check rights through jmapd.sharing,
Principals, ShareNotifications, delegation and the session (RFC 9670)."""

from __future__ import annotations

from typing import Any

import pytest

from jmapd import hookimpl
from jmapd.builtin.blob import BLOB
from jmapd.methods.documents import DocumentType
from jmapd.methods.registry import Capability
from jmapd.methods.types import P
from jmapd.protocol.envelope import CORE
from jmapd.sharing import Sharing, access
from jmapd.testing import Conformance, TypeSpec

BOARDS = "urn:example:boards"
PRINCIPALS = "urn:ietf:params:jmap:principals"
USING = ["urn:ietf:params:jmap:core", BOARDS, PRINCIPALS]


class Board(DocumentType):
    name = "Board"
    capability = BOARDS
    id_prefix = "b"
    properties = {"name": P("String", required=True), "isSubscribed": P("Boolean", default=True)}
    filters = {"name": "String"}
    predicates = {"name": lambda obj, v: v in obj["name"]}
    sharing = Sharing(rights=("mayRead", "mayWrite", "mayShare", "mayDelete"), update="mayWrite", upload=("mayWrite",))


class Card(DocumentType):
    """Items in a Board: rights on the Board apply to its Cards."""

    name = "Card"
    capability = BOARDS
    id_prefix = "c"
    properties = {"boardId": P("Id", required=True), "text": P("String", default="")}
    quota_resources = frozenset({"count", "octets"})

    def load(self, ctx: Any, account_id: str, ids: Any, properties: Any, args: Any) -> dict[str, Any]:
        found = super().load(ctx, account_id, ids, properties, args)
        acc = access(ctx, account_id)
        readable = acc.with_right("Board", "mayRead")
        return {k: v for k, v in found.items() if readable is None or v["boardId"] in readable}

    def validate(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        acc = access(ctx, account_id)
        for board in {obj["boardId"], (old or obj)["boardId"]}:
            acc.require("Board", board, "mayWrite")

    def check_destroy(self, ctx: Any, account_id: str, obj: dict[str, Any], args: Any) -> None:
        access(ctx, account_id).require("Board", obj["boardId"], "mayWrite")


class BoardsPlugin:
    @hookimpl
    def jmapd_capabilities(self, config: Any) -> list[Capability]:
        return [Capability(BOARDS, account={})]

    @hookimpl
    def jmapd_data_types(self, config: Any) -> list[Any]:
        return [Board(config), Card(config)]


@pytest.fixture(scope="module")
def server(jmapd_database, jmapd_data_dir):
    from jmapd.testing import start_server

    srv = start_server({}, jmapd_data_dir, jmapd_database, [BoardsPlugin()])
    yield srv
    srv.stop()


def call(client, method: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    result = client.request([[method, args, "c0"]], USING)
    name, response, _ = result["methodResponses"][0]
    return name, response


def ok(client, method: str, args: dict[str, Any]) -> dict[str, Any]:
    name, response = call(client, method, args)
    assert name != "error", f"{method}: {response}"
    return response


def principal_id(client) -> str:
    return client.session["accounts"][client.account_id]["accountCapabilities"][PRINCIPALS]["currentUserPrincipalId"]


def fresh(client):
    client._session = None
    return client


@pytest.fixture
def pair(server):
    owner, sharee = server.client(), server.client()
    board = ok(owner, "Board/set", {"accountId": owner.account_id, "create": {"b": {"name": "Team"}}})["created"]["b"]
    secret = ok(owner, "Board/set", {"accountId": owner.account_id, "create": {"s": {"name": "Secret"}}})["created"]["s"]
    cards = ok(owner, "Card/set", {"accountId": owner.account_id, "create": {
        "c1": {"boardId": board["id"], "text": "shared card"},
        "c2": {"boardId": secret["id"], "text": "secret card"},
    }})["created"]
    return owner, sharee, board["id"], secret["id"], cards["c1"]["id"], cards["c2"]["id"]


def share(owner, board_id: str, pid: str, **rights: bool) -> dict[str, Any]:
    return ok(owner, "Board/set", {"accountId": owner.account_id, "update": {board_id: {f"shareWith/{pid}": rights}}})


def test_owner_sees_all_rights_and_share_with(pair):
    owner, sharee, board, *_ = pair
    got = ok(owner, "Board/get", {"accountId": owner.account_id, "ids": [board]})["list"][0]
    assert got["myRights"] == {"mayRead": True, "mayWrite": True, "mayShare": True, "mayDelete": True}
    assert got["shareWith"] is None
    share(owner, board, principal_id(sharee), mayRead=True)
    got = ok(owner, "Board/get", {"accountId": owner.account_id, "ids": [board]})["list"][0]
    assert got["shareWith"] == {principal_id(sharee): {"mayRead": True, "mayWrite": False, "mayShare": False, "mayDelete": False}}


def test_sharee_sees_only_what_is_shared(pair, server):
    owner, sharee, board, secret, card, secret_card = pair
    assert owner.account_id not in fresh(sharee).session["accounts"]
    assert call(sharee, "Board/get", {"accountId": owner.account_id, "ids": None})[1]["type"] == "accountNotFound"
    share(owner, board, principal_id(sharee), mayRead=True)
    account = fresh(sharee).session["accounts"][owner.account_id]
    assert account["isPersonal"] is False and account["isReadOnly"] is False
    assert account["accountCapabilities"]["urn:ietf:params:jmap:principals:owner"] == {
        "accountIdForPrincipal": sharee.account_id, "principalId": principal_id(owner)}
    assert PRINCIPALS not in account["accountCapabilities"]
    got = ok(sharee, "Board/get", {"accountId": owner.account_id, "ids": None})
    assert [b["id"] for b in got["list"]] == [board]
    assert got["list"][0]["myRights"] == {"mayRead": True, "mayWrite": False, "mayShare": False, "mayDelete": False}
    assert got["list"][0]["shareWith"] is None  # only those with mayShare see it
    by_id = ok(sharee, "Board/get", {"accountId": owner.account_id, "ids": [secret]})
    assert by_id["notFound"] == [secret] and by_id["list"] == []
    assert ok(sharee, "Board/query", {"accountId": owner.account_id})["ids"] == [board]
    cards = ok(sharee, "Card/get", {"accountId": owner.account_id, "ids": [card, secret_card]})
    assert [c["id"] for c in cards["list"]] == [card] and cards["notFound"] == [secret_card]
    # nothing but the shareable capabilities and blobs (each opened by an
    # object they may read: none here), no capability-less methods
    shareable = {dt.capability for dt in server.services.registry.data_types.values() if dt.sharing is not None}
    own = fresh(owner).session["accounts"][owner.account_id]["accountCapabilities"]
    assert BOARDS in shareable and set(own) - shareable - {PRINCIPALS, "urn:ietf:params:jmap:principals:owner", BLOB}
    assert set(account["accountCapabilities"]) == shareable | {"urn:ietf:params:jmap:principals:owner", BLOB}
    blob = owner.upload(b"owner's private bytes")["blobId"]
    assert sharee.http.get(f"/jmap/download/{owner.account_id}/{blob}/x").status_code == 404
    assert owner.http.get(f"/jmap/download/{owner.account_id}/{blob}/x").status_code == 200
    refused = sharee.http.post(f"/jmap/upload/{owner.account_id}", content=b"x")  # mayRead lets them upload nothing
    assert refused.status_code == 403 and refused.json()["type"] == "urn:ietf:params:jmap:error:forbidden"
    blob_args = {"accountId": owner.account_id, "ids": [blob]}
    assert sharee.ok("Blob/get", blob_args, [CORE, BLOB])["notFound"] == [blob]
    assert sharee.ok("Blob/lookup", {**blob_args, "typeNames": ["Card"]}, [CORE, BLOB])["notFound"] == [blob]
    name, err = sharee.call("Blob/upload", {"accountId": owner.account_id, "create": {"u": {"data": [
        {"blobId": blob}]}}}, [CORE, BLOB])
    assert (name, err["type"]) == ("error", "forbidden")
    copied = ok(sharee, "Blob/copy", {"fromAccountId": owner.account_id, "accountId": sharee.account_id,
                                      "blobIds": [blob]})
    assert copied["copied"] is None and copied["notCopied"][blob]["type"] == "notFound"
    mine = sharee.upload(b"the sharee's bytes")["blobId"]
    name, err = call(sharee, "Blob/copy", {"fromAccountId": sharee.account_id, "accountId": owner.account_id,
                                          "blobIds": [mine]})
    assert (name, err["type"]) == ("error", "forbidden")  # a reader stores no blob there


def test_read_only_sharee_cannot_write(pair):
    owner, sharee, board, secret, card, _ = pair
    share(owner, board, principal_id(sharee), mayRead=True)
    fresh(sharee)
    out = ok(sharee, "Board/set", {"accountId": owner.account_id, "update": {board: {"name": "mine"}},
                                    "create": {"n": {"name": "new"}}})
    assert out["notUpdated"][board]["type"] == "forbidden"
    assert out["notCreated"]["n"]["type"] == "forbidden"
    out = ok(sharee, "Board/set", {"accountId": owner.account_id, "destroy": [board]})
    assert out["notDestroyed"][board]["type"] == "forbidden"
    out = ok(sharee, "Card/set", {"accountId": owner.account_id, "update": {card: {"text": "x"}},
                                   "create": {"c": {"boardId": board, "text": "new"}}})
    assert out["notUpdated"][card]["type"] == "forbidden" and out["notCreated"]["c"]["type"] == "forbidden"
    # nothing was written
    assert ok(owner, "Board/get", {"accountId": owner.account_id, "ids": [board]})["list"][0]["name"] == "Team"
    assert len(ok(owner, "Card/get", {"accountId": owner.account_id, "ids": None})["list"]) == 2
    # the secret board cannot be reached at all
    out = ok(sharee, "Board/set", {"accountId": owner.account_id, "update": {secret: {"name": "x"}}})
    assert out["notUpdated"][secret]["type"] == "notFound"


def test_writer_writes_items_and_renames(pair):
    owner, sharee, board, _, card, _ = pair
    share(owner, board, principal_id(sharee), mayRead=True, mayWrite=True)
    fresh(sharee)
    out = ok(sharee, "Card/set", {"accountId": owner.account_id, "update": {card: {"text": "edited"}}})
    assert out["updated"] == {card: None}
    out = ok(sharee, "Board/set", {"accountId": owner.account_id, "update": {board: {"name": "Renamed"}}})
    assert board in out["updated"]
    assert ok(owner, "Card/get", {"accountId": owner.account_id, "ids": [card]})["list"][0]["text"] == "edited"


def test_sharee_cannot_escalate(pair, server):
    owner, sharee, board, *_ = pair
    third = server.client()
    me = principal_id(sharee)
    share(owner, board, me, mayRead=True, mayShare=True)
    fresh(sharee)
    # not their own rights
    out = ok(sharee, "Board/set", {"accountId": owner.account_id, "update": {board: {f"shareWith/{me}/mayWrite": True}}})
    assert out["notUpdated"][board]["type"] == "forbidden"
    # not rights they lack, to anyone
    out = ok(sharee, "Board/set", {"accountId": owner.account_id, "update": {
        board: {f"shareWith/{principal_id(third)}": {"mayRead": True, "mayWrite": True}}}})
    assert out["notUpdated"][board]["type"] == "forbidden"
    # rights they hold, they may pass on
    out = ok(sharee, "Board/set", {"accountId": owner.account_id, "update": {
        board: {f"shareWith/{principal_id(third)}": {"mayRead": True}}}})
    assert board in out["updated"]
    got = ok(owner, "Board/get", {"accountId": owner.account_id, "ids": [board]})["list"][0]["shareWith"]
    assert got[me]["mayWrite"] is False and got[principal_id(third)]["mayRead"] is True
    # without mayShare, shareWith cannot be touched at all
    other = server.client()
    share(owner, board, principal_id(other), mayRead=True, mayWrite=True)
    out = ok(fresh(other), "Board/set", {"accountId": owner.account_id, "update": {
        board: {f"shareWith/{principal_id(other)}/mayShare": True}}})
    assert out["notUpdated"][board]["type"] == "forbidden"


def test_share_with_rejects_bad_entries(pair):
    owner, sharee, board, *_ = pair
    args = {"accountId": owner.account_id}
    for bad, path in [
        ({"Pnobody": {"mayRead": True}}, "shareWith/Pnobody"),
        ({principal_id(owner): {"mayRead": True}}, f"shareWith/{principal_id(owner)}"),
        ({principal_id(sharee): {"mayFly": True}}, f"shareWith/{principal_id(sharee)}/mayFly"),
        ({principal_id(sharee): {"mayRead": "yes"}}, f"shareWith/{principal_id(sharee)}"),
    ]:
        out = ok(owner, "Board/set", {**args, "update": {board: {"shareWith": bad}}})
        assert out["notUpdated"][board]["type"] == "invalidProperties", bad
        assert out["notUpdated"][board]["properties"] == [path]


def test_per_user_is_subscribed(pair):
    owner, sharee, board, *_ = pair
    share(owner, board, principal_id(sharee), mayRead=True)
    fresh(sharee)
    out = ok(sharee, "Board/set", {"accountId": owner.account_id, "update": {board: {"isSubscribed": False}}})
    assert board in out["updated"]
    assert ok(sharee, "Board/get", {"accountId": owner.account_id, "ids": [board]})["list"][0]["isSubscribed"] is False
    assert ok(owner, "Board/get", {"accountId": owner.account_id, "ids": [board]})["list"][0]["isSubscribed"] is True


def test_revoke_hides_and_reports_destroyed(pair):
    owner, sharee, board, *_ = pair
    pid = principal_id(sharee)
    share(owner, board, pid, mayRead=True)
    fresh(sharee)
    state = ok(sharee, "Board/get", {"accountId": owner.account_id, "ids": []})["state"]
    ok(owner, "Board/set", {"accountId": owner.account_id, "update": {board: {f"shareWith/{pid}": None}}})
    assert owner.account_id not in fresh(sharee).session["accounts"]
    share(owner, board, pid, mayRead=True)
    ok(owner, "Board/set", {"accountId": owner.account_id, "update": {board: {"name": "again"}}})
    changes = ok(fresh(sharee), "Board/changes", {"accountId": owner.account_id, "sinceState": state})
    assert changes["updated"] == [board]
    state = changes["newState"]
    # rights that no longer include mayRead hide the board: /changes reports it destroyed
    ok(owner, "Board/set", {"accountId": owner.account_id, "update": {
        board: {f"shareWith/{pid}": {"mayRead": False, "mayWrite": True}}}})
    changes = ok(fresh(sharee), "Board/changes", {"accountId": owner.account_id, "sinceState": state})
    assert changes["destroyed"] == [board] and changes["updated"] == []
    assert ok(sharee, "Board/get", {"accountId": owner.account_id, "ids": [board]})["notFound"] == [board]


def test_share_notifications(pair):
    owner, sharee, board, *_ = pair
    pid = principal_id(sharee)
    state = ok(sharee, "ShareNotification/get", {"accountId": sharee.account_id, "ids": []})["state"]
    share(owner, board, pid, mayRead=True)
    share(owner, board, pid, mayRead=True, mayWrite=True)
    ok(owner, "Board/set", {"accountId": owner.account_id, "update": {board: {"shareWith": None}}})
    changes = ok(sharee, "ShareNotification/changes", {"accountId": sharee.account_id, "sinceState": state})
    assert len(changes["created"]) == 3
    ids = ok(sharee, "ShareNotification/query", {"accountId": sharee.account_id,
                                                  "filter": {"objectAccountId": owner.account_id},
                                                  "sort": [{"property": "created"}]})["ids"]
    notes = ok(sharee, "ShareNotification/get", {"accountId": sharee.account_id, "ids": ids})["list"]
    assert len(notes) == 3
    by_new = sorted(notes, key=lambda n: (n["oldRights"] is not None, n["newRights"] is None))
    first = by_new[0]
    assert first["oldRights"] is None and first["newRights"]["mayRead"] is True
    assert first["objectType"] == "Board" and first["objectId"] == board and first["name"] == "Team"
    assert first["changedBy"] == {"name": owner.user, "email": None, "principalId": principal_id(owner)}
    assert any(n["newRights"] is None and n["oldRights"]["mayWrite"] for n in notes)
    # only destroy is allowed
    out = ok(sharee, "ShareNotification/set", {"accountId": sharee.account_id, "create": {"n": {}},
                                                "update": {ids[0]: {"name": "x"}}, "destroy": [ids[1]]})
    assert out["notCreated"]["n"]["type"] == "forbidden"
    assert out["notUpdated"][ids[0]]["type"] == "forbidden"
    assert out["destroyed"] == [ids[1]]
    # the owner got none
    assert ok(owner, "ShareNotification/query", {"accountId": owner.account_id})["ids"] == []


def test_principals(server):
    alice, bob = server.client(), server.client()
    me = principal_id(alice)
    got = ok(alice, "Principal/get", {"accountId": alice.account_id, "ids": [me, principal_id(bob)]})["list"]
    mine = next(p for p in got if p["id"] == me)
    assert mine["type"] == "individual" and mine["name"] == alice.user
    assert list(mine["accounts"]) == [alice.account_id]
    assert next(p for p in got if p["id"] != me)["accounts"] is None
    found = ok(alice, "Principal/query", {"accountId": alice.account_id, "filter": {"name": bob.user}})["ids"]
    assert found == [principal_id(bob)]
    found = ok(alice, "Principal/query", {"accountId": alice.account_id,
                                          "filter": {"accountIds": [alice.account_id]}})["ids"]
    assert found == [me]
    assert ok(alice, "Principal/query", {"accountId": alice.account_id,
                                         "filter": {"text": bob.user, "type": "group"}})["ids"] == []
    state = ok(alice, "Principal/get", {"accountId": alice.account_id, "ids": []})["state"]
    out = ok(alice, "Principal/set", {"accountId": alice.account_id, "update": {
        me: {"description": "me", "timeZone": "Europe/Paris"},
        principal_id(bob): {"name": "evil"},
    }, "create": {"x": {"name": "new"}}})
    assert me in out["updated"]
    assert out["notUpdated"][principal_id(bob)]["type"] == "forbidden"
    assert out["notCreated"]["x"]["type"] == "forbidden"
    out = ok(alice, "Principal/set", {"accountId": alice.account_id, "destroy": [me]})
    assert out["notDestroyed"][me]["type"] == "forbidden"
    out = ok(alice, "Principal/set", {"accountId": alice.account_id, "update": {me: {"type": "group"}}})
    assert out["notUpdated"][me]["type"] == "forbidden"
    changes = ok(bob, "Principal/changes", {"accountId": bob.account_id, "sinceState": state})
    assert changes["updated"] == [me]
    qc = ok(bob, "Principal/queryChanges", {"accountId": bob.account_id, "sinceQueryState": state,
                                            "filter": {"name": alice.user}})
    assert qc["added"] == [{"id": me, "index": 0}]


def test_group_share_reaches_members(server, pair):
    from jmapd.db import database, ensure_connected
    from jmapd.models import GroupMember
    from jmapd.sharing import create_principal

    owner, sharee, board, *_ = pair
    ensure_connected()
    with database.obj.atomic():
        group = create_principal("group", "team")
        GroupMember.insert(group=group, member=principal_id(sharee)).execute()
    share(owner, board, group, mayRead=True)
    got = ok(fresh(sharee), "Board/get", {"accountId": owner.account_id, "ids": None})["list"]
    assert [b["id"] for b in got] == [board]
    notes = ok(sharee, "ShareNotification/query", {"accountId": sharee.account_id,
                                                    "filter": {"objectType": "Board"}})["ids"]
    assert len(notes) == 1
    GroupMember.delete().where(GroupMember.group == group).execute()
    assert owner.account_id not in fresh(sharee).session["accounts"]


def test_share_through_nested_groups_and_a_cycle(server, pair):
    """The principal's groups are walked in SQL (jmapd.auth): through a group
    in a group, around a membership cycle, and a removed link revokes the
    share on the very next request."""
    from jmapd.db import database, ensure_connected
    from jmapd.models import GroupMember
    from jmapd.sharing import create_principal, groups_of

    owner, sharee, board, *_ = pair
    ensure_connected()
    with database.obj.atomic():
        inner = create_principal("group", "inner")
        outer = create_principal("group", "outer")
        GroupMember.insert(group=inner, member=principal_id(sharee)).execute()
        GroupMember.insert(group=outer, member=inner).execute()
        GroupMember.insert(group=inner, member=outer).execute()  # a cycle
    share(owner, board, outer, mayRead=True)
    reader = fresh(sharee)
    assert owner.account_id in reader.session["accounts"]
    assert [b["id"] for b in ok(reader, "Board/get", {"accountId": owner.account_id, "ids": None})["list"]] == [board]
    assert groups_of(principal_id(sharee)) == sorted([inner, outer])
    GroupMember.delete().where((GroupMember.group == outer) & (GroupMember.member == inner)).execute()
    name, err = call(reader, "Board/get", {"accountId": owner.account_id, "ids": None})
    assert (name, err["type"]) == ("error", "accountNotFound")
    assert owner.account_id not in fresh(sharee).session["accounts"]


def test_delegation_read_and_write(server):
    from jmapd.db import database, ensure_connected
    from jmapd.models import User
    from jmapd.sharing import delegate, undelegate

    owner, reader = server.client(), server.client()
    board = ok(owner, "Board/set", {"accountId": owner.account_id, "create": {"b": {"name": "All"}}})["created"]["b"]["id"]
    ensure_connected()
    with database.obj.atomic():
        delegate(owner.account_id, User.get(User.name == reader.user).id, "read")
    account = fresh(reader).session["accounts"][owner.account_id]
    assert account["isReadOnly"] is True and account["isPersonal"] is False
    got = ok(reader, "Board/get", {"accountId": owner.account_id, "ids": None})["list"]
    assert got[0]["myRights"] == {"mayRead": True, "mayWrite": False, "mayShare": False, "mayDelete": False}
    name, err = call(reader, "Board/set", {"accountId": owner.account_id, "update": {board: {"name": "x"}}})
    assert (name, err["type"]) == ("error", "accountReadOnly")
    with database.obj.atomic():
        delegate(owner.account_id, User.get(User.name == reader.user).id, "write")
    assert fresh(reader).session["accounts"][owner.account_id]["isReadOnly"] is False
    out = ok(reader, "Board/set", {"accountId": owner.account_id, "update": {board: {"name": "x"}}})
    assert board in out["updated"]
    with database.obj.atomic():
        assert undelegate(owner.account_id, User.get(User.name == reader.user).id)
    assert owner.account_id not in fresh(reader).session["accounts"]


# -- the conformance kit on a shareable type and on ShareNotification ------------------------
def _board(client):
    return {"name": "kit board"}


def _share_notifications(client):
    """Another user shares a board with the client, widens the rights and takes
    them back: three ShareNotifications in the client's account."""
    owner = client.server.client()
    board = ok(owner, "Board/set", {"accountId": owner.account_id, "create": {"b": _board(owner)}})["created"]["b"]["id"]
    pid = principal_id(client)
    share(owner, board, pid, mayRead=True)
    share(owner, board, pid, mayRead=True, mayWrite=True)
    ok(owner, "Board/set", {"accountId": owner.account_id, "update": {board: {"shareWith": None}}})
    return ok(client, "ShareNotification/query", {"accountId": client.account_id})["ids"]


@pytest.fixture
def board_client(server):
    return server.client()


class TestBoardConformance(Conformance):
    spec = TypeSpec(
        "Board",
        BOARDS,
        using=(PRINCIPALS,),
        create=_board,
        invalid={"name": 5, "isSubscribed": "yes"},
        invalid_properties=["name", "isSubscribed"],
        patch={"name": "renamed", "isSubscribed": False},
        patched={"name": "renamed", "isSubscribed": False},
        read_only={"myRights": {"mayRead": False}, "id": "other"},
        filters=[({"name": "kit"}, True), ({"name": "nomatch"}, False)],
        other_change=lambda c: c.ok("Note/set", {"create": {"n": {"title": "other type"}}},
                                    ["urn:ietf:params:jmap:core", "urn:example:notes"]),
        client_fixture="board_client",
    )


class TestShareNotificationConformance(Conformance):
    spec = TypeSpec(
        "ShareNotification",
        PRINCIPALS,
        existing=_share_notifications,
        forbidden=frozenset({"create", "update"}),
        filters=[({"objectType": "Board"}, True), ({"objectType": "Mailbox"}, False)],
        sorts=["created"],
        other_change=lambda c: c.ok("Note/set", {"create": {"n": {"title": "other type"}}},
                                    ["urn:ietf:params:jmap:core", "urn:example:notes"]),
        client_fixture="board_client",
    )
