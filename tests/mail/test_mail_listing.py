"""Mailbox listings served from the (Mailbox, Thread) latest-Email marks, and
Email/queryChanges for collapsed and Thread-keyword queries (RFC 8621 §4.4, §4.5)."""

from __future__ import annotations

import random


def _generic(inbox):
    # The same condition wrapped in an operator takes the general SQL path.
    return {"operator": "AND", "conditions": [{"inMailbox": inbox}]}


def _desc(extra=None):
    return {"sort": [{"property": "receivedAt", "isAscending": False}], **(extra or {})}


def test_latest_marks_follow_every_change(client, mail, make_message):
    inbox, archive, trash = mail.role("inbox"), mail.role("archive"), mail.role("trash")
    rng = random.Random(5)
    ids = []
    for i in range(24):
        thread = i % 5
        raw = make_message(f"topic {thread}", message_id=f"l{i}@x",
                           in_reply_to=f"l{i - 5}@x" if i >= 5 else None)
        box = inbox if i % 4 else archive
        ids.append(mail.import_(raw, mailbox=box, receivedAt=f"2021-03-{1 + rng.randrange(20):02d}T10:00:00Z")["id"])
    # A message that merges two Threads (refers to both roots).
    merge = make_message("topic 1", message_id="merge@x", references="<l1@x> <l6@x>")
    mail.import_(merge, receivedAt="2021-02-01T00:00:00Z")

    def check():
        for box in (inbox, archive, trash):
            for collapse in (True, False):
                args = _desc({"collapseThreads": collapse, "calculateTotal": True})
                fast = client.ok("Email/query", {"filter": {"inMailbox": box}, **args})
                slow = client.ok("Email/query", {"filter": _generic(box), **args})
                assert fast["ids"] == slow["ids"] and fast["total"] == slow["total"], (box, collapse)
                page = client.ok("Email/query", {"filter": {"inMailbox": box}, **args, "position": 2, "limit": 3})
                assert page["ids"] == slow["ids"][2:5]
                if len(slow["ids"]) > 3:
                    anchored = client.ok("Email/query", {"filter": {"inMailbox": box}, **args,
                                                         "anchor": slow["ids"][3], "anchorOffset": -1, "limit": 2})
                    assert anchored["ids"] == slow["ids"][2:4] and anchored["position"] == 2

    check()
    client.ok("Email/set", {"update": {ids[0]: {"mailboxIds": {trash: True}}, ids[7]: {f"mailboxIds/{archive}": True}}})
    check()
    client.ok("Email/set", {"destroy": [ids[5], ids[23]]})
    check()
    client.ok("Email/set", {"update": {ids[10]: {"keywords": {"$seen": True}}}})
    check()


def _apply(old, changes):
    """A client's view of the new results after applying /queryChanges."""
    out = [i for i in old if i not in set(changes["removed"])]
    for item in sorted(changes["added"], key=lambda a: a["index"]):
        out.insert(item["index"], item["id"])
    return out


def test_query_changes_collapsed_and_thread_keywords(client, mail, make_message):
    inbox, archive = mail.role("inbox"), mail.role("archive")
    ids = []
    for i in range(12):
        raw = make_message(f"conv {i % 4}", message_id=f"q{i}@x", in_reply_to=f"q{i - 4}@x" if i >= 4 else None)
        ids.append(mail.import_(raw, receivedAt=f"2021-04-{1 + i:02d}T10:00:00Z")["id"])
    queries = [
        {"filter": {"inMailbox": inbox}, **_desc({"collapseThreads": True})},
        {"collapseThreads": True},
        {"filter": {"someInThreadHaveKeyword": "$flagged"}},
        {"filter": {"noneInThreadHaveKeyword": "$seen"}, "collapseThreads": True},
        {"sort": [{"property": "allInThreadHaveKeyword", "keyword": "$seen"}, {"property": "receivedAt"}]},
    ]
    before = [client.ok("Email/query", q) for q in queries]
    assert all(b["canCalculateChanges"] for b in before)
    new = make_message("conv 2", message_id="q99@x", in_reply_to="q10@x")
    mail.import_(new, receivedAt="2021-04-30T10:00:00Z")
    client.ok("Email/set", {"update": {ids[1]: {"keywords/$flagged": True}, ids[3]: {"keywords/$seen": True},
                                       ids[8]: {"mailboxIds": {archive: True}}}})
    client.ok("Email/set", {"destroy": [ids[4]]})
    for query, old in zip(queries, before, strict=True):
        now = client.ok("Email/query", query)
        changes = client.ok("Email/queryChanges", {**query, "sinceQueryState": old["queryState"], "calculateTotal": True})
        assert _apply(old["ids"], changes) == now["ids"], query
        assert changes["total"] == len(now["ids"])
