"""ContactCard/get, /changes, /set, /copy over real HTTP (RFC 9610 §3)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from jmapd_contacts.testing import USING, books, call, default_book, download, ok, principal_id

EXAMPLES = json.loads((Path(__file__).parent / "domain" / "data" / "rfc9553_examples.json").read_text())["examples"]
BLOB = "urn:ietf:params:jmap:blob"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def card(book: str, **extra: Any) -> dict[str, Any]:
    return {"addressBookIds": {book: True}, "name": {"components": [
        {"kind": "given", "value": "Joe"}, {"kind": "surname", "value": "Bloggs"}], "isOrdered": True},
        "emails": {"0": {"contexts": {"private": True}, "address": "joe.bloggs@example.com"}}, **extra}


def create(client: Any, obj: dict[str, Any]) -> dict[str, Any]:
    response = ok(client, "ContactCard/set", {"create": {"c": obj}})
    assert response["created"], response["notCreated"]
    return response["created"]["c"]


def get(client: Any, card_id: str, **args: Any) -> dict[str, Any]:
    return ok(client, "ContactCard/get", {"ids": [card_id], **args})["list"][0]


def test_rfc_example_card_round_trips_with_server_set_members(client):
    """RFC 9610 §4.1's card, created without @type/version/uid: the server fills them in."""
    book = default_book(client)
    created = create(client, card(book))
    assert created["@type"] == "Card" and created["version"] == "2.0" and created["uid"].startswith("urn:uuid:")
    assert created["created"] == created["updated"]
    got = get(client, created["id"])
    assert got == {**card(book), "id": created["id"], "@type": "Card", "version": "2.0", "uid": created["uid"],
                   "created": created["created"], "updated": created["updated"]}
    assert ok(client, "ContactCard/changes", {"sinceState": "0"})["created"] == [created["id"]]
    some = get(client, created["id"], properties=["name", "nicknames"])
    assert some == {"id": created["id"], "name": got["name"], "nicknames": None}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e["section"])
def test_every_rfc9553_example_is_stored_verbatim(client, example):
    """Users complain of fields silently dropped: every member of every RFC 9553 example comes back."""
    obj = example["json"]
    if "@type" in obj and obj["@type"] != "Card":
        pytest.skip("not a Card")
    book = default_book(client)
    whole = {"@type": "Card", "version": "1.0", "uid": f"urn:uuid:{abs(hash(example['section']))}", **obj,
             "addressBookIds": {book: True}}
    whole.pop("id", None)
    media = whole.get("media") or {}
    if any(str(m.get("uri", "")).startswith("data:") for m in media.values()):
        pytest.skip("data: media become blobs (tested separately)")
    created = create(client, whole)
    got = get(client, created["id"])
    for key, value in whole.items():
        assert got[key] == value, key


def test_vendor_and_unknown_properties_are_kept(client):
    book = default_book(client)
    extra = {"example.com:crm": {"score": 7, "tags": ["a"]}, "futureProperty": [1, 2],
             "vCardProps": [["x-custom", {}, "unknown", "kept"]],
             "emails": {"e": {"address": "a@example.com", "example.com:verified": True}}}
    created = create(client, card(book, **extra))
    got = get(client, created["id"])
    for key, value in extra.items():
        assert got[key] == value
    ok(client, "ContactCard/set", {"update": {created["id"]: {"example.com:crm/score": 8}}})
    for name in ("extra", "bad name", "trailing:"):
        err = ok(client, "ContactCard/set", {"create": {"c": card(book, **{name: 1})}})["notCreated"]["c"]
        assert err["type"] == "invalidProperties" and err["properties"] == [name], name
    assert get(client, created["id"])["example.com:crm"] == {"score": 8, "tags": ["a"]}


def test_invalid_cards_name_every_bad_path(client):
    book = default_book(client)
    bad = card(book, kind=5, emails={"e": {"address": ""}}, phones={"bad id!": {"number": "1"}},
               name={"components": [{"kind": "given"}]})
    err = ok(client, "ContactCard/set", {"create": {"c": bad}})["notCreated"]["c"]
    assert err["type"] == "invalidProperties"
    assert {"kind", "emails/e/address", "name/components/0/value"} <= set(err["properties"]), err
    assert any(p.startswith("phones") for p in err["properties"]), err
    for obj, prop in ((card("bNoSuchBook"), "addressBookIds/bNoSuchBook"), ({**card(book), "addressBookIds": {}},
                      "addressBookIds"), ({**card(book), "@type": "Group"}, "@type")):
        err = ok(client, "ContactCard/set", {"create": {"c": obj}})["notCreated"]["c"]
        assert err["type"] == "invalidProperties" and prop in err["properties"], (prop, err)


def test_uid_is_unique_per_account(client):
    book = default_book(client)
    first = create(client, card(book, uid="urn:uuid:same"))
    err = ok(client, "ContactCard/set", {"create": {"c": card(book, uid="urn:uuid:same")}})["notCreated"]["c"]
    assert err["type"] == "alreadyExists" and err["existingId"] == first["id"] and err["properties"] == ["uid"]
    other = create(client, card(book, uid="urn:uuid:other"))
    err = ok(client, "ContactCard/set", {"update": {other["id"]: {"uid": "urn:uuid:same"}}})["notUpdated"][other["id"]]
    assert err["type"] == "alreadyExists"
    assert ok(client, "ContactCard/set", {"update": {first["id"]: {"uid": "urn:uuid:same", "kind": "org"}}})[
        "updated"]  # its own uid is no clash


def test_update_maintains_updated_and_keeps_uid(client):
    book = default_book(client)
    made = create(client, card(book, created="2020-01-01T00:00:00Z", updated="2020-01-01T00:00:00Z"))
    assert made["created"] == "2020-01-01T00:00:00Z"
    response = ok(client, "ContactCard/set", {"update": {made["id"]: {"nicknames": {"n": {"name": "JB"}},
                                                                      "uid": None}}})
    server = response["updated"][made["id"]]
    assert server["updated"] > "2020-01-01T00:00:00Z"
    got = get(client, made["id"])
    assert got["uid"] == made["uid"] and got["created"] == "2020-01-01T00:00:00Z"
    assert got["nicknames"] == {"n": {"name": "JB"}} and got["updated"] == server["updated"]


def test_address_book_has_contents_and_remove_contents(client):
    books(client)
    made = ok(client, "AddressBook/set", {"create": {"a": {"name": "A"}, "b": {"name": "B"}}})["created"]
    a, b = made["a"]["id"], made["b"]["id"]
    only = create(client, card(a))["id"]
    both = create(client, {**card(a), "addressBookIds": {a: True, b: True}})["id"]
    refused = ok(client, "AddressBook/set", {"destroy": [a]})["notDestroyed"][a]
    assert refused["type"] == "addressBookHasContents"
    state = ok(client, "ContactCard/get", {"ids": []})["state"]
    assert ok(client, "AddressBook/set", {"destroy": [a], "onDestroyRemoveContents": True})["destroyed"] == [a]
    got = ok(client, "ContactCard/get", {"ids": [only, both]})
    assert got["notFound"] == [only] and got["list"][0]["addressBookIds"] == {b: True}
    changes = ok(client, "ContactCard/changes", {"sinceState": state})
    assert changes["destroyed"] == [only] and changes["updated"] == [both]
    assert ok(client, "ContactCard/query", {"filter": {"inAddressBook": b}})["ids"] == [both]
    assert ok(client, "ContactCard/query", {"filter": {"inAddressBook": a}})["ids"] == []


def test_max_address_books_per_card(client):
    books(client)
    made = ok(client, "AddressBook/set", {"create": {str(i): {"name": f"B{i}"} for i in range(11)}})["created"]
    many = {m["id"]: True for m in made.values()}
    err = ok(client, "ContactCard/set", {"create": {"c": {**card("x"), "addressBookIds": many}}})["notCreated"]["c"]
    assert err["type"] == "invalidProperties" and err["properties"] == ["addressBookIds"]


def test_photo_blobs_and_data_uris(client):
    book = default_book(client)
    photo = client.upload(PNG, "image/png")["blobId"]
    text = client.upload(b"not an image", "image/png")["blobId"]
    first = create(client, card(book, media={"p": {"kind": "photo", "blobId": photo, "mediaType": "image/png"}}))
    assert get(client, first["id"])["media"]["p"] == {"kind": "photo", "blobId": photo, "mediaType": "image/png"}
    for media, path in (({"kind": "photo", "blobId": text}, "media/p/blobId"),
                        ({"kind": "photo", "blobId": "Gnone"}, "media/p/blobId"),
                        ({"kind": "photo", "uri": "data:image/png;base64," + base64.b64encode(b"GIF? no").decode()},
                         "media/p/uri")):
        err = ok(client, "ContactCard/set", {"create": {"c": card(book, media={"p": media})}})["notCreated"]["c"]
        assert err["type"] == "invalidProperties" and path in err["properties"], (media, err)
    sound = create(client, card(book, media={"s": {"kind": "sound", "blobId": text}}))
    assert get(client, sound["id"])["media"]["s"]["blobId"] == text  # only photos and logos must be images
    inline = "data:image/png;base64," + base64.b64encode(PNG).decode()
    made = ok(client, "ContactCard/set", {"create": {"c": card(book, media={"p": {"kind": "photo", "uri": inline}})}})
    created = made["created"]["c"]
    assert created["media"]["p"] == {"kind": "photo", "blobId": photo, "mediaType": "image/png"}
    assert "uri" not in get(client, created["id"])["media"]["p"]
    assert download(client, photo).content == PNG
    found = client.ok("Blob/lookup", {"typeNames": ["ContactCard"], "ids": [photo]}, [*USING, BLOB])["list"][0]["matchedIds"]
    assert set(found["ContactCard"]) == {first["id"], created["id"]}
    ok(client, "ContactCard/set", {"destroy": [first["id"]]})
    found = client.ok("Blob/lookup", {"typeNames": ["ContactCard"], "ids": [photo]}, [*USING, BLOB])["list"][0]["matchedIds"]
    assert found["ContactCard"] == [created["id"]]


def test_copy_between_accounts(jmap_server):
    owner, sharee = jmap_server.client(), jmap_server.client()
    theirs = ok(owner, "AddressBook/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
    ok(owner, "AddressBook/set", {"update": {theirs: {f"shareWith/{principal_id(sharee)}": {
        "mayRead": True, "mayWrite": True}}}})
    mine = default_book(sharee)
    source = create(sharee, card(mine, nicknames={"n": {"name": "Joey"}}))
    sharee._session = None
    response = sharee.ok("ContactCard/copy", {"fromAccountId": sharee.account_id, "accountId": owner.account_id,
                                              "create": {"x": {"id": source["id"], "addressBookIds": {theirs: True}}}},
                         USING)
    copy = response["created"]["x"]
    got = get(owner, copy["id"])
    assert got["nicknames"] == {"n": {"name": "Joey"}} and got["uid"] == source["uid"]
    assert got["addressBookIds"] == {theirs: True}


def test_copy_carries_photos_into_the_other_account(jmap_server):
    """A copied card's photo blob is stored in the target account (as an
    inline photo would be), both ways between a sharee and a shared book."""
    owner, sharee = jmap_server.client(), jmap_server.client()
    theirs = ok(owner, "AddressBook/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
    ok(owner, "AddressBook/set", {"update": {theirs: {f"shareWith/{principal_id(sharee)}": {
        "mayRead": True, "mayWrite": True}}}})
    mine = default_book(sharee)
    owners_photo = owner.upload(PNG, "image/png")["blobId"]
    sharees_photo = sharee.upload(PNG + b"mine", "image/png")["blobId"]
    theirs_card = create(owner, card(theirs, media={"p": {"kind": "photo", "blobId": owners_photo,
                                                          "mediaType": "image/png"}}))
    mine_card = create(sharee, card(mine, media={"p": {"kind": "photo", "blobId": sharees_photo,
                                                       "mediaType": "image/png"}}))
    sharee._session = None
    into_mine = sharee.ok("ContactCard/copy", {"fromAccountId": owner.account_id, "accountId": sharee.account_id,
                                               "create": {"x": {"id": theirs_card["id"],
                                                                "addressBookIds": {mine: True}}}}, USING)
    copied = get(sharee, into_mine["created"]["x"]["id"])["media"]["p"]
    assert copied == {"kind": "photo", "blobId": owners_photo, "mediaType": "image/png"}, into_mine
    assert download(sharee, owners_photo).content == PNG  # now in the sharee's own account
    into_theirs = sharee.ok("ContactCard/copy", {"fromAccountId": sharee.account_id, "accountId": owner.account_id,
                                                 "create": {"y": {"id": mine_card["id"],
                                                                  "addressBookIds": {theirs: True}}}}, USING)
    copied = get(owner, into_theirs["created"]["y"]["id"])["media"]["p"]
    assert copied["blobId"] == sharees_photo and download(owner, sharees_photo).content == PNG + b"mine"


def test_sharee_reads_and_writes_by_book_rights(jmap_server):
    owner, sharee = jmap_server.client(), jmap_server.client()
    made = ok(owner, "AddressBook/set", {"create": {"s": {"name": "Shared"}, "p": {"name": "Private"}}})["created"]
    shared, private = made["s"]["id"], made["p"]["id"]
    cards = ok(owner, "ContactCard/set", {"create": {"s": card(shared), "p": card(private)}})["created"]
    s, p = cards["s"]["id"], cards["p"]["id"]
    ok(owner, "AddressBook/set", {"update": {shared: {f"shareWith/{principal_id(sharee)}": {"mayRead": True}}}})
    sharee._session = None
    args = {"accountId": owner.account_id}
    got = sharee.ok("ContactCard/get", {**args, "ids": [s, p]}, USING)
    assert [c["id"] for c in got["list"]] == [s] and got["notFound"] == [p]
    assert sharee.ok("ContactCard/query", {**args, "filter": {"email": "bloggs"}}, USING)["ids"] == [s]
    assert sharee.ok("ContactCard/query", {**args}, USING)["ids"] == [s]
    refused = sharee.ok("ContactCard/set", {**args, "update": {s: {"kind": "org"}}}, USING)
    assert refused["notUpdated"][s]["type"] == "forbidden"
    refused = sharee.ok("ContactCard/set", {**args, "create": {"x": card(shared)}}, USING)
    assert refused["notCreated"]["x"]["type"] == "forbidden"
    ok(owner, "AddressBook/set", {"update": {shared: {f"shareWith/{principal_id(sharee)}": {
        "mayRead": True, "mayWrite": True}}}})
    assert s in sharee.ok("ContactCard/set", {**args, "update": {s: {"kind": "org"}}}, USING)["updated"]
    moved = sharee.ok("ContactCard/set", {**args, "update": {s: {"addressBookIds": {private: True}}}}, USING)
    assert moved["notUpdated"][s]["type"] == "forbidden"  # no mayWrite on the book it would move to
    assert get(owner, s)["kind"] == "org"
    name, _ = call(sharee, "ContactCard/get", {"ids": [s]})  # the sharee's own account does not have it
    assert sharee.ok("ContactCard/get", {"ids": [s]}, USING)["notFound"] == [s]


def test_card_and_address_book_faults_in_one_error(client):
    """#9.5: a bad card member and an unknown address book were two errors in turn."""
    book = default_book(client)
    before = ok(client, "ContactCard/query", {})["ids"]
    obj = {**card(book), "addressBookIds": {book: True, "bNoSuchBook": True}, "kind": 5,
           "emails": {"e": {"address": ""}}}
    err = ok(client, "ContactCard/set", {"create": {"c": obj}})["notCreated"]["c"]
    assert err["type"] == "invalidProperties"
    assert {"addressBookIds/bNoSuchBook", "kind", "emails/e/address"} <= set(err["properties"]), err
    assert ok(client, "ContactCard/query", {})["ids"] == before
