"""Issue #9.5 for mail: invalidProperties lists every invalid property of
the object (RFC 8620 §5.3), with paths inside values (``textBody/0/type``),
from the generic checks and the type's own rules together; nothing is
written."""

from __future__ import annotations


def _refused(resp: dict, key: str = "x") -> list[str]:
    assert not resp.get("created") and not resp.get("updated"), resp
    err = (resp.get("notCreated") or resp.get("notUpdated"))[key]
    assert err["type"] == "invalidProperties", err
    return sorted(err["properties"])


def test_email_create_names_every_bad_path(client, mail):
    drafts = mail.role("drafts")
    before = client.ok("Email/query", {})["ids"]
    resp = client.ok("Email/set", {"create": {"x": {
        "mailboxIds": {drafts: True, "nosuchbox": True},
        "keywords": {"$seen": True, "bad keyword": True},
        "size": 3,  # server-set
        "nosuch": 1,  # unknown
        "subject": 5,
        "bodyValues": {"t": {"value": "text", "isTruncated": True}, "h": {"value": 1}, "spare": {"value": "x"}},
        "textBody": [{"partId": "t", "type": "text/html", "colour": "red"}],
        "htmlBody": [{"partId": "h", "type": "text/html", "language": ["en", "b a d"]}],
        "attachments": [
            {"blobId": "nosuchblob", "type": "not a type", "disposition": "attachment", "cid": "<x>"},
            "not a part",
        ],
    }}})
    assert _refused(resp) == sorted([
        "mailboxIds/nosuchbox", "keywords/bad keyword", "size", "nosuch", "subject",
        "bodyValues/t/isTruncated", "bodyValues/h/value", "bodyValues/spare",
        "textBody/0/type", "textBody/0/colour", "htmlBody/0/language/1",
        "attachments/0/type", "attachments/0/cid", "attachments/1",
    ])
    assert client.ok("Email/query", {})["ids"] == before


def test_email_create_generic_and_body_problems_together(client, mail):
    """A generic fault (mailboxIds not an Id[Boolean]) no longer hides the body's."""
    resp = client.ok("Email/set", {"create": {"x": {
        "mailboxIds": {mail.role("drafts"): False},
        "bodyStructure": {"type": "multipart/mixed", "subParts": [{"partId": "nope"}, {"blobId": 5}]},
    }}})
    assert _refused(resp) == ["bodyStructure/subParts/0/partId", "bodyStructure/subParts/1/blobId", "mailboxIds"]


def test_email_create_still_works_and_blob_not_found_last(client, mail):
    drafts = mail.role("drafts")
    good = {"mailboxIds": {drafts: True}, "bodyValues": {"t": {"value": "hi"}}, "textBody": [{"partId": "t"}]}
    assert client.ok("Email/set", {"create": {"x": good}})["created"]["x"]["id"]
    missing = {**good, "attachments": [{"blobId": "Gnosuchblob", "type": "application/pdf"}]}
    err = client.ok("Email/set", {"create": {"x": missing}})["notCreated"]["x"]
    assert err["type"] == "blobNotFound" and err["notFound"] == ["Gnosuchblob"]


def test_mailbox_create_and_update_name_every_bad_property(client):
    made = client.ok("Mailbox/set", {"create": {"a": {"name": "A"}}})["created"]["a"]["id"]
    resp = client.ok("Mailbox/set", {"create": {"x": {
        "name": "n" * 300, "parentId": "nosuchparent", "role": "inbox", "isSubscribed": "yes", "sortOrder": -1,
    }}})
    assert _refused(resp) == ["isSubscribed", "name", "parentId", "role", "sortOrder"]
    resp = client.ok("Mailbox/set", {"update": {made: {"parentId": "nosuchparent", "role": "inbox", "sortOrder": "9"}}})
    assert _refused(resp, made) == ["parentId", "role", "sortOrder"]
    assert client.ok("Mailbox/get", {"ids": [made]})["list"][0]["role"] is None
    # a duplicate name with nothing else wrong is still alreadyExists
    err = client.ok("Mailbox/set", {"create": {"x": {"name": "A"}}})["notCreated"]["x"]
    assert err["type"] == "alreadyExists" and err["existingId"] == made
