"""Email/query and /queryChanges (RFC 8621 §4.4, §4.5) and SearchSnippet/get (§5)."""

from __future__ import annotations

import pytest


@pytest.fixture
def corpus(client, mail, make_message):
    """Five Emails with distinct dates, sizes, senders, keywords and words."""
    archive = mail.role("archive")
    specs = [
        ("Quarterly zebra report", "Alice <alice@example.com>", "bob@example.org", "The zebra numbers look good", {"$seen": True}, "inbox", "2021-01-01T10:00:00Z", None),
        ("Lunch?", "Carol <carol@corp.example>", "alice@example.com", "Pizza or sushi", {}, "inbox", "2021-01-02T10:00:00Z", None),
        ("Re: Lunch?", "Bob <bob@example.org>", "carol@corp.example", "Sushi please, with extra wasabi", {"$flagged": True}, "inbox", "2021-01-03T10:00:00Z", "lunch"),
        ("Invoice 42", "billing@shop.example", "alice@example.com", "Amount due", {"$seen": True}, archive, "2021-01-04T10:00:00Z", None),
        ("Holiday pictures", "Dave <dave@example.net>", "alice@example.com", "See attached " + "x" * 3000, {}, "inbox", "2021-01-05T10:00:00Z", None),
    ]
    ids = []
    for subject, frm, to, body, keywords, box, when, thread in specs:
        raw = make_message(subject, frm=frm, to=to, body=body,
                           message_id=f"{subject.replace(' ', '').replace('?', '').replace(':', '')}@x" if not thread else "relunch@x",
                           in_reply_to="Lunch@x" if thread else None,
                           extra="List-Id: <pics.example.net>" if "Holiday" in subject else "")
        ids.append(mail.import_(raw, mailbox=box, keywords=keywords, receivedAt=when)["id"])
    return ids


def q(client, **args):
    return client.ok("Email/query", args)["ids"]


def test_filters(client, mail, corpus):
    e = corpus
    inbox = mail.role("inbox")
    assert q(client, filter={"inMailbox": inbox}) == [e[4], e[2], e[1], e[0]]
    assert q(client, filter={"inMailboxOtherThan": [inbox]}) == [e[3]]
    assert q(client, filter={"before": "2021-01-02T10:00:00Z"}) == [e[0]]
    assert q(client, filter={"after": "2021-01-04T10:00:00Z"}) == [e[4], e[3]]
    assert q(client, filter={"minSize": 3000}) == [e[4]]
    assert e[4] not in q(client, filter={"maxSize": 3000})
    assert q(client, filter={"hasKeyword": "$SEEN"}) == [e[3], e[0]]
    assert q(client, filter={"notKeyword": "$seen"}) == [e[4], e[2], e[1]]
    assert q(client, filter={"someInThreadHaveKeyword": "$flagged"}) == [e[2], e[1]]
    assert q(client, filter={"allInThreadHaveKeyword": "$flagged"}) == []
    assert q(client, filter={"noneInThreadHaveKeyword": "$flagged"}) == [e[4], e[3], e[0]]
    assert q(client, filter={"hasAttachment": True}) == []
    assert q(client, filter={"from": "corp.example"}) == [e[1]]
    assert q(client, filter={"to": "carol"}) == [e[2]]
    assert q(client, filter={"subject": "lunch"}) == [e[2], e[1]]
    assert q(client, filter={"body": "wasabi"}) == [e[2]]
    assert q(client, filter={"text": "zebra"}) == [e[0]]
    assert q(client, filter={"text": "shop.example"}) == [e[3]]
    assert q(client, filter={"cc": "anyone"}) == []
    assert q(client, filter={"header": ["List-Id"]}) == [e[4]]
    assert q(client, filter={"header": ["list-id", "PICS"]}) == [e[4]]
    assert q(client, filter={"operator": "OR", "conditions": [{"body": "wasabi"}, {"subject": "invoice"}]}) == [e[3], e[2]]
    assert q(client, filter={"operator": "AND", "conditions": [{"inMailbox": inbox}, {"notKeyword": "$seen"}]}) == [e[4], e[2], e[1]]
    assert q(client, filter={"operator": "NOT", "conditions": [{"inMailbox": inbox}, {"hasKeyword": "$flagged"}]}) == [e[3]]
    for bad in ({"before": "yesterday"}, {"hasKeyword": "bad kw"}, {"header": []}, {"minSize": -1}):
        name, err = client.call("Email/query", {"filter": bad})
        assert (name, err["type"]) == ("error", "invalidArguments"), bad
    name, err = client.call("Email/query", {"filter": {"attachmentType": "pdf"}})
    assert err["type"] == "unsupportedFilter"


def test_sorts_collapse_and_windows(client, corpus):
    e = corpus
    assert q(client, sort=[{"property": "receivedAt", "isAscending": True}]) == e
    assert q(client, sort=[{"property": "size", "isAscending": False}])[0] == e[4]
    assert q(client, sort=[{"property": "subject"}]) == [e[4], e[3], e[1], e[0], e[2]]
    assert q(client, sort=[{"property": "from"}])[0] == e[0]
    assert q(client, sort=[{"property": "hasKeyword", "keyword": "$seen", "isAscending": False},
                           {"property": "receivedAt", "isAscending": True}]) == [e[0], e[3], e[1], e[2], e[4]]
    assert q(client, sort=[{"property": "someInThreadHaveKeyword", "keyword": "$flagged", "isAscending": False},
                           {"property": "receivedAt"}])[:2] == [e[1], e[2]]
    name, err = client.call("Email/query", {"sort": [{"property": "hasKeyword"}]})
    assert err["type"] == "invalidArguments"
    name, err = client.call("Email/query", {"sort": [{"property": "preview"}]})
    assert err["type"] == "unsupportedSort"
    resp = client.ok("Email/query", {"collapseThreads": True, "calculateTotal": True})
    assert resp["ids"] == [e[4], e[3], e[2], e[0]] and resp["total"] == 4
    assert resp["canCalculateChanges"] is True
    resp = client.ok("Email/query", {"anchor": e[2], "anchorOffset": -1, "limit": 2})
    assert resp["ids"] == [e[3], e[2]] and resp["position"] == 1
    resp = client.ok("Email/query", {"position": -2})
    assert resp["ids"] == [e[1], e[0]] and resp["position"] == 3
    name, err = client.call("Email/query", {"anchor": "Mnope"})
    assert err["type"] == "anchorNotFound"


def test_query_changes(client, mail, corpus, make_message):
    e = corpus
    inbox = mail.role("inbox")
    args = {"filter": {"inMailbox": inbox}, "sort": [{"property": "receivedAt", "isAscending": False}]}
    first = client.ok("Email/query", args)
    assert first["canCalculateChanges"] is True
    new = mail.import_(make_message("brand new"), receivedAt="2021-02-01T00:00:00Z")["id"]
    client.ok("Email/set", {"update": {e[1]: {"mailboxIds": {mail.role("trash"): True}}}})
    changes = client.ok("Email/queryChanges", {**args, "sinceQueryState": first["queryState"], "calculateTotal": True})
    assert changes["added"] == [{"id": new, "index": 0}]
    assert e[1] in changes["removed"] and changes["total"] == 4
    collapsed = client.ok("Email/queryChanges", {**args, "collapseThreads": True, "sinceQueryState": first["queryState"]})
    assert collapsed["added"][0] == {"id": new, "index": 0} and e[1] in collapsed["removed"]
    name, err = client.call("Email/queryChanges", {**args, "sinceQueryState": "bogus"})
    assert err["type"] == "cannotCalculateChanges"


def test_search_snippets(client, corpus):
    e = corpus
    resp = client.ok("SearchSnippet/get", {"filter": {"text": "zebra"}, "emailIds": [e[0], e[1], "Mnope"]})
    first, second = resp["list"]
    assert first["emailId"] == e[0]
    assert first["subject"] == "Quarterly <mark>zebra</mark> report"
    assert "<mark>zebra</mark>" in first["preview"]
    assert second == {"emailId": e[1], "subject": None, "preview": None}
    assert resp["notFound"] == ["Mnope"]
    resp = client.ok("SearchSnippet/get", {"filter": {"body": "<script>"}, "emailIds": [e[0]]})
    assert resp["list"][0]["subject"] is None


def test_full_text_lookups_read_only_the_accounts_rows(client, jmap_server, mail, make_message, monkeypatch):
    """Finding 3: the full-text lookup returned every account's matches, so another
    account's large corpus decided how (and how fast) this account's search ran.
    With FEW_MATCHES at 3 and six matches elsewhere, the one own match is still
    looked up as a short id list; results are exact for both accounts, the
    account's index token is not searchable text, and a destroyed Email leaves
    the index."""
    from jmapd_mail import search

    from .conftest import MailHelper

    other = jmap_server.client()
    theirs = [MailHelper(other).deliver(make_message(f"zebra {n}", body="zebra crossing")) for n in range(6)]
    mine = mail.deliver(make_message("zebra mine", body="zebra stripes"))
    mail.deliver(make_message("plain", body="nothing to see"))
    monkeypatch.setattr(search, "FEW_MATCHES", 3)
    listed: list[list[int]] = []
    real = search._listed
    monkeypatch.setattr(search, "_listed", lambda seqs: listed.append(list(seqs)) or real(seqs))
    assert q(client, filter={"text": "zebra"}) == [mine]
    assert len(listed) == 1 and len(listed[0]) == 1
    assert q(client, filter={"body": "stripes"}) == [mine] and q(client, filter={"body": "crossing"}) == []
    assert sorted(q(other, filter={"text": "zebra"})) == sorted(theirs)
    assert q(client, filter={"text": search.account_token(client.account_id)}) == []
    assert q(client, filter={"text": search.account_token(other.account_id)}) == []
    client.ok("Email/set", {"destroy": [mine]})
    assert q(client, filter={"text": "zebra"}) == []
    assert sorted(q(other, filter={"text": "zebra crossing"})) == sorted(theirs)


def test_or_of_the_bound_answers_and_beyond_is_unsupported_filter(client, corpus):
    """Finding 3: an OR of 100-300 terms was serverUnavailable ("retry") or serverFail."""
    from jmapd.methods.standard.query import MAX_FILTER_NODES

    e = corpus
    terms = [{"text": f"nomatch{n}"} for n in range(MAX_FILTER_NODES - 3)] + [{"text": "zebra"}, {"subject": "invoice"}]
    assert q(client, filter={"operator": "OR", "conditions": terms}) == [e[3], e[0]]
    name, err = client.call("Email/query", {"filter": {"operator": "OR", "conditions": [*terms, {"text": "x"}]}})
    assert (name, err["type"]) == ("error", "unsupportedFilter")
    assert str(MAX_FILTER_NODES) in err["description"]
