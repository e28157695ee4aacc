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
