"""Shared Mailboxes (draft-ietf-jmap-mail-sharing, RFC 8621 §2 rights, RFC 9670).

Two real users over HTTP: the owner shares one Mailbox ("Team") and keeps
the inbox private. The sharee must reach Emails only through Mailboxes in
which they have mayReadItems, by every method, and never learn the ids of
the others, not even through /changes; every write is checked against the
rights on the Mailboxes concerned.
"""

from __future__ import annotations

from typing import Any

import pytest

PRINCIPALS = "urn:ietf:params:jmap:principals"
MAIL_SHARE = "urn:ietf:params:jmap:mail:share"
RIGHTS = ("mayReadItems", "mayAddItems", "mayRemoveItems", "maySetSeen", "maySetKeywords",
          "mayCreateChild", "mayRename", "mayDelete", "maySubmit", "mayShare")


def pid(client: Any) -> str:
    return str(client.session["accounts"][client.account_id]["accountCapabilities"][PRINCIPALS]["currentUserPrincipalId"])


def fresh(client: Any) -> Any:
    client._session = None
    return client


def grant(owner: Any, mailbox_id: str, sharee: Any, *rights: str) -> None:
    value = {r: True for r in rights} if rights else None
    owner.ok("Mailbox/set", {"update": {mailbox_id: {f"shareWith/{pid(sharee)}": value}}})
    fresh(sharee)


class Shared:
    """The owner's account as the tests set it up (ids by name)."""

    def __init__(self, owner: Any, sharee: Any, mail: Any, make_message: Any) -> None:
        self.owner, self.sharee, self.acc = owner, sharee, owner.account_id
        self.inbox = mail.role("inbox")
        self.team = owner.ok("Mailbox/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
        self.team_mail = mail.import_(make_message("Team news", message_id="team@x"), self.team)["id"]
        # a private reply in the same Thread, and one Email in both Mailboxes
        self.private = mail.import_(make_message("Re: Team news", message_id="priv@x", in_reply_to="team@x"))["id"]
        blob = owner.upload(make_message("Both places", message_id="both@x"), "message/rfc822")["blobId"]
        self.both = owner.ok("Email/import", {"emails": {"b": {
            "blobId": blob, "mailboxIds": {self.inbox: True, self.team: True}}}})["created"]["b"]["id"]
        self.make_message = make_message

    def as_sharee(self, method: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return self.sharee.call(method, {"accountId": self.acc, **args})

    def ok(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        name, out = self.as_sharee(method, args)
        assert name != "error", f"{method}: {out}"
        return out

    def upload_to_sharee(self, raw: bytes) -> str:
        return str(self.sharee.upload(raw, "message/rfc822")["blobId"])


@pytest.fixture
def shared(client: Any, mail: Any, make_message: Any) -> Shared:
    return Shared(client, client.server.client(), mail, make_message)


def test_mailbox_share_with_my_rights_and_capability(shared: Shared) -> None:
    owner = shared.owner
    assert MAIL_SHARE in owner.session["capabilities"]
    assert MAIL_SHARE in owner.session["accounts"][shared.acc]["accountCapabilities"]
    mine = owner.ok("Mailbox/get", {"ids": [shared.team]})["list"][0]
    assert mine["myRights"] == dict.fromkeys(RIGHTS, True) and mine["shareWith"] is None
    assert shared.acc not in fresh(shared.sharee).session["accounts"]
    grant(owner, shared.team, shared.sharee, "mayReadItems", "maySetSeen")
    mine = owner.ok("Mailbox/get", {"ids": [shared.team]})["list"][0]
    assert mine["shareWith"] == {pid(shared.sharee): {r: r in ("mayReadItems", "maySetSeen") for r in RIGHTS}}
    account = shared.sharee.session["accounts"][shared.acc]
    assert account["isPersonal"] is False and account["isReadOnly"] is False
    got = shared.ok("Mailbox/get", {"ids": None})
    assert [m["id"] for m in got["list"]] == [shared.team]
    team = got["list"][0]
    assert team["myRights"] == {r: r in ("mayReadItems", "maySetSeen") for r in RIGHTS}
    assert team["shareWith"] is None  # shown only to those with mayShare
    assert shared.ok("Mailbox/get", {"ids": [shared.inbox]})["notFound"] == [shared.inbox]
    assert shared.ok("Mailbox/query", {})["ids"] == [shared.team]
    # the counts of a Mailbox the sharee reads are those of its Emails, all of which they see
    assert (team["totalEmails"], team["unreadEmails"], team["totalThreads"]) == (2, 2, 2)
    owner.ok("Email/set", {"update": {shared.team_mail: {"keywords/$seen": True}}})
    team = shared.ok("Mailbox/get", {"ids": [shared.team]})["list"][0]
    assert team["unreadEmails"] == 1


def test_sharee_reads_emails_only_through_readable_mailboxes(shared: Shared) -> None:
    grant(shared.owner, shared.team, shared.sharee, "mayReadItems")
    got = shared.ok("Email/get", {"ids": [shared.team_mail, shared.private, shared.both],
                                  "properties": ["mailboxIds", "threadId", "subject"]})
    assert sorted(e["id"] for e in got["list"]) == sorted([shared.team_mail, shared.both])
    assert got["notFound"] == [shared.private]
    assert all(e["mailboxIds"] == {shared.team: True} for e in got["list"])  # the inbox is not theirs to see
    all_ids = shared.ok("Email/get", {"ids": None, "properties": ["id"]})["list"]
    assert sorted(e["id"] for e in all_ids) == sorted([shared.team_mail, shared.both])
    # Email/query, with and without inMailbox, and by text that only the private Email has
    assert sorted(shared.ok("Email/query", {})["ids"]) == sorted([shared.team_mail, shared.both])
    assert shared.ok("Email/query", {"filter": {"inMailbox": shared.inbox}})["ids"] == []
    assert shared.ok("Email/query", {"filter": {"inMailbox": shared.team}, "calculateTotal": True})["total"] == 2
    assert shared.ok("Email/query", {"filter": {"subject": "Re:"}})["ids"] == []
    assert shared.ok("Email/query", {"filter": {"inMailboxOtherThan": [shared.team]}})["ids"] == []
    assert shared.ok("Email/query", {"collapseThreads": True, "calculateTotal": True})["total"] == 2
    # the Thread holds the private reply too; the sharee sees only their Email of it
    thread = next(e["threadId"] for e in got["list"] if e["id"] == shared.team_mail)
    assert shared.owner.ok("Thread/get", {"ids": [thread]})["list"][0]["emailIds"] == [shared.team_mail, shared.private]
    assert shared.ok("Thread/get", {"ids": [thread]})["list"][0]["emailIds"] == [shared.team_mail]
    private_thread = shared.owner.ok("Email/get", {"ids": [shared.private], "properties": ["threadId"]})["list"][0]
    assert private_thread["threadId"] == thread
    snippets = shared.ok("SearchSnippet/get", {"emailIds": [shared.team_mail, shared.private],
                                               "filter": {"text": "news"}})
    assert [s["emailId"] for s in snippets["list"]] == [shared.team_mail] and snippets["notFound"] == [shared.private]


def test_changes_never_name_what_the_sharee_cannot_read(shared: Shared, mail: Any) -> None:
    owner = shared.owner
    grant(owner, shared.team, shared.sharee, "mayReadItems")
    states = {t: shared.ok(f"{t}/get", {"ids": []})["state"] for t in ("Email", "Thread", "Mailbox")}
    theirs = {shared.team} | {e["threadId"] for e in shared.ok("Email/get", {"ids": None, "properties": ["threadId"]})["list"]}
    # the owner works in the private inbox: delivery, keywords, a new private Mailbox, a destroy
    other = mail.import_(shared.make_message("Private"))["id"]
    owner.ok("Email/set", {"update": {other: {"keywords/$flagged": True}}, "destroy": [shared.private]})
    secret = owner.ok("Mailbox/set", {"create": {"s": {"name": "Secret"}}})["created"]["s"]["id"]
    owner.ok("Email/set", {"update": {other: {f"mailboxIds/{secret}": True}}})
    for type_name, state in states.items():
        changes = shared.ok(f"{type_name}/changes", {"sinceState": state})
        named = set(changes["created"]) | set(changes["updated"]) | set(changes["destroyed"])
        # Team's counts and a Thread they read may move (the private reply left it); nothing else
        assert named <= theirs, (type_name, changes)
    # what the sharee could read moves out of Team: now it is destroyed for them
    owner.ok("Email/set", {"update": {shared.team_mail: {"mailboxIds": {shared.inbox: True}}}})
    arrived = mail.import_(shared.make_message("For the team", message_id="new@x"), shared.team)["id"]
    changes = shared.ok("Email/changes", {"sinceState": states["Email"]})
    assert changes["created"] == [arrived] and changes["destroyed"] == [shared.team_mail]
    assert changes["updated"] == []
    threads = shared.ok("Thread/changes", {"sinceState": states["Thread"]})
    team_thread = owner.ok("Email/get", {"ids": [shared.team_mail], "properties": ["threadId"]})["list"][0]["threadId"]
    assert team_thread in threads["destroyed"]
    # Email/queryChanges names no private id either
    query = shared.ok("Email/query", {})
    owner.ok("Email/set", {"update": {other: {"keywords/$seen": True}}})
    owner.ok("Email/set", {"update": {shared.both: {"keywords/$seen": True}}})
    qc = shared.ok("Email/queryChanges", {"sinceQueryState": query["queryState"]})
    assert set(qc["removed"]) <= set(query["ids"]) and {a["id"] for a in qc["added"]} <= set(query["ids"])
    assert shared.both in qc["removed"]


def test_revoked_share_is_not_computed_from_stale_changes(shared: Shared) -> None:
    grant(shared.owner, shared.team, shared.sharee, "mayReadItems")
    email_state = shared.ok("Email/get", {"ids": []})["state"]
    mailbox_state = shared.ok("Mailbox/get", {"ids": []})["state"]
    query_state = shared.ok("Email/query", {})["queryState"]
    shared.owner.ok("Mailbox/set", {"update": {shared.team: {f"shareWith/{pid(shared.sharee)}": {
        "mayAddItems": True}}}})  # still shared, but no longer readable
    fresh(shared.sharee)
    name, err = shared.as_sharee("Email/changes", {"sinceState": email_state})
    assert (name, err["type"]) == ("error", "cannotCalculateChanges")
    name, err = shared.as_sharee("Email/queryChanges", {"sinceQueryState": query_state})
    assert (name, err["type"]) == ("error", "cannotCalculateChanges")
    assert shared.ok("Mailbox/changes", {"sinceState": mailbox_state})["destroyed"] == [shared.team]
    assert shared.ok("Email/query", {})["ids"] == []
    # the owner's own changes are computed as before
    assert shared.owner.ok("Email/changes", {"sinceState": email_state})["created"] == []


def test_email_writes_need_the_rights_of_their_mailboxes(shared: Shared) -> None:
    owner, team = shared.owner, shared.team
    grant(owner, team, shared.sharee, "mayReadItems")

    def not_updated(patch: dict[str, Any], email_id: str | None = None) -> str:
        email_id = email_id or shared.team_mail
        out = shared.ok("Email/set", {"update": {email_id: patch}})
        return str((out["notUpdated"] or {}).get(email_id, {}).get("type", "updated"))

    assert not_updated({"keywords/$flagged": True}) == "forbidden"  # maySetKeywords
    assert not_updated({"keywords/$seen": True}) == "forbidden"  # maySetSeen
    out = shared.ok("Email/set", {"destroy": [shared.team_mail]})
    assert out["notDestroyed"][shared.team_mail]["type"] == "forbidden"  # mayRemoveItems
    draft = {"mailboxIds": {team: True}, "subject": "x", "bodyValues": {"1": {"value": "hi"}},
             "textBody": [{"partId": "1", "type": "text/plain"}]}
    assert shared.ok("Email/set", {"create": {"d": draft}})["notCreated"]["d"]["type"] == "forbidden"  # mayAddItems
    blob = shared.upload_to_sharee(shared.make_message("Imported"))
    copy = shared.sharee.ok("Email/set", {"create": {"d": {**draft, "mailboxIds": {
        shared.sharee.ok("Mailbox/query", {"filter": {"role": "inbox"}})["ids"][0]: True}}}})
    assert copy["created"]
    # Email/copy into the shared Mailbox needs mayAddItems there
    mine = copy["created"]["d"]["id"]
    out = shared.sharee.ok("Email/copy", {"fromAccountId": shared.sharee.account_id, "accountId": shared.acc,
                                          "create": {"c": {"id": mine, "mailboxIds": {team: True}}}})
    assert out["notCreated"]["c"]["type"] == "forbidden"
    # a Mailbox the sharee cannot see does not exist for them
    out = shared.ok("Email/set", {"update": {shared.team_mail: {f"mailboxIds/{shared.inbox}": True}}})
    assert out["notUpdated"][shared.team_mail]["type"] == "invalidProperties"
    # nothing changed
    seen = owner.ok("Email/get", {"ids": [shared.team_mail], "properties": ["keywords", "mailboxIds"]})["list"][0]
    assert seen == {"id": shared.team_mail, "keywords": {}, "mailboxIds": {team: True}}

    grant(owner, team, shared.sharee, "mayReadItems", "maySetSeen")
    assert not_updated({"keywords/$seen": True}) == "updated"
    assert not_updated({"keywords/$flagged": True}) == "forbidden"
    # $seen on an Email also in the private inbox needs maySetSeen there too (RFC 8621 §2: all its Mailboxes)
    assert not_updated({"keywords/$seen": True}, shared.both) == "forbidden"

    grant(owner, team, shared.sharee, "mayReadItems", "maySetKeywords", "mayAddItems", "mayRemoveItems")
    assert not_updated({"keywords/$flagged": True}) == "updated"
    # moving out of Team keeps the Email in the inbox the sharee cannot see
    sharee_box = shared.ok("Mailbox/set", {"create": {"c": {"name": "Sub", "parentId": team}}})
    assert sharee_box["notCreated"]["c"]["type"] == "forbidden"  # mayCreateChild
    assert not_updated({"mailboxIds": {team: True}}, shared.both) == "updated"  # no visible change: a no-op
    assert not_updated({"keywords/$flagged": True}, shared.both) == "forbidden"  # keywords: also the inbox
    out = shared.ok("Email/set", {"destroy": [shared.both]})
    assert out["notDestroyed"][shared.both]["type"] == "forbidden"  # it is in the inbox as well
    created = shared.ok("Email/set", {"create": {"d": draft}})["created"]["d"]["id"]
    imported = shared.ok("Email/import", {"emails": {"i": {"blobId": blob, "mailboxIds": {team: True}}}})
    assert imported["notCreated"]["i"]["type"] == "invalidProperties"  # the blob is in the sharee's account
    assert shared.ok("Email/set", {"destroy": [created]})["destroyed"] == [created]
    assert owner.ok("Email/get", {"ids": [shared.both], "properties": ["mailboxIds"]})["list"][0]["mailboxIds"] == {
        shared.inbox: True, team: True}


def test_email_import_into_a_shared_mailbox(shared: Shared) -> None:
    owner = shared.owner
    grant(owner, shared.team, shared.sharee, "mayReadItems")
    spec = {"mailboxIds": {shared.team: True}}
    # blob ids are content hashes: the owner's other blobs do not exist for the sharee
    private_blob = owner.ok("Email/get", {"ids": [shared.private], "properties": ["blobId"]})["list"][0]["blobId"]
    uploaded = owner.upload(shared.make_message("Dropped"), "message/rfc822")["blobId"]
    for blob in (private_blob, uploaded):
        out = shared.ok("Email/import", {"emails": {"i": {**spec, "blobId": blob}}})
        assert out["notCreated"]["i"]["type"] == "invalidProperties"
        parsed = shared.ok("Email/parse", {"blobIds": [blob]})
        assert parsed["notFound"] == [blob] and parsed["parsed"] is None
    assert owner.ok("Email/parse", {"blobIds": [private_blob]})["parsed"]
    # the message of an Email the sharee can read is a blob they can import from
    part_blob = owner.ok("Email/get", {"ids": [shared.team_mail], "properties": ["blobId"]})["list"][0]["blobId"]
    out = shared.ok("Email/import", {"emails": {"i": {**spec, "blobId": part_blob}}})
    assert out["notCreated"]["i"]["type"] == "forbidden"  # no mayAddItems
    grant(owner, shared.team, shared.sharee, "mayReadItems", "mayAddItems")
    out = shared.ok("Email/import", {"emails": {"i": {**spec, "blobId": part_blob, "keywords": {"$seen": True}}}})
    assert out["notCreated"]["i"]["type"] == "forbidden"  # keywords need maySetSeen
    out = shared.ok("Email/import", {"emails": {"i": {**spec, "blobId": part_blob}}})
    assert out["created"]["i"]["id"] in shared.ok("Email/query", {"filter": {"inMailbox": shared.team}})["ids"]


def test_mailbox_set_rights(shared: Shared) -> None:
    owner, team, sharee = shared.owner, shared.team, shared.sharee
    grant(owner, team, sharee, "mayReadItems")
    fails = {
        "rename": shared.ok("Mailbox/set", {"update": {team: {"name": "Mine"}}})["notUpdated"][team]["type"],
        "destroy": shared.ok("Mailbox/set", {"destroy": [team]})["notDestroyed"][team]["type"],
        "child": shared.ok("Mailbox/set", {"create": {"c": {"name": "Sub", "parentId": team}}})["notCreated"]["c"]["type"],
        "top": shared.ok("Mailbox/set", {"create": {"c": {"name": "Top"}}})["notCreated"]["c"]["type"],
        "escalate": shared.ok("Mailbox/set", {"update": {team: {f"shareWith/{pid(sharee)}/mayDelete": True}}})[
            "notUpdated"][team]["type"],
        "hidden": shared.ok("Mailbox/set", {"update": {shared.inbox: {"name": "x"}}})["notUpdated"][shared.inbox]["type"],
    }
    assert fails == {"rename": "forbidden", "destroy": "forbidden", "child": "forbidden", "top": "forbidden",
                     "escalate": "forbidden", "hidden": "notFound"}
    # isSubscribed is per user and needs no right
    assert shared.ok("Mailbox/set", {"update": {team: {"isSubscribed": False}}})["updated"] == {team: None}
    assert owner.ok("Mailbox/get", {"ids": [team]})["list"][0]["isSubscribed"] is True
    grant(owner, team, sharee, "mayReadItems", "mayCreateChild", "mayRename", "mayShare")
    child = shared.ok("Mailbox/set", {"create": {"c": {"name": "Sub", "parentId": team}}})["created"]["c"]
    # the child inherits Team's grants: the sharee sees what they made, with their rights
    assert child["myRights"] == {r: r in ("mayReadItems", "mayCreateChild", "mayRename", "mayShare") for r in RIGHTS}
    got = owner.ok("Mailbox/get", {"ids": [child["id"]]})["list"][0]
    assert got["parentId"] == team and set(got["shareWith"]) == {pid(sharee)}
    renamed = shared.ok("Mailbox/set", {"update": {child["id"]: {"name": "Renamed"}}})
    assert renamed["updated"] == {child["id"]: None}
    out = shared.ok("Mailbox/set", {"update": {child["id"]: {"role": "archive"}}})
    assert out["notUpdated"][child["id"]]["type"] == "forbidden"
    # a sibling name clash with a Mailbox the sharee cannot see names no id
    hidden = owner.ok("Mailbox/set", {"create": {"h": {"name": "Hidden", "parentId": team}}})["created"]["h"]["id"]
    owner.ok("Mailbox/set", {"update": {hidden: {f"shareWith/{pid(sharee)}": None}}})
    clash = shared.ok("Mailbox/set", {"update": {child["id"]: {"name": "Hidden"}}})["notUpdated"][child["id"]]
    assert clash["type"] == "invalidProperties" and hidden not in str(clash)
    # mayShare lets them share onwards what they hold, but not grant more than they have
    third = shared.owner.server.client()
    out = shared.ok("Mailbox/set", {"update": {team: {f"shareWith/{pid(third)}": {"mayReadItems": True}}}})
    assert out["updated"] == {team: None}
    out = shared.ok("Mailbox/set", {"update": {team: {f"shareWith/{pid(third)}": {"mayDelete": True}}}})
    assert out["notUpdated"][team]["type"] == "forbidden"
    assert [m["id"] for m in fresh(third).call("Mailbox/get", {"accountId": shared.acc, "ids": None})[1]["list"]] == [
        team]

def test_mailbox_destroy_with_emails_needs_may_remove_items(shared: Shared) -> None:
    owner, team = shared.owner, shared.team
    grant(owner, team, shared.sharee, "mayReadItems", "mayDelete")
    out = shared.ok("Mailbox/set", {"destroy": [team], "onDestroyRemoveEmails": True})
    assert out["notDestroyed"][team]["type"] == "forbidden"
    assert owner.ok("Mailbox/get", {"ids": [team]})["list"][0]["totalEmails"] == 2
    grant(owner, team, shared.sharee, "mayReadItems", "mayDelete", "mayRemoveItems")
    out = shared.ok("Mailbox/set", {"destroy": [team], "onDestroyRemoveEmails": True})
    assert out["destroyed"] == [team], out["notDestroyed"]
    # the Email only in Team went with it; the one also in the inbox stays there
    left = owner.ok("Email/get", {"ids": [shared.team_mail, shared.both], "properties": ["mailboxIds"]})
    assert left["notFound"] == [shared.team_mail] and left["list"][0]["mailboxIds"] == {shared.inbox: True}
