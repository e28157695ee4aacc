"""Stored Mailbox counts equal counting from scratch after every kind of write.

The counts are moved by each write (jmapd_mail.counts) instead of being
recounted on read; here a seeded random mix of every write path runs and,
after each step, Mailbox/get must agree with the definition
(``count_by_scanning``), for every Mailbox, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
import threading

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


def _corpus(client, mail, make_message, rng, boxes, n=24):
    """``n`` Emails in Threads of up to four, over ``boxes``, a third of them read."""
    emails = []
    for i in range(n):
        root = i - i % 4
        raw = make_message(f"Re: t{root}" if i % 4 else f"t{root}", message_id=f"c{i}@counts",
                           in_reply_to=f"c{root}@counts" if i % 4 else None)
        emails.append(mail.import_(raw, mailbox=rng.choice(boxes),
                                   keywords={"$seen": True} if rng.random() < 0.33 else {})["id"])
    return emails


def _by_definition(client, trash):
    """RFC 8621 §2's four counts from what Email/get shows (not from the rows the counts read)."""
    ids = client.ok("Email/query", {})["ids"]
    got = client.ok("Email/get", {"ids": ids, "properties": ["threadId", "mailboxIds", "keywords"]})["list"]
    threads: dict[str, list] = {}
    for e in got:
        threads.setdefault(e["threadId"], []).append(e)
    out: dict[str, dict[str, int]] = {}
    for e in got:
        for box in e["mailboxIds"]:
            c = out.setdefault(box, dict.fromkeys(COUNTS, 0))
            c["totalEmails"] += 1
            c["unreadEmails"] += not e["keywords"].get("$seen")
    for members in threads.values():
        for box in {b for e in members for b in e["mailboxIds"]}:
            out[box]["totalThreads"] += 1
            where = [e for e in members if trash in e["mailboxIds"]] if box == trash else [
                e for e in members if set(e["mailboxIds"]) - {trash}]
            out[box]["unreadThreads"] += any(not e["keywords"].get("$seen") for e in where)
    return out


def _bulk_update(rng, emails, boxes):
    """One /set's worth of updates: $seen flips, other keywords and moves, several per Thread."""
    update = {}
    for email_id in rng.sample(emails, k=len(emails) // 2):
        patch = {"keywords/$seen": rng.choice([True, None]), "keywords/$flagged": rng.choice([True, None])}
        if rng.random() < 0.3:
            patch["mailboxIds"] = {b: True for b in rng.sample(boxes, k=rng.choice([1, 2]))}
        update[email_id] = patch
    return update


def test_bulk_keyword_changes_keep_counts_and_keywords_exact(client, mail, make_message):
    """The keyword rows and unread flags of one /set are written as a batch
    before it commits: counts, keyword filters and Email/get agree after it,
    also when one of the updates is refused."""
    rng = random.Random(17)
    boxes = mail.mailboxes()
    box_ids = [boxes[r]["id"] for r in ("inbox", "archive", "trash")]
    emails = _corpus(client, mail, make_message, rng, box_ids)
    for _ in range(6):
        update = _bulk_update(rng, emails, box_ids)
        update["Mnot-there"] = {"keywords/$seen": True}
        out = client.ok("Email/set", {"update": update})
        assert set(out["updated"]) == set(update) - {"Mnot-there"} and list(out["notUpdated"]) == ["Mnot-there"]
        served = _agree(client)
        assert {m: c for m, c in served.items() if c["totalEmails"]} == _by_definition(client, boxes["trash"]["id"])
        got = {e["id"]: e for e in client.ok("Email/get", {"ids": emails, "properties": ["keywords"]})["list"]}
        for keyword in ("$seen", "$flagged"):
            listed = set(client.ok("Email/query", {"filter": {"hasKeyword": keyword}})["ids"])
            assert listed == {i for i, e in got.items() if e["keywords"].get(keyword)}
    # what the last /set did is what is stored
    for email_id, patch in update.items():
        if email_id in got:
            assert bool(got[email_id]["keywords"].get("$seen")) is bool(patch["keywords/$seen"])


def test_counts_stay_exact_under_concurrent_writers(client, mail, make_message):
    """Four clients change keywords and Mailboxes of the same Threads at once
    while replies arrive; writers to an account are serialised, so no diff is
    lost or applied twice."""
    rng = random.Random(4)
    boxes = mail.mailboxes()
    box_ids = [boxes[r]["id"] for r in ("inbox", "archive", "trash", "junk")]
    emails = _corpus(client, mail, make_message, rng, box_ids, n=20)
    clients = [client.server.client(client.user, client.password) for _ in range(4)]
    start = threading.Barrier(5)
    failures: list[BaseException] = []

    def writer(c, seed):
        own = random.Random(seed)
        start.wait()
        try:
            for _ in range(10):
                c.ok("Email/set", {"update": _bulk_update(own, emails, box_ids)})
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)

    def deliverer():
        start.wait()
        try:
            for n in range(8):
                mail.deliver(make_message(f"Re: t{4 * n % 20}", message_id=f"late{n}@counts",
                                          in_reply_to=f"c{4 * n % 20}@counts"))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(c, n)) for n, c in enumerate(clients)]
    threads.append(threading.Thread(target=deliverer))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    served = _agree(client)
    assert {m: c for m, c in served.items() if c["totalEmails"]} == _by_definition(client, boxes["trash"]["id"])
    assert sum(c["totalEmails"] for c in served.values()) >= len(emails) + 8
