"""Blobs of Emails in shared Mailboxes (issue #11; RFC 8621 §2, RFC 9404).

Two real users over HTTP: the owner shares one Mailbox ("Team") with
mayReadItems and keeps the inbox private. The sharee may download, Blob/get,
Blob/copy and Blob/lookup the raw message and every part of an Email in a
Mailbox they read, and nothing of an Email only in the inbox; a revoked
share closes them at once.
"""

from __future__ import annotations

from typing import Any

import pytest

CORE = "urn:ietf:params:jmap:core"
BLOB = "urn:ietf:params:jmap:blob"
MAIL = "urn:ietf:params:jmap:mail"
USING = [CORE, MAIL, BLOB]
ATTACHMENT = b"%PDF-1.4 not really a pdf \x00\x01\x02 but bytes all the same\n" * 3


def with_attachment(subject: str, message_id: str) -> bytes:
    import base64

    body = base64.encodebytes(ATTACHMENT).decode().replace("\n", "\r\n")
    return (
        f"From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: {subject}\r\n"
        f"Date: Tue, 01 Jun 2021 10:00:00 +0200\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
        '--b1\r\nContent-Type: application/pdf; name="r.pdf"\r\nContent-Disposition: attachment; filename="r.pdf"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{body}--b1--\r\n"
    ).encode()


def pid(client: Any) -> str:
    accounts = client.session["accounts"]
    return str(accounts[client.account_id]["accountCapabilities"]["urn:ietf:params:jmap:principals"]["currentUserPrincipalId"])


class Setup:
    def __init__(self, owner: Any, sharee: Any, mail: Any) -> None:
        self.owner, self.sharee, self.acc = owner, sharee, owner.account_id
        self.inbox = mail.role("inbox")
        self.team = owner.ok("Mailbox/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
        self.shared = self.email(with_attachment("Team report", "team@x"), self.team)
        self.private = self.email(with_attachment("Private report", "priv@x"), self.inbox)
        self.both = self.email(with_attachment("Both report", "both@x"), self.inbox, self.team)

    def email(self, raw: bytes, *mailboxes: str) -> dict[str, str]:
        blob = self.owner.upload(raw, "message/rfc822")["blobId"]
        created = self.owner.ok("Email/import", {"emails": {"e": {
            "blobId": blob, "mailboxIds": dict.fromkeys(mailboxes, True)}}})["created"]["e"]
        got = self.owner.ok("Email/get", {"ids": [created["id"]], "properties": ["blobId", "attachments"]})["list"][0]
        return {"id": created["id"], "blob": got["blobId"], "part": got["attachments"][0]["blobId"]}

    def share(self, rights: dict[str, bool] | None) -> None:
        self.owner.ok("Mailbox/set", {"update": {self.team: {f"shareWith/{pid(self.sharee)}": rights}}})
        self.sharee._session = None

    def status(self, blob: str) -> int:
        return int(self.sharee.http.get(f"/jmap/download/{self.acc}/{blob}/x").status_code)

    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        name, out = self.sharee.call(method, {"accountId": self.acc, **args}, USING)
        assert name != "error", f"{method}: {out}"
        return out

    def blobs(self, email: dict[str, str]) -> list[str]:
        return [email["blob"], email["part"]]


@pytest.fixture
def setup(client: Any, mail: Any) -> Setup:
    s = Setup(client, client.server.client(), mail)
    s.share({"mayReadItems": True})
    return s


def assert_readable(s: Setup, email: dict[str, str]) -> None:
    for blob in s.blobs(email):
        assert s.status(blob) == 200, blob
        assert s.sharee.download(blob, account_id=s.acc) == s.owner.download(blob)
    assert s.sharee.download(email["part"], account_id=s.acc) == ATTACHMENT
    got = s.call("Blob/get", {"ids": s.blobs(email), "properties": ["data:asBase64", "size"]})
    assert got["notFound"] == [] and [b["id"] for b in got["list"]] == s.blobs(email)
    owner_got = s.owner.ok("Blob/get", {"ids": s.blobs(email), "properties": ["data:asBase64", "size"]}, USING)
    assert got["list"] == owner_got["list"]
    looked = s.call("Blob/lookup", {"typeNames": ["Email"], "ids": s.blobs(email)})
    owner_looked = s.owner.ok("Blob/lookup", {"typeNames": ["Email"], "ids": s.blobs(email)}, USING)
    assert looked["notFound"] == []
    assert looked["list"][0] == {"id": email["blob"], "matchedIds": {"Email": [email["id"]]}}
    assert looked["list"] == owner_looked["list"]  # the owner's shape, here the same Emails
    copied = s.sharee.ok("Blob/copy", {"fromAccountId": s.acc, "accountId": s.sharee.account_id,
                                       "blobIds": s.blobs(email)}, USING)
    assert copied["notCopied"] is None and sorted(copied["copied"]) == sorted(s.blobs(email))


def assert_closed(s: Setup, email: dict[str, str]) -> None:
    for blob in s.blobs(email):
        assert s.status(blob) == 404, blob
        assert s.owner.download(blob)  # the owner still reads it: it exists
    assert s.call("Blob/get", {"ids": s.blobs(email)})["notFound"] == s.blobs(email)
    looked = s.call("Blob/lookup", {"typeNames": ["Email"], "ids": s.blobs(email)})
    assert looked == {"accountId": s.acc, "list": [], "notFound": s.blobs(email)}
    copied = s.sharee.ok("Blob/copy", {"fromAccountId": s.acc, "accountId": s.sharee.account_id,
                                       "blobIds": s.blobs(email)}, USING)
    assert copied["copied"] is None and sorted(copied["notCopied"]) == sorted(s.blobs(email))


def test_sharee_reads_message_and_parts_of_an_email_in_a_readable_mailbox(setup: Setup) -> None:
    assert_readable(setup, setup.shared)


def test_email_only_in_an_unshared_mailbox_stays_closed(setup: Setup) -> None:
    assert_closed(setup, setup.private)
    # a part id the readable message does not have is not found either
    missing = setup.shared["part"].rsplit("_", 1)[0] + "_9"
    assert setup.status(missing) == 404
    assert setup.call("Blob/get", {"ids": [missing]})["notFound"] == [missing]
    assert setup.call("Blob/lookup", {"typeNames": ["Email"], "ids": [missing]})["notFound"] == [missing]


def test_email_in_a_shared_and_an_unshared_mailbox_is_readable(setup: Setup) -> None:
    assert_readable(setup, setup.both)


def test_revoked_share_closes_the_blobs_at_once(setup: Setup) -> None:
    assert setup.status(setup.shared["blob"]) == 200
    setup.share({"mayReadItems": False, "mayAddItems": True})  # still a sharee, but reads nothing
    assert_closed(setup, setup.shared)
    setup.share(None)
    for blob in setup.blobs(setup.shared):
        assert setup.status(blob) == 404


def test_lookup_names_only_the_copies_the_sharee_can_read(setup: Setup) -> None:
    # the same message imported again into the private inbox: the owner's
    # lookup names both Emails, the sharee's only the one they read
    s = setup
    raw = s.owner.download(s.shared["blob"])
    private_copy = s.email(raw, s.inbox)
    assert private_copy["blob"] == s.shared["blob"]
    owner_looked = s.owner.ok("Blob/lookup", {"typeNames": ["Email"], "ids": [s.shared["blob"]]}, USING)
    assert sorted(owner_looked["list"][0]["matchedIds"]["Email"]) == sorted([s.shared["id"], private_copy["id"]])
    looked = s.call("Blob/lookup", {"typeNames": ["Email", "Mailbox"], "ids": [s.shared["blob"]]})
    assert looked["list"] == [{"id": s.shared["blob"], "matchedIds": {"Email": [s.shared["id"]], "Mailbox": []}}]
