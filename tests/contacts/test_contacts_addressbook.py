"""AddressBook/get, /changes, /set over real HTTP (RFC 9610 §2)."""

from __future__ import annotations

from jmapd_contacts.testing import CONTACTS, USING, books, call, ok, principal_id


def test_capability_carries_the_rfc_account_fields(client):
    assert client.session["capabilities"][CONTACTS] == {}
    account = client.session["accounts"][client.account_id]["accountCapabilities"][CONTACTS]
    assert set(account) == {"maxAddressBooksPerCard", "mayCreateAddressBook"}
    assert account["mayCreateAddressBook"] is True and account["maxAddressBooksPerCard"] >= 1


def test_rfc_example_fetching_initial_data_shape(client):
    """RFC 9610 §4.1: the AddressBook/get response carries exactly these properties."""
    first = books(client)
    assert len(first) == 1
    book = first[0]
    assert set(book) == {"id", "name", "description", "sortOrder", "isDefault", "isSubscribed", "shareWith",
                         "myRights"}
    assert book["isDefault"] is True and book["name"] == "Personal" and book["description"] is None
    assert book["sortOrder"] == 0 and book["isSubscribed"] is True and book["shareWith"] is None
    assert book["myRights"] == {"mayRead": True, "mayWrite": True, "mayShare": True, "mayDelete": True}
    assert books(client) == first  # not made twice
    assert ok(client, "AddressBook/changes", {"sinceState": "0"})["created"] == [book["id"]]


def test_create_defaults_and_invalid_values(client):
    books(client)
    created = ok(client, "AddressBook/set", {"create": {
        "a": {"name": "Autosaved", "sortOrder": 1}, "b": {"name": "Work", "description": "office"}}})["created"]
    assert created["a"]["isDefault"] is False
    got = {b["id"]: b for b in books(client)}
    auto = got[created["a"]["id"]]
    assert (auto["name"], auto["sortOrder"], auto["description"], auto["isSubscribed"]) == ("Autosaved", 1, None, True)
    assert got[created["b"]["id"]]["description"] == "office"
    for prop, value in {"name": "", "sortOrder": 2**31, "description": 5, "isSubscribed": "yes"}.items():
        err = ok(client, "AddressBook/set", {"create": {"c": {"name": "x", prop: value}}})["notCreated"]["c"]
        assert err["type"] == "invalidProperties" and prop in err["properties"], (prop, err)
    long = ok(client, "AddressBook/set", {"create": {"c": {"name": "é" * 128}}})["notCreated"]["c"]
    assert long["properties"] == ["name"]
    assert ok(client, "AddressBook/set", {"create": {"c": {"name": "é" * 127}}})["created"]
    refused = ok(client, "AddressBook/set", {"create": {"c": {"name": "n", "isDefault": True}}})["notCreated"]["c"]
    assert refused["type"] == "invalidProperties" and refused["properties"] == ["isDefault"]
    name, err = call(client, "AddressBook/set", {"onDestroyRemoveContents": "yes"})
    assert (name, err["type"]) == ("error", "invalidArguments")
    name, err = call(client, "AddressBook/set", {"onDestroyRemoveEvents": True})
    assert (name, err["type"]) == ("error", "invalidArguments")


def test_rfc_example_changing_the_default_address_book(client):
    """RFC 9610 §4.2: onSuccessSetIsDefault alone reports both books in updated."""
    personal = books(client)[0]["id"]
    auto = ok(client, "AddressBook/set", {"create": {"a": {"name": "Autosaved", "sortOrder": 1}}})["created"]["a"]["id"]
    response = ok(client, "AddressBook/set", {"onSuccessSetIsDefault": auto})
    assert response["updated"] == {auto: {"isDefault": True}, personal: {"isDefault": False}}
    assert {b["id"]: b["isDefault"] for b in books(client)} == {personal: False, auto: True}
    changes = ok(client, "AddressBook/changes", {"sinceState": response["oldState"]})
    assert set(changes["updated"]) == {auto, personal} and changes["newState"] == response["newState"]


def test_on_success_set_is_default_with_creation_id_and_ignored_on_failure(client):
    old = books(client)[0]["id"]
    response = ok(client, "AddressBook/set", {"create": {"n": {"name": "New"}, "bad": {"name": ""}},
                                               "onSuccessSetIsDefault": "#n"})
    assert response["notCreated"]["bad"]["type"] == "invalidProperties"
    assert response["created"]["n"]["isDefault"] is False and response["updated"] is None
    assert ok(client, "AddressBook/set", {"onSuccessSetIsDefault": "bNoSuchBook"})["updated"] is None
    response = ok(client, "AddressBook/set", {"create": {"m": {"name": "Newer"}}, "onSuccessSetIsDefault": "#m"})
    new = response["created"]["m"]["id"]
    assert response["created"]["m"]["isDefault"] is True and response["updated"] == {old: {"isDefault": False}}
    assert [b["id"] for b in books(client) if b["isDefault"]] == [new]


def test_destroy(client):
    books(client)
    bid = ok(client, "AddressBook/set", {"create": {"x": {"name": "Gone"}}})["created"]["x"]["id"]
    assert ok(client, "AddressBook/set", {"destroy": [bid]})["destroyed"] == [bid]
    assert ok(client, "AddressBook/get", {"ids": [bid]})["notFound"] == [bid]


def test_shared_address_book_between_two_users(jmap_server):
    owner, sharee = jmap_server.client(), jmap_server.client()
    book = ok(owner, "AddressBook/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
    private = ok(owner, "AddressBook/set", {"create": {"p": {"name": "Private"}}})["created"]["p"]["id"]
    ok(owner, "AddressBook/set", {"update": {book: {f"shareWith/{principal_id(sharee)}": {"mayRead": True}}}})
    sharee._session = None
    assert CONTACTS in sharee.session["accounts"][owner.account_id]["accountCapabilities"]
    args = {"accountId": owner.account_id}
    got = sharee.ok("AddressBook/get", {**args, "ids": None}, USING)["list"]
    assert [b["id"] for b in got] == [book]  # no default made in someone else's account, private unseen
    assert got[0]["myRights"] == {"mayRead": True, "mayWrite": False, "mayShare": False, "mayDelete": False}
    assert sharee.ok("AddressBook/get", {**args, "ids": [private]}, USING)["notFound"] == [private]
    shared = ok(owner, "AddressBook/get", {"ids": [book]})["list"][0]["shareWith"]
    assert shared == {principal_id(sharee): {"mayRead": True, "mayWrite": False, "mayShare": False,
                                             "mayDelete": False}}
    # isSubscribed is false in a shared account until the sharee sets their own; the owner's stays.
    assert got[0]["isSubscribed"] is False
    assert book in sharee.ok("AddressBook/set", {**args, "update": {book: {"isSubscribed": True}}}, USING)["updated"]
    assert sharee.ok("AddressBook/get", {**args, "ids": [book]}, USING)["list"][0]["isSubscribed"] is True
    ok(owner, "AddressBook/set", {"update": {book: {"isSubscribed": False}}})
    assert sharee.ok("AddressBook/get", {**args, "ids": [book]}, USING)["list"][0]["isSubscribed"] is True
    assert book in sharee.ok("AddressBook/set", {**args, "update": {book: {"isSubscribed": False}}}, USING)["updated"]
    assert sharee.ok("AddressBook/get", {**args, "ids": [book]}, USING)["list"][0]["isSubscribed"] is False
    ok(owner, "AddressBook/set", {"update": {book: {"isSubscribed": True}}})
    assert ok(owner, "AddressBook/get", {"ids": [book]})["list"][0]["isSubscribed"] is True
    for update in ({"name": "Mine"}, {f"shareWith/{principal_id(owner)}": {"mayRead": True}}):
        refused = sharee.ok("AddressBook/set", {**args, "update": {book: update}}, USING)
        assert refused["notUpdated"][book]["type"] == "forbidden", update
    assert sharee.ok("AddressBook/set", {**args, "destroy": [book]}, USING)["notDestroyed"][book]["type"] == "forbidden"
    refused = sharee.ok("AddressBook/set", {**args, "create": {"x": {"name": "Sneaky"}}}, USING)
    assert refused["notCreated"]["x"]["type"] == "forbidden"
