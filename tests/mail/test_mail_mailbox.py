"""Mailbox/get, /changes, /query, /queryChanges and /set (RFC 8621 §2)."""

from __future__ import annotations


def test_default_role_mailboxes_and_capability(client):
    got = client.ok("Mailbox/get", {"ids": None})
    roles = {m["role"] for m in got["list"]}
    assert roles == {"inbox", "drafts", "sent", "trash", "junk", "archive"}
    inbox = next(m for m in got["list"] if m["role"] == "inbox")
    assert inbox["totalEmails"] == 0 and inbox["unreadThreads"] == 0 and inbox["parentId"] is None
    assert inbox["myRights"]["mayReadItems"] and inbox["myRights"]["mayDelete"]
    assert inbox["isSubscribed"] is True
    cap = client.session["accounts"][client.account_id]["accountCapabilities"]["urn:ietf:params:jmap:mail"]
    assert cap["maxMailboxDepth"] == 10 and cap["mayCreateTopLevelMailbox"] is True
    assert "receivedAt" in cap["emailQuerySortOptions"]
    changes = client.ok("Mailbox/changes", {"sinceState": "0"})
    assert len(changes["created"]) == 6


def test_set_create_update_destroy_and_errors(client):
    resp = client.ok("Mailbox/set", {"create": {
        "a": {"name": "Projects"},
        "b": {"name": "Work", "parentId": "#a"},
        "dup": {"name": "Inbox"},
        "role": {"name": "Other inbox", "role": "inbox"},
        "badrole": {"name": "X", "role": "Inbox"},
        "noparent": {"name": "Y", "parentId": "mnothere"},
        "empty": {"name": ""},
        "server": {"name": "Z", "totalEmails": 3},
    }})
    assert set(resp["created"]) == {"a", "b"}
    created = resp["created"]["a"]
    assert created["totalEmails"] == 0 and created["myRights"]["mayRename"] is True
    errors = resp["notCreated"]
    assert errors["dup"]["type"] == "alreadyExists" and errors["dup"]["existingId"]
    assert errors["role"]["properties"] == ["role"]
    assert errors["badrole"]["properties"] == ["role"]
    assert errors["noparent"]["properties"] == ["parentId"]
    assert errors["empty"]["properties"] == ["name"]
    assert errors["server"]["properties"] == ["totalEmails"]
    a, b = resp["created"]["a"]["id"], resp["created"]["b"]["id"]
    # cycles: a under its own child
    resp = client.ok("Mailbox/set", {"update": {a: {"parentId": b}, b: {"parentId": b}}})
    assert resp["notUpdated"][a]["properties"] == ["parentId"]
    assert resp["notUpdated"][b]["properties"] == ["parentId"]
    # destroying a parent with a child
    resp = client.ok("Mailbox/set", {"destroy": [a]})
    assert resp["notDestroyed"][a]["type"] == "mailboxHasChild"
    resp = client.ok("Mailbox/set", {"update": {b: {"name": "Renamed", "sortOrder": 5, "isSubscribed": False}}})
    assert b in resp["updated"]
    got = client.ok("Mailbox/get", {"ids": [b]})["list"][0]
    assert (got["name"], got["sortOrder"], got["isSubscribed"]) == ("Renamed", 5, False)
    resp = client.ok("Mailbox/set", {"destroy": [b, a]})
    assert resp["destroyed"] == [b, a]


def test_max_depth(make_server):
    server = make_server({"mail": {"max_mailbox_depth": 2}})
    c = server.client()
    resp = c.ok("Mailbox/set", {"create": {
        "a": {"name": "A"}, "b": {"name": "B", "parentId": "#a"}, "c": {"name": "C", "parentId": "#b"},
    }})
    assert set(resp["created"]) == {"a", "b"}
    assert resp["notCreated"]["c"]["properties"] == ["parentId"]
    cap = c.session["accounts"][c.account_id]["accountCapabilities"]["urn:ietf:params:jmap:mail"]
    assert cap["maxMailboxDepth"] == 2


def test_destroy_with_emails(client, mail, make_message):
    resp = client.ok("Mailbox/set", {"create": {"x": {"name": "Box"}, "y": {"name": "Box2"}}})
    box, box2 = resp["created"]["x"]["id"], resp["created"]["y"]["id"]
    only = mail.import_(make_message("only here"), mailbox=box)["id"]
    both = mail.import_(make_message("two boxes"), mailbox=box)["id"]
    client.ok("Email/set", {"update": {both: {f"mailboxIds/{box2}": True}}})
    resp = client.ok("Mailbox/set", {"destroy": [box]})
    assert resp["notDestroyed"][box]["type"] == "mailboxHasEmail"
    resp = client.ok("Mailbox/set", {"destroy": [box], "onDestroyRemoveEmails": True})
    assert resp["destroyed"] == [box]
    got = client.ok("Email/get", {"ids": [only, both], "properties": ["mailboxIds"]})
    assert got["notFound"] == [only]
    assert got["list"][0]["mailboxIds"] == {box2: True}


def test_query_filters_sorts_and_tree(client):
    resp = client.ok("Mailbox/set", {"create": {
        "p": {"name": "Zeta", "sortOrder": 1},
        "c1": {"name": "beta", "parentId": "#p", "sortOrder": 2},
        "c2": {"name": "Alpha", "parentId": "#p", "sortOrder": 2, "isSubscribed": False},
    }})
    ids = {k: v["id"] for k, v in resp["created"].items()}
    q = client.ok("Mailbox/query", {"filter": {"parentId": ids["p"]}, "sort": [{"property": "name"}]})
    assert q["ids"] == [ids["c2"], ids["c1"]]
    q = client.ok("Mailbox/query", {"filter": {"hasAnyRole": True}})
    assert len(q["ids"]) == 6
    q = client.ok("Mailbox/query", {"filter": {"role": "trash"}})
    assert len(q["ids"]) == 1
    q = client.ok("Mailbox/query", {"filter": {"name": "ALPHA"}})
    assert q["ids"] == [ids["c2"]]
    q = client.ok("Mailbox/query", {"filter": {"isSubscribed": False}})
    assert q["ids"] == [ids["c2"]]
    q = client.ok("Mailbox/query", {"filter": {"operator": "NOT", "conditions": [{"hasAnyRole": True}]},
                                     "sort": [{"property": "sortOrder"}, {"property": "name"}], "sortAsTree": True})
    assert q["ids"] == [ids["p"], ids["c2"], ids["c1"]]
    q = client.ok("Mailbox/query", {"filter": {"operator": "NOT", "conditions": [{"name": "Zeta"}]}, "filterAsTree": True})
    assert ids["c1"] not in q["ids"] and ids["c2"] not in q["ids"]
    name, err = client.call("Mailbox/query", {"sort": [{"property": "totalEmails"}]})
    assert (name, err["type"]) == ("error", "unsupportedSort")
    name, err = client.call("Mailbox/query", {"filter": {"colour": "red"}})
    assert (name, err["type"]) == ("error", "unsupportedFilter")
    q1 = client.ok("Mailbox/query", {"sort": [{"property": "name"}]})
    client.ok("Mailbox/set", {"update": {ids["c1"]: {"name": "Aardvark"}}})
    qc = client.ok("Mailbox/queryChanges", {"sinceQueryState": q1["queryState"], "sort": [{"property": "name"}]})
    assert qc["removed"] == [ids["c1"]] and qc["added"] == [{"id": ids["c1"], "index": 0}]


def test_counts_and_updated_properties(client, mail, make_message):
    boxes = mail.mailboxes()
    inbox, trash = boxes["inbox"]["id"], boxes["trash"]["id"]
    state = client.ok("Mailbox/get", {"ids": []})["state"]
    first = mail.import_(make_message("thread", message_id="t1@x"), keywords={"$seen": True})
    second = mail.import_(make_message("Re: thread", message_id="t2@x", in_reply_to="t1@x"), mailbox="trash")
    assert first["threadId"] == second["threadId"]
    changes = client.ok("Mailbox/changes", {"sinceState": state})
    assert sorted(changes["updated"]) == sorted([inbox, trash])
    assert changes["updatedProperties"] == ["totalEmails", "totalThreads", "unreadEmails", "unreadThreads"]
    got = {m["id"]: m for m in client.ok("Mailbox/get", {"ids": [inbox, trash]})["list"]}
    # the RFC's example: unread Email only in trash, read one in inbox
    assert (got[inbox]["totalEmails"], got[inbox]["unreadEmails"], got[inbox]["totalThreads"], got[inbox]["unreadThreads"]) == (1, 0, 1, 0)
    assert (got[trash]["totalEmails"], got[trash]["unreadEmails"], got[trash]["totalThreads"], got[trash]["unreadThreads"]) == (1, 1, 1, 1)
    # moving the unread one to the inbox makes the inbox thread unread
    client.ok("Email/set", {"update": {second["id"]: {"mailboxIds": {inbox: True}}}})
    got = client.ok("Mailbox/get", {"ids": [inbox], "properties": ["unreadThreads", "totalEmails"]})["list"][0]
    assert got["unreadThreads"] == 1 and got["totalEmails"] == 2
    # keyword change: counts (only) change, with a back-reference as in the RFC example
    state = client.ok("Mailbox/get", {"ids": []})["state"]
    client.ok("Email/set", {"update": {second["id"]: {"keywords/$seen": True}}})
    resp = client.request([
        ["Mailbox/changes", {"accountId": client.account_id, "sinceState": state}, "0"],
        ["Mailbox/get", {"accountId": client.account_id, "#ids": {"resultOf": "0", "name": "Mailbox/changes", "path": "/updated"},
                         "#properties": {"resultOf": "0", "name": "Mailbox/changes", "path": "/updatedProperties"}}, "1"],
    ])
    changes, got = resp["methodResponses"][0][1], resp["methodResponses"][1][1]
    assert changes["updated"] == [inbox]
    assert got["list"][0]["unreadEmails"] == 0 and got["list"][0]["unreadThreads"] == 0
    assert set(got["list"][0]) == {"id", "totalEmails", "unreadEmails", "totalThreads", "unreadThreads"}
    # a rename is not counts-only
    state = got["state"]
    client.ok("Mailbox/set", {"update": {inbox: {"sortOrder": 9}}})
    assert client.ok("Mailbox/changes", {"sinceState": state})["updatedProperties"] is None


def test_duplicate_sibling_name_is_already_exists(client):
    """Issue #9.7: RFC 8620 §5.3 alreadyExists with existingId, on create and rename;
    the same name under another parent is fine."""
    made = client.ok("Mailbox/set", {"create": {
        "a": {"name": "Projects"}, "p": {"name": "Parent"}, "b": {"name": "Other"},
    }})["created"]
    existing, parent, other = made["a"]["id"], made["p"]["id"], made["b"]["id"]
    resp = client.ok("Mailbox/set", {"create": {
        "dup": {"name": "Projects"},
        "nested": {"name": "Projects", "parentId": parent},
    }})
    assert resp["notCreated"]["dup"] == {
        "type": "alreadyExists", "existingId": existing,
        "description": resp["notCreated"]["dup"]["description"],
    }
    assert "nested" in resp["created"]
    resp = client.ok("Mailbox/set", {"update": {other: {"name": "Projects"}}})
    assert resp["notUpdated"][other]["type"] == "alreadyExists"
    assert resp["notUpdated"][other]["existingId"] == existing
    # re-setting an unchanged name is not an error
    resp = client.ok("Mailbox/set", {"update": {existing: {"name": "Projects"}}})
    assert existing in resp["updated"]
