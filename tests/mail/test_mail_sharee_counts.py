"""A sharee's Mailbox counts are computed over what they can read (#11):
unreadThreads must not count a Thread unread for an Email of a Mailbox
they cannot see; the owner's counts are unchanged."""

from __future__ import annotations

from typing import Any

from .test_mail_sharing import Shared, grant, shared  # noqa: F401 (the fixture)

COUNTS = ["totalEmails", "unreadEmails", "totalThreads", "unreadThreads"]


def counts(client: Any, account_id: str, mailbox_id: str) -> dict[str, int]:
    got = client.ok("Mailbox/get", {"accountId": account_id, "ids": [mailbox_id], "properties": COUNTS})
    return {k: got["list"][0][k] for k in COUNTS}


def test_unread_threads_only_over_readable_mailboxes(shared: Shared) -> None:  # noqa: F811
    owner, sharee, acc, team = shared.owner, shared.sharee, shared.acc, shared.team
    grant(owner, team, sharee, "mayReadItems")
    # Team news is read; its private reply (same Thread, inbox only) stays unread
    owner.ok("Email/set", {"update": {shared.team_mail: {"keywords/$seen": True},
                                      shared.both: {"keywords/$seen": True}}})
    assert counts(owner, acc, team) == {"totalEmails": 2, "unreadEmails": 0, "totalThreads": 2, "unreadThreads": 1}
    assert counts(sharee, acc, team) == {"totalEmails": 2, "unreadEmails": 0, "totalThreads": 2, "unreadThreads": 0}
    # positive control: an unread Email the sharee can see makes the Thread unread for them too
    owner.ok("Email/set", {"update": {shared.team_mail: {"keywords/$seen": None}}})
    assert counts(sharee, acc, team) == {"totalEmails": 2, "unreadEmails": 1, "totalThreads": 2, "unreadThreads": 1}
    # the private reply moved into Team: now visible, and the counts are the owner's
    owner.ok("Email/set", {"update": {shared.team_mail: {"keywords/$seen": True},
                                      shared.private: {f"mailboxIds/{team}": True}}})
    assert counts(sharee, acc, team) == counts(owner, acc, team) == {
        "totalEmails": 3, "unreadEmails": 1, "totalThreads": 2, "unreadThreads": 1}


def by_definition(sharee: Any, account_id: str, trash: str | None) -> dict[str, dict[str, int]]:
    """RFC 8621 §2's counts over exactly the Emails (and memberships) the sharee's Email/get shows."""
    ids = sharee.ok("Email/query", {"accountId": account_id})["ids"]
    emails = sharee.ok("Email/get", {"accountId": account_id, "ids": ids,
                                     "properties": ["threadId", "mailboxIds", "keywords"]})["list"]
    unread_threads = {e["threadId"] for e in emails
                      if not e["keywords"].get("$seen") and set(e["mailboxIds"]) - {trash}}
    out: dict[str, dict[str, Any]] = {}
    for e in emails:
        for box in e["mailboxIds"]:
            c = out.setdefault(box, {"totalEmails": 0, "unreadEmails": 0, "threads": set(), "unread": set()})
            c["totalEmails"] += 1
            c["unreadEmails"] += 0 if e["keywords"].get("$seen") else 1
            c["threads"].add(e["threadId"])
            if (box == trash and not e["keywords"].get("$seen")) or (box != trash and e["threadId"] in unread_threads):
                c["unread"].add(e["threadId"])
    return {b: {"totalEmails": c["totalEmails"], "unreadEmails": c["unreadEmails"],
                "totalThreads": len(c["threads"]), "unreadThreads": len(c["unread"])} for b, c in out.items()}


def test_sharee_counts_match_the_definition_over_random_mail(shared: Shared, mail: Any) -> None:  # noqa: F811
    """Threads spread over shared, hidden and trash Mailboxes with random
    unread flags: every count the sharee gets is the one their view defines."""
    import random

    owner, sharee, acc = shared.owner, shared.sharee, shared.acc
    rng = random.Random(11)
    trash = mail.role("trash")
    boxes = [shared.inbox, shared.team, trash,
             owner.ok("Mailbox/set", {"create": {"o": {"name": "Other"}}})["created"]["o"]["id"]]
    blobs = [owner.upload(shared.make_message(f"Re: Topic {t}" if n else f"Topic {t}", message_id=f"t{t}n{n}@x",
                                              in_reply_to=f"t{t}n0@x" if n else None), "message/rfc822")["blobId"]
             for t in range(6) for n in range(3)]
    created = owner.ok("Email/import", {"emails": {f"e{i}": {
        "blobId": blob, "mailboxIds": {b: True for b in rng.sample(boxes, rng.randint(1, 2))},
        "keywords": {"$seen": True} if rng.random() < 0.5 else {}} for i, blob in enumerate(blobs)}})["created"]
    assert len(created) == len(blobs)
    threads = owner.ok("Email/get", {"ids": [c["id"] for c in created.values()], "properties": ["threadId"]})["list"]
    assert len({e["threadId"] for e in threads}) == 6  # the replies joined their Threads
    grant(owner, shared.team, sharee, "mayReadItems")
    for readable in ([shared.team], [shared.team, trash], [shared.team, shared.inbox]):
        for box in set(readable) - {shared.team}:
            grant(owner, box, sharee, "mayReadItems")
        expected = by_definition(sharee, acc, trash if trash in readable else None)
        got = {b: counts(sharee, acc, b) for b in readable}
        assert got == {b: expected.get(b, dict.fromkeys(COUNTS, 0)) for b in readable}, readable
    # the owner's own counts are the same definition over everything
    assert {b: counts(owner, acc, b) for b in boxes} == {
        b: v for b, v in by_definition(owner, acc, trash).items() if b in boxes}


def test_sharee_counts_follow_every_write_after_a_read(shared: Shared, mail: Any) -> None:  # noqa: F811
    """A sharee's view is worked out once per Mailbox state: the owner's
    writes between two reads (flags, moves in and out of the shared Mailbox,
    a destroy, a delivery into the Thread) each give the sharee new counts."""
    import random

    owner, sharee, acc, team = shared.owner, shared.sharee, shared.acc, shared.team
    rng = random.Random(3)
    trash = mail.role("trash")
    grant(owner, team, sharee, "mayReadItems")
    emails = [shared.team_mail, shared.private, shared.both]
    boxes = [team, shared.inbox, trash]
    ops = set()
    for step in range(14):
        op = ["seen", "move", "seen", "move", "destroy", "deliver"][step % 6]
        target = rng.choice(emails)
        if op == "seen":
            owner.ok("Email/set", {"update": {target: {"keywords/$seen": rng.choice([True, None])}}})
        elif op == "move":
            owner.ok("Email/set", {"update": {target: {"mailboxIds": {b: True for b in rng.sample(boxes, rng.randint(1, 2))}}}})
        elif op == "destroy" and len(emails) > 2:
            emails.remove(target)
            owner.ok("Email/set", {"destroy": [target]})
        else:
            emails.append(mail.import_(shared.make_message("Re: Team news", message_id=f"late{step}@x",
                                                           in_reply_to="team@x"), rng.choice([team, shared.inbox]))["id"])
        ops.add(op)
        assert counts(sharee, acc, team) == by_definition(sharee, acc, None).get(team, dict.fromkeys(COUNTS, 0)), step
    assert ops == {"seen", "move", "destroy", "deliver"}
