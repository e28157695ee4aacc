"""Many Emails in one Email/import call (jmapd_mail.bulk, the path ``jmapd import`` shares).

The batch is written with one statement per table, threads decided in
memory; these tests hold it to the definitions: Threads are the linked
components, Mailbox counts equal counting from scratch, the newest Email of
each Thread is the one a collapsed listing shows, and a quota refusal in the
middle of a batch leaves the others stored and the usage exact.
"""

from __future__ import annotations

import random
from typing import Any

from jmapd_mail.counts import COUNTS, count_by_scanning

from .test_mail_quota import held, msg, quotas, set_limit, used


def _components(links: dict[str, list[str]]) -> list[set[str]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for msgid, refs in links.items():
        for ref in refs:
            parent[find(msgid)] = find(ref)
    groups: dict[str, set[str]] = {}
    for msgid in links:
        groups.setdefault(find(msgid), set()).add(msgid)
    return sorted(groups.values(), key=sorted)


def test_one_import_call_threads_counts_and_listing_exact(client: Any, mail: Any, make_message: Any) -> None:
    rng = random.Random(14)
    boxes = mail.mailboxes()
    extra = client.ok("Mailbox/set", {"create": {"a": {"name": "Projects"}}})["created"]["a"]["id"]
    box_ids = [boxes["inbox"]["id"], boxes["archive"]["id"], boxes["trash"]["id"], extra]
    # Stored before the batch: two separate Threads the batch will join (and one Email will merge).
    first = mail.import_(make_message("topic", message_id="old1@bulk"), mailbox=box_ids[0])
    second = mail.import_(make_message("topic", message_id="old2@bulk"), mailbox=box_ids[1])
    links: dict[str, list[str]] = {"old1@bulk": [], "old2@bulk": []}
    state = {t: client.ok(f"{t}/get", {"ids": []})["state"] for t in ("Email", "Thread", "Mailbox")}
    emails = {}
    for i in range(30):
        msgid = f"n{i}@bulk"
        # replies to earlier ones of the same batch and to the stored two; two refs may merge Threads
        refs = rng.sample(sorted(links), k=min(len(links), rng.choice([0, 1, 1, 2])))
        if i == 7:
            refs = ["old1@bulk", "old2@bulk"]  # certainly a merge of two stored Threads
        links[msgid] = refs
        raw = make_message("Re: topic" if refs else "topic", message_id=msgid, frm=f"Sender {i} <s{i}x@bulk.example>",
                           body=f"body word{i}qz\r\n", references=" ".join(f"<{r}>" for r in refs) or None)
        blob = client.upload(raw, "message/rfc822")["blobId"]
        emails[msgid] = {
            "blobId": blob,
            "mailboxIds": {b: True for b in rng.sample(box_ids, k=rng.choice([1, 1, 2]))},
            "keywords": {"$seen": True} if rng.random() < 0.4 else {},
            "receivedAt": f"2021-01-{1 + i % 28:02d}T{i % 24:02d}:{i:02d}:00Z",
        }
    out = client.ok("Email/import", {"emails": emails})
    assert not out["notCreated"] and set(out["created"]) == set(emails)
    ids = {m: c["id"] for m, c in out["created"].items()} | {"old1@bulk": first["id"], "old2@bulk": second["id"]}
    got = {e["id"]: e for e in client.ok("Email/get", {"ids": list(ids.values()),
                                                        "properties": ["threadId", "mailboxIds", "receivedAt"]})["list"]}
    # Threads are the linked components (all subjects agree); a later merge in the call may have
    # moved an Email out of the Thread its creation answered, as one call per Email would
    by_thread: dict[str, set[str]] = {}
    for msgid, email_id in ids.items():
        by_thread.setdefault(got[email_id]["threadId"], set()).add(msgid)
    assert sorted(by_thread.values(), key=sorted) == _components(links)
    # counts as counted from scratch
    served = {m["id"]: {k: m[k] for k in COUNTS} for m in client.ok("Mailbox/get", {"ids": None})["list"]}
    scanned = count_by_scanning(client.account_id)
    assert served == {m: scanned.get(m, dict.fromkeys(COUNTS, 0)) for m in served}
    # a collapsed listing shows each Thread's newest Email of the Mailbox
    for box in box_ids:
        listed = client.ok("Email/query", {"filter": {"inMailbox": box}, "collapseThreads": True,
                                           "sort": [{"property": "receivedAt", "isAscending": False}]})["ids"]
        newest: dict[str, tuple[str, str]] = {}
        for email_id, e in got.items():
            if box in e["mailboxIds"]:
                newest[e["threadId"]] = max(newest.get(e["threadId"], ("", "")), (e["receivedAt"], email_id))
        assert sorted(listed) == sorted(email_id for _, email_id in newest.values())
    # each Email's own text and address in the search indexes, under its own id
    for i in (0, 7, 13, 29):
        email_id = ids[f"n{i}@bulk"]
        assert client.ok("Email/query", {"filter": {"text": f"word{i}qz"}})["ids"] == [email_id]
        assert client.ok("Email/query", {"filter": {"from": f"s{i}x@bulk"}})["ids"] == [email_id]
    # the change log names every new Email and Thread, and the merged-away Thread as destroyed
    changes = client.ok("Email/changes", {"sinceState": state["Email"]})
    assert set(out["created"][m]["id"] for m in out["created"]) <= set(changes["created"])
    threads = client.ok("Thread/changes", {"sinceState": state["Thread"]})
    now_threads = set(by_thread)
    assert now_threads <= set(threads["created"]) | set(threads["updated"])
    assert {first["threadId"], second["threadId"]} - now_threads <= set(threads["destroyed"])
    assert set(box_ids) <= set(client.ok("Mailbox/changes", {"sinceState": state["Mailbox"]})["updated"])


def test_quota_refusal_inside_a_batch_keeps_the_rest_exact(client: Any, mail: Any) -> None:
    inbox = mail.role("inbox")
    set_limit(client.account_id, "octets", 1_000_000)
    set_limit(client.account_id, "count", 4, "Email")
    raws = [msg(300 + 10 * i, f"b{i}") for i in range(5)]
    blobs = [client.upload(raw, "message/rfc822")["blobId"] for raw in raws]
    assert used(client) == sum(len(r) for r in raws)
    # the same upload twice in one call: two Emails, its upload charge released once
    emails = {"e0": {"blobId": blobs[0], "mailboxIds": {inbox: True}},
              "again": {"blobId": blobs[0], "mailboxIds": {inbox: True}}}
    emails |= {f"e{i}": {"blobId": blobs[i], "mailboxIds": {inbox: True}} for i in range(1, 5)}
    out = client.ok("Email/import", {"emails": emails})
    assert set(out["created"]) == {"e0", "again", "e1", "e2"}, out
    assert {k: v["type"] for k, v in out["notCreated"].items()} == {"e3": "overQuota", "e4": "overQuota"}
    # what is held plus the uploads no Email keeps (e3's and e4's)
    assert held(client) == 2 * len(raws[0]) + len(raws[1]) + len(raws[2])
    assert used(client) == held(client) + len(raws[3]) + len(raws[4])
    assert quotas(client)["count-Email"]["used"] == 4
