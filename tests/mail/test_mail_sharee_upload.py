"""A sharee with mayAddItems on a shared Mailbox uploads, imports and attaches (RFC 8620 §6.1, RFC 8621 §4.8).

Three real users over HTTP: the owner shares "Team" with two sharees. One
with mayAddItems uploads to the owner's account and Email/imports the upload
into Team, or attaches an uploaded file to a draft there; the owner sees
both. One with only mayReadItems is refused the upload (403 ``forbidden``).
Neither the second sharee nor the first reaches the other's unreferenced
upload: not by download, Blob/get, Email/import or as an attachment.
"""

from __future__ import annotations

from typing import Any

import pytest

from .test_mail_sharing import grant

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
BLOB = "urn:ietf:params:jmap:blob"
USING = [CORE, MAIL, BLOB]
FILE = b"%PDF-1.4 the sharee's report \x00\x01\x02\n" * 4


class Team:
    def __init__(self, owner: Any, adder: Any, other: Any, make_message: Any) -> None:
        self.owner, self.adder, self.other, self.acc = owner, adder, other, owner.account_id
        self.make_message = make_message
        self.team = owner.ok("Mailbox/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
        grant(owner, self.team, adder, "mayReadItems", "mayAddItems")

    def upload(self, client: Any, data: bytes, media_type: str = "message/rfc822") -> Any:
        return client.http.post(f"/jmap/upload/{self.acc}", content=data, headers={"Content-Type": media_type})

    def call(self, client: Any, method: str, args: dict[str, Any]) -> dict[str, Any]:
        name, out = client.call(method, {"accountId": self.acc, **args}, USING)
        assert name != "error", f"{method}: {out}"
        return out

    def status(self, client: Any, blob: str) -> int:
        return int(client.http.get(f"/jmap/download/{self.acc}/{blob}/f").status_code)

    def import_(self, client: Any, blob: str) -> dict[str, Any]:
        return self.call(client, "Email/import", {"emails": {"i": {"blobId": blob, "mailboxIds": {self.team: True}}}})

    def draft(self, blob: str) -> dict[str, Any]:
        return {"mailboxIds": {self.team: True}, "subject": "report",
                "bodyValues": {"1": {"value": "see attached"}}, "textBody": [{"partId": "1", "type": "text/plain"}],
                "attachments": [{"blobId": blob, "type": "application/pdf", "name": "r.pdf"}]}


@pytest.fixture
def team(client: Any, make_message: Any) -> Team:
    return Team(client, client.server.client(), client.server.client(), make_message)


def test_sharee_imports_an_upload_into_the_shared_mailbox(team: Team) -> None:
    raw = team.make_message("From the sharee", message_id="sharee-import@x")
    resp = team.upload(team.adder, raw)
    assert resp.status_code == 201, resp.text
    blob = resp.json()["blobId"]
    assert resp.json()["accountId"] == team.acc
    assert team.adder.download(blob, account_id=team.acc) == raw  # their own upload reads back
    out = team.import_(team.adder, blob)
    assert out["notCreated"] is None, out
    email = out["created"]["i"]["id"]
    owner_view = team.owner.ok("Email/get", {"ids": [email], "properties": ["subject", "mailboxIds", "blobId"]})
    assert owner_view["list"] == [{"id": email, "subject": "From the sharee", "mailboxIds": {team.team: True},
                                   "blobId": blob}]
    assert team.owner.ok("Email/query", {"filter": {"inMailbox": team.team}})["ids"] == [email]


def test_sharee_attaches_an_uploaded_file_to_a_draft_in_the_shared_mailbox(team: Team) -> None:
    attachment = team.upload(team.adder, FILE, "application/pdf").json()["blobId"]
    out = team.call(team.adder, "Email/set", {"create": {"d": team.draft(attachment)}})
    assert out["notCreated"] is None, out
    email = out["created"]["d"]["id"]
    got = team.owner.ok("Email/get", {"ids": [email], "properties": ["attachments", "mailboxIds"]})["list"][0]
    assert got["mailboxIds"] == {team.team: True}
    assert team.owner.download(got["attachments"][0]["blobId"]) == FILE


def test_reader_may_not_upload(team: Team) -> None:
    grant(team.owner, team.team, team.adder, "mayReadItems")  # mayAddItems taken away
    resp = team.upload(team.adder, team.make_message("refused"))
    assert resp.status_code == 403 and resp.json()["type"] == "urn:ietf:params:jmap:error:forbidden"
    name, err = team.adder.call("Blob/upload", {"accountId": team.acc, "create": {
        "u": {"data": [{"data:asText": "x"}]}}}, USING)
    assert (name, err["type"]) == ("error", "forbidden")


def test_another_sharee_cannot_use_the_first_ones_upload(team: Team) -> None:
    grant(team.owner, team.team, team.other, "mayReadItems", "mayAddItems")
    raw = team.make_message("Not yours", message_id="not-yours@x")
    blob = team.upload(team.adder, raw).json()["blobId"]
    attachment = team.upload(team.adder, FILE, "application/pdf").json()["blobId"]
    owners = team.owner.upload(team.make_message("Owner's own", message_id="owner@x"), "message/rfc822")["blobId"]
    for hidden in (blob, attachment, owners):
        assert team.status(team.other, hidden) == 404, hidden
        assert team.call(team.other, "Blob/get", {"ids": [hidden]})["notFound"] == [hidden]
        out = team.import_(team.other, hidden)
        assert out["notCreated"]["i"]["type"] == "invalidProperties" and "blobId" in out["notCreated"]["i"]["properties"]
        out = team.call(team.other, "Email/set", {"create": {"d": team.draft(hidden)}})
        assert out["notCreated"]["d"]["type"] == "blobNotFound" and out["notCreated"]["d"]["notFound"] == [hidden]
    # the first sharee does not reach the owner's upload either
    assert team.status(team.adder, owners) == 404
    assert team.import_(team.adder, owners)["notCreated"]["i"]["type"] == "invalidProperties"
    # once imported into Team, the message is an Email the second sharee reads
    team.import_(team.adder, blob)
    assert team.other.download(blob, account_id=team.acc) == raw
    assert team.status(team.other, attachment) == 404
