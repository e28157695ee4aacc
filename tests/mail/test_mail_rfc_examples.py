"""The examples of RFC 8621 §2 (Mailbox), §3 (Thread) and §5 (SearchSnippet),
re-expressed against a real server, plus the MUSTs of those sections that the
examples do not show."""

from __future__ import annotations

import unicodedata

COUNTS = ["totalEmails", "totalThreads", "unreadEmails", "unreadThreads"]
RIGHTS = {
    "mayReadItems", "mayAddItems", "mayRemoveItems", "maySetSeen", "maySetKeywords",
    "mayCreateChild", "mayRename", "mayDelete", "maySubmit",
    "mayShare",  # draft-ietf-jmap-mail-sharing extends MailboxRights
}


def methods(client, *calls):
    """The responses of one request, by call id."""
    resp = client.request([[name, {"accountId": client.account_id, **args}, cid] for name, args, cid in calls])
    return {cid: (name, args) for name, args, cid in resp["methodResponses"]}


# -- §2 Mailbox ------------------------------------------------------------------
def test_mailbox_get_example(client):
    """[[ "Mailbox/get", {"accountId": ..., "ids": null}, "0" ]]: every property,
    typed as the RFC's response shows it."""
    got = client.ok("Mailbox/get", {"ids": None})
    assert set(got) == {"accountId", "state", "list", "notFound"}
    assert got["accountId"] == client.account_id and got["notFound"] == []
    assert isinstance(got["state"], str)
    inbox = next(m for m in got["list"] if m["role"] == "inbox")
    assert set(inbox) == {
        "id", "name", "parentId", "role", "sortOrder", *COUNTS, "myRights", "isSubscribed",
        "shareWith",  # the mail sharing draft
    }
    assert inbox["parentId"] is None and inbox["isSubscribed"] is True
    assert all(isinstance(inbox[c], int) and inbox[c] >= 0 for c in COUNTS)
    assert set(inbox["myRights"]) == RIGHTS
    assert all(isinstance(v, bool) for v in inbox["myRights"].values())
    assert isinstance(inbox["sortOrder"], int) and 0 <= inbox["sortOrder"] < 2**31


def test_mailbox_changes_example_with_back_references(client, mail, make_message):
    """An Email is marked read; Mailbox/changes then two Mailbox/get calls by
    back-reference: /created (none), and /updated restricted to
    /updatedProperties, so only the counts come back."""
    inbox = mail.role("inbox")
    email = mail.import_(make_message("unread"))["id"]
    before = client.ok("Mailbox/get", {"ids": [inbox]})["list"][0]
    state = client.ok("Mailbox/get", {"ids": []})["state"]
    client.ok("Email/set", {"update": {email: {"keywords/$seen": True}}})
    resp = methods(
        client,
        ("Mailbox/changes", {"sinceState": state}, "0"),
        ("Mailbox/get", {"#ids": {"resultOf": "0", "name": "Mailbox/changes", "path": "/created"}}, "1"),
        ("Mailbox/get", {
            "#ids": {"resultOf": "0", "name": "Mailbox/changes", "path": "/updated"},
            "#properties": {"resultOf": "0", "name": "Mailbox/changes", "path": "/updatedProperties"},
        }, "2"),
    )
    name, changes = resp["0"]
    assert name == "Mailbox/changes"
    assert changes["oldState"] == state and changes["newState"] != state
    assert changes["hasMoreChanges"] is False
    assert sorted(changes["updatedProperties"]) == COUNTS
    assert (changes["created"], changes["updated"], changes["destroyed"]) == ([], [inbox], [])
    assert resp["1"] == ("Mailbox/get", {
        "accountId": client.account_id, "state": changes["newState"], "list": [], "notFound": [],
    })
    name, got = resp["2"]
    assert got["state"] == changes["newState"] and got["notFound"] == []
    assert got["list"] == [{
        "id": inbox,
        "totalEmails": before["totalEmails"],
        "unreadEmails": before["unreadEmails"] - 1,
        "totalThreads": before["totalThreads"],
        "unreadThreads": before["unreadThreads"] - 1,
    }]


def test_mailbox_changes_without_count_only_changes_has_null_updated_properties(client):
    """'If the server is unable to tell if only counts have changed, it MUST just be null.'"""
    state = client.ok("Mailbox/get", {"ids": []})["state"]
    created = client.ok("Mailbox/set", {"create": {"a": {"name": "New"}}})["created"]["a"]["id"]
    changes = client.ok("Mailbox/changes", {"sinceState": state})
    assert changes["created"] == [created] and changes["updatedProperties"] is None


def test_mailbox_set_example_rename_and_refused_destroy(client, mail, make_message):
    """Rename one Mailbox and destroy another in one call with ifInState; the
    rename succeeds (updated: {id: null}) and the destroy is refused."""
    boxes = client.ok("Mailbox/set", {"create": {"a": {"name": "Important mail"}, "b": {"name": "Full"}}})["created"]
    important, full = boxes["a"]["id"], boxes["b"]["id"]
    mail.import_(make_message("keep me"), mailbox=full)
    state = client.ok("Mailbox/get", {"ids": []})["state"]
    resp = client.ok("Mailbox/set", {
        "ifInState": state,
        "update": {important: {"name": "Maybe important mail"}},
        "destroy": [full],
    })
    assert resp["oldState"] == state and resp["newState"] != state
    assert resp["updated"] == {important: None}
    assert resp["notDestroyed"][full]["type"] == "mailboxHasEmail"
    assert resp["created"] is None and resp["destroyed"] is None
    # A stale ifInState: the whole call is refused.
    name, err = client.call("Mailbox/set", {"ifInState": state, "destroy": [important]})
    assert (name, err["type"]) == ("error", "stateMismatch")


def test_mailbox_sort_order_is_below_2_pow_31(client):
    """'The number MUST be an integer in the range 0 <= sortOrder < 2^31.'"""
    resp = client.ok("Mailbox/set", {"create": {
        "max": {"name": "Max", "sortOrder": 2**31 - 1},
        "big": {"name": "Big", "sortOrder": 2**31},
        "neg": {"name": "Neg", "sortOrder": -1},
    }})
    assert set(resp["created"]) == {"max"}
    assert resp["notCreated"]["big"]["properties"] == ["sortOrder"]
    assert resp["notCreated"]["neg"]["properties"] == ["sortOrder"]
    box = resp["created"]["max"]["id"]
    resp = client.ok("Mailbox/set", {"update": {box: {"sortOrder": 2**40}}})
    assert resp["notUpdated"][box]["properties"] == ["sortOrder"]


def test_mailbox_name_is_net_unicode(client):
    """name 'MUST be a Net-Unicode string [RFC5198]': NFC, no control characters.
    A decomposed name is stored composed, and the created/updated response says so."""
    decomposed = "Cafe\u0301"
    composed = unicodedata.normalize("NFC", decomposed)
    resp = client.ok("Mailbox/set", {"create": {
        "nfd": {"name": decomposed},
        "c1": {"name": "bad\u0085name"},
        "del": {"name": "bad\u007fname"},
    }})
    created = resp["created"]["nfd"]
    assert created["name"] == composed
    assert resp["notCreated"]["c1"]["properties"] == ["name"]
    assert resp["notCreated"]["del"]["properties"] == ["name"]
    box = created["id"]
    assert client.ok("Mailbox/get", {"ids": [box]})["list"][0]["name"] == composed
    # The composed and decomposed spellings are the same name for siblings.
    resp = client.ok("Mailbox/set", {"create": {"again": {"name": composed}}})
    assert resp["notCreated"]["again"]["type"] == "alreadyExists"
    assert resp["notCreated"]["again"]["existingId"] == box
    resp = client.ok("Mailbox/set", {"update": {box: {"name": "Re\u0301sume\u0301"}}})
    assert resp["updated"][box] == {"name": unicodedata.normalize("NFC", "Re\u0301sume\u0301")}
    resp = client.ok("Mailbox/set", {"update": {box: {"name": "Plain"}}})
    assert resp["updated"][box] is None


def test_mailbox_destroy_errors(client, mail, make_message):
    """mailboxHasChild; mailboxHasEmail unless onDestroyRemoveEmails."""
    boxes = client.ok("Mailbox/set", {"create": {"p": {"name": "P"}, "c": {"name": "C", "parentId": "#p"}}})["created"]
    parent, child = boxes["p"]["id"], boxes["c"]["id"]
    mail.import_(make_message("in child"), mailbox=child)
    resp = client.ok("Mailbox/set", {"destroy": [parent]})
    assert resp["notDestroyed"][parent]["type"] == "mailboxHasChild"
    resp = client.ok("Mailbox/set", {"destroy": [child]})
    assert resp["notDestroyed"][child]["type"] == "mailboxHasEmail"
    resp = client.ok("Mailbox/set", {"destroy": [child, parent], "onDestroyRemoveEmails": True})
    assert resp["destroyed"] == [child, parent]


# -- §3 Thread ---------------------------------------------------------------------
def test_thread_get_example(client, mail, make_message):
    """Two Threads, one with two Emails (oldest first by receivedAt) and one
    with one; an unknown id is in notFound."""
    first = mail.import_(make_message("Plan", message_id="plan@x"), receivedAt="2021-01-02T10:00:00Z")
    # The reply arrives with an older receivedAt: it still sorts first.
    reply = mail.import_(make_message("Re: Plan", message_id="re-plan@x", in_reply_to="plan@x"),
                         receivedAt="2021-01-01T10:00:00Z")
    other = mail.import_(make_message("Other", message_id="other@x"), receivedAt="2021-01-03T10:00:00Z")
    assert first["threadId"] == reply["threadId"] != other["threadId"]
    got = client.ok("Thread/get", {"ids": [first["threadId"], other["threadId"]]})
    assert got == {
        "accountId": client.account_id,
        "state": got["state"],
        "list": [
            {"id": first["threadId"], "emailIds": [reply["id"], first["id"]]},
            {"id": other["threadId"], "emailIds": [other["id"]]},
        ],
        "notFound": [],
    }
    assert client.ok("Thread/get", {"ids": ["Tnope"]})["notFound"] == ["Tnope"]
    # Thread/get with properties: id is always returned.
    got = client.ok("Thread/get", {"ids": [other["threadId"]], "properties": ["emailIds"]})
    assert got["list"] == [{"id": other["threadId"], "emailIds": [other["id"]]}]


def test_thread_changes(client, mail, make_message):
    """Standard /changes: a new Thread is created, a reply updates its Thread,
    destroying the last Email destroys the Thread."""
    state = client.ok("Thread/get", {"ids": []})["state"]
    root = mail.import_(make_message("Topic", message_id="topic@x"))
    changes = client.ok("Thread/changes", {"sinceState": state})
    assert (changes["created"], changes["updated"], changes["destroyed"]) == ([root["threadId"]], [], [])
    assert changes["oldState"] == state and changes["hasMoreChanges"] is False
    assert "updatedProperties" not in changes  # that is Mailbox/changes only
    state = changes["newState"]
    reply = mail.import_(make_message("Re: Topic", message_id="re-topic@x", in_reply_to="topic@x"))
    assert reply["threadId"] == root["threadId"]
    changes = client.ok("Thread/changes", {"sinceState": state})
    assert (changes["created"], changes["updated"], changes["destroyed"]) == ([], [root["threadId"]], [])
    state = changes["newState"]
    client.ok("Email/set", {"destroy": [reply["id"], root["id"]]})
    changes = client.ok("Thread/changes", {"sinceState": state})
    assert changes["destroyed"] == [root["threadId"]] and changes["created"] == []
    assert client.ok("Thread/get", {"ids": [root["threadId"]]})["notFound"] == [root["threadId"]]
    name, err = client.call("Thread/changes", {"sinceState": state, "maxChanges": 0})
    assert (name, err["type"]) == ("error", "invalidArguments")
    name, err = client.call("Thread/set", {"create": {}})
    assert (name, err["type"]) == ("error", "unknownMethod")


# -- §5 SearchSnippet -----------------------------------------------------------------
def test_search_snippet_example(client, mail, make_message):
    """The RFC's three snippets for the filter {"text": "foo"}."""
    none = mail.import_(make_message("Nothing here", body="No match in this one.\r\n"))["id"]
    foosball = mail.import_(make_message(
        "The Foosball competition",
        body="This year the foosball competition will be held in the Stadium de Paris.\r\n",
    ))["id"]
    widget = mail.import_(make_message(
        "Results",
        body="Using the Foo/bar method results often returns <1 widget rather than the complete set.\r\n",
    ))["id"]
    resp = client.ok("SearchSnippet/get", {"filter": {"text": "foo"}, "emailIds": [none, foosball, widget]})
    assert set(resp) == {"accountId", "list", "notFound"}
    assert resp["accountId"] == client.account_id and resp["notFound"] is None
    snippets = {s["emailId"]: s for s in resp["list"]}
    assert set(snippets) == {none, foosball, widget}
    assert all(set(s) == {"emailId", "subject", "preview"} for s in resp["list"])  # no "id"
    assert snippets[none] == {"emailId": none, "subject": None, "preview": None}
    assert snippets[foosball]["subject"] == "The <mark>Foo</mark>sball competition"
    assert "the <mark>foo</mark>sball competition will be held" in snippets[foosball]["preview"]
    assert snippets[widget]["subject"] is None
    assert "<mark>Foo</mark>/bar method results often returns &lt;1 widget" in snippets[widget]["preview"]


def test_search_snippet_preview_is_at_most_255_octets(client, mail, make_message):
    """'It MUST NOT be bigger than 255 octets in size' — with multi-octet text,
    characters that must be escaped, and many matches."""
    bodies = [
        "前置き" * 30 + " zebra " + "しまうま zebra & <zebra> " * 40,
        "é" * 100 + " zebra" * 200,
        "<>&" * 200 + "zebra" + "<>&" * 200,
        "x" * 5000 + " zebra " + "y" * 5000,
    ]
    ids = [mail.import_(make_message(f"body {i}", body=b + "\r\n"))["id"] for i, b in enumerate(bodies)]
    resp = client.ok("SearchSnippet/get", {"filter": {"body": "zebra"}, "emailIds": ids})
    assert len(resp["list"]) == len(ids)
    for snippet in resp["list"]:
        preview = snippet["preview"]
        assert preview is not None and "<mark>zebra</mark>" in preview, snippet
        assert len(preview.encode("utf-8")) <= 255, (len(preview.encode("utf-8")), preview)
        # Entities and mark tags are never cut in half.
        stripped = preview.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in stripped and ">" not in stripped
        assert all(part.split(";", 1)[0] in ("lt", "gt", "amp", "quot", "#x27")
                   for part in stripped.split("&")[1:]), preview


def test_search_snippet_errors(make_server, make_message):
    """requestTooLarge for too many emailIds; unsupportedFilter for a filter the
    server cannot process; a missing emailIds is invalidArguments."""
    server = make_server({"limits": {"max_objects_in_get": 2}})
    client = server.client()
    name, err = client.call("SearchSnippet/get", {"filter": {"text": "x"}, "emailIds": ["Ma", "Mb", "Mc"]})
    assert (name, err["type"]) == ("error", "requestTooLarge")
    name, err = client.call("SearchSnippet/get", {"filter": {"colour": "red"}, "emailIds": ["Ma"]})
    assert (name, err["type"]) == ("error", "unsupportedFilter")
    name, err = client.call("SearchSnippet/get", {"filter": None})
    assert (name, err["type"]) == ("error", "invalidArguments")
    resp = client.ok("SearchSnippet/get", {"filter": None, "emailIds": ["Ma"]})
    assert resp["list"] == [] and resp["notFound"] == ["Ma"]
