"""Stored Mailbox counts equal counting from scratch after every kind of write.

The counts are moved by each write (jmapd_mail.counts) instead of being
recounted on read; here a seeded random mix of every write path runs and,
after each step, Mailbox/get must agree with the definition
(``count_by_scanning``), for every Mailbox, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random

from jmapd_mail.counts import COUNTS, count_by_scanning


def _served(client):
    got = client.ok("Mailbox/get", {"ids": None})["list"]
    return {m["id"]: {k: m[k] for k in COUNTS} for m in got}


def _agree(client):
    served = _served(client)
    scanned = count_by_scanning(client.account_id)
    expected = {m: scanned.get(m, dict.fromkeys(COUNTS, 0)) for m in served}
    assert served == expected
    return served


def test_random_writes_keep_counts_exact(client, mail, make_message):
    rng = random.Random(8621)
    boxes = mail.mailboxes()
    extra = client.ok("Mailbox/set", {"create": {"a": {"name": "Projects"}, "b": {"name": "Lists"}}})["created"]
    box_ids = [boxes[r]["id"] for r in ("inbox", "archive", "trash", "junk")] + [extra["a"]["id"], extra["b"]["id"]]
    emails: list[str] = []
    msgids: list[str] = []
    seen_ops = set()
    for step in range(90):
        op = rng.choice(["import"] * 5 + ["seen", "seen", "move", "destroy", "copyto"]) if emails else "import"
        if op == "import":
            msgid = f"m{step}@counts"
            refs = rng.sample(msgids, k=min(len(msgids), rng.choice([0, 0, 1, 2])))  # 2 refs may merge threads
            raw = make_message("Re: topic" if refs else "topic", message_id=msgid, references=" ".join(f"<{r}>" for r in refs) or None)
            created = mail.import_(raw, mailbox=rng.choice(box_ids), keywords={"$seen": True} if rng.random() < 0.4 else {})
            emails.append(created["id"])
            msgids.append(msgid)
        elif op == "seen":
            target = rng.choice(emails)
            client.ok("Email/set", {"update": {target: {"keywords/$seen": rng.random() < 0.5 or None}}})
        elif op == "move":
            target = rng.choice(emails)
            client.ok("Email/set", {"update": {target: {"mailboxIds": {b: True for b in rng.sample(box_ids, k=rng.choice([1, 1, 2]))}}}})
        elif op == "copyto":
            target = rng.choice(emails)
            client.ok("Email/set", {"update": {target: {f"mailboxIds/{rng.choice(box_ids)}": True}}})
        else:
            target = emails.pop(rng.randrange(len(emails)))
            assert target in client.ok("Email/set", {"destroy": [target]})["destroyed"]
        seen_ops.add(op)
        _agree(client)
    assert seen_ops == {"import", "seen", "move", "destroy", "copyto"}
    served = _agree(client)
    assert sum(c["totalEmails"] for c in served.values()) >= len(emails)
    threads = {e["threadId"] for e in client.ok("Email/get", {"ids": emails, "properties": ["threadId"]})["list"]}
    assert any(c["unreadThreads"] for c in served.values()) and len(threads) < len(emails) * 0.8, (threads, emails)

    # The trash moving to another Mailbox changes every unreadThreads: rebuilt.
    client.ok("Mailbox/set", {"update": {boxes["trash"]["id"]: {"role": None}}})
    _agree(client)
    client.ok("Mailbox/set", {"update": {extra["b"]["id"]: {"role": "trash"}}})
    _agree(client)
    # Destroying a Mailbox with its Emails leaves no row behind.
    client.ok("Mailbox/set", {"destroy": [extra["a"]["id"]], "onDestroyRemoveEmails": True})
    _agree(client)
    assert extra["a"]["id"] not in count_by_scanning(client.account_id)


def test_a_delivered_thread_reply_moves_every_mailbox_of_the_thread(client, mail, make_message):
    boxes = mail.mailboxes()
    inbox, archive = boxes["inbox"]["id"], boxes["archive"]["id"]
    mail.import_(make_message("topic", message_id="root@x"), mailbox="archive", keywords={"$seen": True})
    assert _agree(client)[archive]["unreadThreads"] == 0
    mail.deliver(make_message("Re: topic", message_id="reply@x", in_reply_to="root@x"))
    counts = _agree(client)
    # the Thread is unread now, so it is unread in the archive too (RFC 8621 §2)
    assert counts[archive] == {"totalEmails": 1, "unreadEmails": 0, "totalThreads": 1, "unreadThreads": 1}
    assert counts[inbox] == {"totalEmails": 1, "unreadEmails": 1, "totalThreads": 1, "unreadThreads": 1}
