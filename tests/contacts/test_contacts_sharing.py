"""A sharee of one address book learns nothing of the owner's other books.

ContactCard/changes, ContactCard/queryChanges and AddressBook/changes must
not name cards or books the sharee cannot read, not even as ``destroyed``
(the ids of unshared objects would leak); what the sharee could read and
then lost (a card leaving the shared book, destroyed in it, the book's
share revoked) must still be reported destroyed. Downloads of a card's
vCard or photo open to a sharee who may read a book the card is in, and
only those.
"""

from __future__ import annotations

from typing import Any

from jmapd_contacts.testing import USING, default_book, download, ok, principal_id

BLOB_USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:blob"]

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def _card(book: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"addressBookIds": {book: True}, "name": {"full": name}, **extra}


def _setup(jmap_server: Any) -> tuple[Any, Any, dict[str, str], dict[str, Any]]:
    owner, sharee = jmap_server.client(), jmap_server.client()
    made = ok(owner, "AddressBook/set", {"create": {"team": {"name": "Team"}, "other": {"name": "Other"},
                                                     "private": {"name": "Private"}}})["created"]
    ids = {k: v["id"] for k, v in made.items()}
    me = principal_id(sharee)
    ok(owner, "AddressBook/set", {"update": {ids["team"]: {f"shareWith/{me}": {"mayRead": True}},
                                             ids["other"]: {f"shareWith/{me}": {"mayRead": True}}}})
    sharee._session = None
    return owner, sharee, ids, {"accountId": owner.account_id}


def _changes(client: Any, method: str, args: dict[str, Any], since: str) -> dict[str, Any]:
    return client.ok(method, {**args, "sinceState": since}, USING)


def test_card_changes_name_only_cards_of_readable_books(jmap_server):
    owner, sharee, b, args = _setup(jmap_server)
    s0 = sharee.ok("ContactCard/get", {**args, "ids": []}, USING)["state"]
    q0 = sharee.ok("ContactCard/query", {**args}, USING)["queryState"]
    cards = ok(owner, "ContactCard/set", {"create": {
        "a": _card(b["team"], "Ann"), "d": _card(b["team"], "Dan"),
        "p": _card(b["private"], "Pat"), "m": _card(b["private"], "Max"), "q": _card(b["private"], "Quin"),
    }})["created"]
    c = {k: v["id"] for k, v in cards.items()}
    first = _changes(sharee, "ContactCard/changes", args, s0)
    assert set(first["created"]) == {c["a"], c["d"]} and first["updated"] == [] and first["destroyed"] == []
    s1 = first["newState"]
    q1 = sharee.ok("ContactCard/query", {**args}, USING)["queryState"]
    ok(owner, "ContactCard/set", {
        "update": {c["p"]: {"name/full": "Patricia"},
                   c["m"]: {"addressBookIds": {b["team"]: True}},
                   c["a"]: {"addressBookIds": {b["private"]: True}}},
        "destroy": [c["q"], c["d"]],
    })
    second = _changes(sharee, "ContactCard/changes", args, s1)
    assert second["created"] == [] and second["updated"] == [c["m"]]
    assert set(second["destroyed"]) == {c["a"], c["d"]}  # it left the shared book / was destroyed in it
    # The owner sees everything (the filtering is the sharee's, not a lost change).
    full = _changes(owner, "ContactCard/changes", {}, s1)
    assert set(full["updated"]) == {c["p"], c["m"], c["a"]} and set(full["destroyed"]) == {c["q"], c["d"]}
    # From before the cards existed, those made and destroyed in the window vanish entirely.
    whole = _changes(sharee, "ContactCard/changes", args, s0)
    assert set(whole["created"]) == {c["m"]} and whole["updated"] == [] and whole["destroyed"] == []
    # queryChanges: removed names only what the sharee could see.
    qc = sharee.ok("ContactCard/queryChanges", {**args, "sinceQueryState": q1}, USING)
    assert set(qc["removed"]) == {c["m"], c["a"], c["d"]} and [x["id"] for x in qc["added"]] == [c["m"]]
    qc0 = sharee.ok("ContactCard/queryChanges", {**args, "sinceQueryState": q0}, USING)
    assert set(qc0["removed"]) <= {c["m"]} and [x["id"] for x in qc0["added"]] == [c["m"]]


def test_card_removed_with_its_shared_book_is_destroyed_for_the_sharee(jmap_server):
    owner, sharee, b, args = _setup(jmap_server)
    cards = ok(owner, "ContactCard/set", {"create": {
        "t": _card(b["team"], "Ann"), "both": {"addressBookIds": {b["team"]: True, b["private"]: True}},
        "p": _card(b["private"], "Pat")}})["created"]
    s0 = sharee.ok("ContactCard/get", {**args, "ids": []}, USING)["state"]
    ok(owner, "AddressBook/set", {"destroy": [b["team"]], "onDestroyRemoveContents": True})
    changes = _changes(sharee, "ContactCard/changes", args, s0)
    assert changes["created"] == [] and changes["updated"] == []
    assert set(changes["destroyed"]) == {cards["t"]["id"], cards["both"]["id"]}
    owner_view = _changes(owner, "ContactCard/changes", {}, s0)
    assert owner_view["updated"] == [cards["both"]["id"]] and owner_view["destroyed"] == [cards["t"]["id"]]


def test_address_book_changes_hide_unshared_books(jmap_server):
    owner, sharee, b, args = _setup(jmap_server)
    s0 = sharee.ok("AddressBook/get", {**args, "ids": []}, USING)["state"]
    extra = ok(owner, "AddressBook/set", {"create": {"x": {"name": "Extra"}}})["created"]["x"]["id"]
    ok(owner, "AddressBook/set", {"update": {b["private"]: {"name": "Secret"}, b["team"]: {"name": "Team 2"}}})
    ok(owner, "AddressBook/set", {"destroy": [extra]})
    seen = _changes(sharee, "AddressBook/changes", args, s0)
    assert seen["created"] == [] and seen["updated"] == [b["team"]] and seen["destroyed"] == []
    s1 = seen["newState"]
    # Revoking the share: the book is destroyed for the sharee; the private book stays unnamed.
    ok(owner, "AddressBook/set", {"update": {b["team"]: {f"shareWith/{principal_id(sharee)}": None},
                                             b["private"]: {"name": "Secret 2"}}})
    revoked = _changes(sharee, "AddressBook/changes", args, s1)
    assert revoked["created"] == [] and revoked["updated"] == [] and revoked["destroyed"] == [b["team"]]
    owner_view = _changes(owner, "AddressBook/changes", {}, s0)
    assert set(owner_view["updated"]) == {b["private"], b["team"]} and owner_view["created"] == []


def test_sharee_downloads_and_looks_up_blobs_of_readable_cards_only(jmap_server):
    """Over HTTP: a sharee reads a photo and the vCard exports of cards in a
    book they may read (download URL, Blob/get, Blob/lookup) and nothing of
    the books they may not: those are 404 / notFound, and Blob/lookup names
    only the cards they can see. A revoked share closes them again."""
    owner, sharee, b, args = _setup(jmap_server)
    photo = owner.upload(PNG, "image/png")["blobId"]
    hidden = owner.upload(PNG + b"hidden", "image/png")["blobId"]
    loose = owner.upload(b"the owner's own bytes", "text/plain")["blobId"]
    media = {"p": {"kind": "photo", "blobId": photo, "mediaType": "image/png"}}
    made = ok(owner, "ContactCard/set", {"create": {
        "s": _card(b["team"], "Ann", media=media),
        "p": _card(b["private"], "Pat", media=media),  # the same photo, in a book not shared
        "h": _card(b["private"], "Hal", media={"p": {"kind": "photo", "blobId": hidden, "mediaType": "image/png"}})}})
    ids = {k: v["id"] for k, v in made["created"].items()}
    url = sharee.session["downloadUrl"]

    def fetch(blob: str, account: str = owner.account_id) -> Any:
        return sharee.http.get(url.format(accountId=account, blobId=blob, name="f", type="text/vcard"))

    assert fetch(photo).content == PNG
    card = fetch("V" + ids["s"])
    assert card.status_code == 200 and "Ann" in card.text and "Pat" not in card.text
    book = fetch("V" + b["team"])
    assert book.status_code == 200 and book.text.count("BEGIN:VCARD") == 1 and "Ann" in book.text
    missing = "V" + b["other"] + "x"  # names nothing, for the owner either
    closed = [hidden, loose, "V" + ids["p"], "V" + ids["h"], "V" + b["private"], missing]
    for blob in closed:
        # (not blob.endswith("x"): a random id ends in x one time in 64)
        assert download(owner, blob).status_code == (404 if blob == missing else 200), blob
        assert fetch(blob).status_code == 404, blob
        assert fetch(blob, sharee.account_id).status_code == 404, blob
    looked = sharee.ok("Blob/lookup", {**args, "typeNames": ["ContactCard"], "ids": [photo, hidden, loose]}, BLOB_USING)
    assert looked["list"] == [{"id": photo, "matchedIds": {"ContactCard": [ids["s"]]}}]
    assert sorted(looked["notFound"]) == sorted([hidden, loose])
    mine = owner.ok("Blob/lookup", {"typeNames": ["ContactCard"], "ids": [photo]}, BLOB_USING)["list"][0]["matchedIds"]
    assert sorted(mine["ContactCard"]) == sorted([ids["s"], ids["p"]])
    got = sharee.ok("Blob/get", {**args, "ids": [photo, hidden], "properties": ["size"]}, BLOB_USING)
    assert got["list"] == [{"id": photo, "size": len(PNG)}] and got["notFound"] == [hidden]
    name, err = sharee.call("Blob/upload", {**args, "create": {"u": {"data": [{"data:asText": "x"}]}}}, BLOB_USING)
    assert (name, err["type"]) == ("error", "forbidden")
    copied = sharee.ok("Blob/copy", {"fromAccountId": owner.account_id, "accountId": sharee.account_id,
                                     "blobIds": [photo, hidden]}, BLOB_USING)
    assert copied["copied"] == {photo: photo} and copied["notCopied"][hidden]["type"] == "notFound"
    assert download(sharee, photo).content == PNG  # now in the sharee's own account
    # with mayWrite a sharee may reuse a photo opened to them, not one they only know the id of
    ok(owner, "AddressBook/set", {"update": {b["team"]: {f"shareWith/{principal_id(sharee)}/mayWrite": True}}})
    tried = sharee.ok("ContactCard/set", {**args, "create": {
        "ok": _card(b["team"], "Reuse", media=media),
        "no": _card(b["team"], "Peek", media={"p": {"kind": "photo", "blobId": hidden, "mediaType": "image/png"}})}},
        USING)
    assert "ok" in tried["created"] and "media/p/blobId" in tried["notCreated"]["no"]["properties"], tried
    assert fetch(hidden).status_code == 404
    ok(owner, "AddressBook/set", {"update": {b["team"]: {f"shareWith/{principal_id(sharee)}": None}}})
    assert fetch(photo).status_code == 404 and fetch("V" + b["team"]).status_code == 404


def test_revoked_share_destroys_its_cards_for_the_sharee_once(jmap_server):
    owner, sharee, b, args = _setup(jmap_server)
    cards = ok(owner, "ContactCard/set", {"create": {
        "t": _card(b["team"], "Ann"), "both": {"addressBookIds": {b["team"]: True, b["other"]: True}},
        "p": _card(b["private"], "Pat")}})["created"]
    s0 = sharee.ok("ContactCard/get", {**args, "ids": []}, USING)["state"]
    ok(owner, "AddressBook/set", {"update": {b["team"]: {f"shareWith/{principal_id(sharee)}": None}}})
    changes = _changes(sharee, "ContactCard/changes", args, s0)
    assert changes["destroyed"] == [cards["t"]["id"]] and changes["created"] == changes["updated"] == []
    assert changes["newState"] != s0
    again = _changes(sharee, "ContactCard/changes", args, changes["newState"])
    assert again["destroyed"] == [] and again["newState"] == changes["newState"]
    assert sharee.ok("ContactCard/get", {**args, "ids": [cards["t"]["id"]]}, USING)["notFound"] == [cards["t"]["id"]]


def test_has_member_matches_uids_within_the_account_queried(jmap_server):
    """RFC 9610 §3.3: hasMember matches a card whose ``members`` holds the
    string as a uid. A uid is a string, not a reference: a group may name
    cards of another account (a shared book) and matches in its own account;
    in the other account only groups the caller may read match."""
    owner, sharee, b, args = _setup(jmap_server)
    ann = ok(owner, "ContactCard/set", {"create": {"a": _card(b["team"], "Ann", uid="urn:uuid:ann")}})["created"]["a"]
    mine = default_book(sharee)
    made = ok(sharee, "ContactCard/set", {"create": {
        "me": _card(mine, "Sam", uid="urn:uuid:sam"),
        "g": _card(mine, "Team I follow", kind="group", members={"urn:uuid:ann": True, "urn:uuid:sam": True})}})["created"]
    assert ok(sharee, "ContactCard/query", {"filter": {"hasMember": "urn:uuid:ann"}})["ids"] == [made["g"]["id"]]
    shared = sharee.ok("ContactCard/query", {**args, "filter": {"hasMember": "urn:uuid:ann"}}, USING)
    assert shared["ids"] == []  # no group in the owner's account names Ann
    groups = ok(owner, "ContactCard/set", {"create": {
        "t": _card(b["team"], "Visitors", kind="group", members={"urn:uuid:sam": True}),
        "p": _card(b["private"], "Watched", kind="group", members={"urn:uuid:sam": True})}})["created"]
    seen = sharee.ok("ContactCard/query", {**args, "filter": {"hasMember": "urn:uuid:sam"}}, USING)
    assert seen["ids"] == [groups["t"]["id"]]  # not the group in the unshared book
    everything = ok(owner, "ContactCard/query", {"filter": {"hasMember": "urn:uuid:sam"}})["ids"]
    assert set(everything) == {groups["t"]["id"], groups["p"]["id"]}
    assert ok(owner, "ContactCard/query", {"filter": {"hasMember": "urn:uuid:ann"}})["ids"] == []
    assert ann["id"] not in everything


def test_writer_uploads_a_photo_for_a_card_in_the_shared_book(jmap_server):
    """A sharee with mayWrite on a book uploads a photo into the owner's
    account and puts it on a card there (the owner sees it); with mayRead
    only the upload is 403 ``forbidden``; a second writer can neither read
    nor reuse the first one's unreferenced upload."""
    owner, sharee, b, args = _setup(jmap_server)
    other = jmap_server.client()

    def upload(client: Any, data: bytes) -> Any:
        return client.http.post(f"/jmap/upload/{owner.account_id}", content=data, headers={"Content-Type": "image/png"})

    refused = upload(sharee, PNG)  # mayRead on both books: nothing to put a blob into
    assert refused.status_code == 403 and refused.json()["type"] == "urn:ietf:params:jmap:error:forbidden"
    for client in (sharee, other):
        ok(owner, "AddressBook/set", {"update": {b["team"]: {f"shareWith/{principal_id(client)}": {
            "mayRead": True, "mayWrite": True}}}})
        client._session = None
    photo = PNG + b"the sharee's photo"
    resp = upload(sharee, photo)
    assert resp.status_code == 201, resp.text
    blob = resp.json()["blobId"]
    media = {"p": {"kind": "photo", "blobId": blob, "mediaType": "image/png"}}
    # the second writer may not name it: it is not theirs and no card holds it
    tried = other.ok("ContactCard/set", {**args, "create": {"c": _card(b["team"], "Peek", media=media)}}, USING)
    assert "media/p/blobId" in tried["notCreated"]["c"]["properties"], tried
    assert other.http.get(f"/jmap/download/{owner.account_id}/{blob}/f").status_code == 404
    made = sharee.ok("ContactCard/set", {**args, "create": {"c": _card(b["team"], "Sam", media=media)}}, USING)
    assert made["notCreated"] is None, made
    card = made["created"]["c"]["id"]
    got = ok(owner, "ContactCard/get", {"ids": [card]})["list"][0]
    assert got["media"]["p"]["blobId"] == blob and download(owner, blob).content == photo
    # held by a card in a book the second writer reads, the photo now opens to them too
    assert other.http.get(f"/jmap/download/{owner.account_id}/{blob}/f").content == photo
