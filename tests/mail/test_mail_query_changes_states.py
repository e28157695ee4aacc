"""Issue #9.1: /queryChanges answers from every queryState it handed out.

All types share one modseq counter per account, so an Email queryState is
usually newer than the last Thread change; the Thread lookup used to refuse
it and every quiet poll fell back to a full re-query (RFC 8620 §5.6).
"""

from __future__ import annotations

import datetime

from jmapd.db import ensure_connected
from jmapd.state import prune_before


def _query(client, **args):
    return client.ok("Email/query", {"sort": [{"property": "receivedAt", "isAscending": False}], **args})


def _changes(client, since, **args):
    return client.call(
        "Email/queryChanges",
        {"sinceQueryState": since, "sort": [{"property": "receivedAt", "isAscending": False}], **args},
    )


def test_no_change(client, mail, make_message):
    mail.import_(make_message("one"))
    mail.import_(make_message("two"))
    q = _query(client)
    name, out = _changes(client, q["queryState"])
    assert name == "Email/queryChanges", out
    assert (out["added"], out["removed"]) == ([], [])
    assert out["newQueryState"] == q["queryState"]


def test_keyword_only_change(client, mail, make_message):
    first = mail.import_(make_message("one"))["id"]
    mail.import_(make_message("two"))
    q = _query(client)
    client.ok("Email/set", {"update": {first: {"keywords/$flagged": True}}})
    name, out = _changes(client, q["queryState"])
    assert name == "Email/queryChanges", out
    assert out["newQueryState"] != q["queryState"]
    # the order did not change: whatever is reported removed comes back where it was
    assert {a["id"] for a in out["added"]} == set(out["removed"])
    # and from the new state, a quiet poll is quiet
    name, again = _changes(client, out["newQueryState"])
    assert name == "Email/queryChanges", again
    assert (again["added"], again["removed"]) == ([], [])


def test_change_to_another_type(client, mail, make_message):
    mail.import_(make_message("one"))
    q = _query(client)
    client.ok("Mailbox/set", {"create": {"m": {"name": "Elsewhere"}}})
    name, out = _changes(client, q["queryState"])
    assert name == "Email/queryChanges", out
    assert (out["added"], out["removed"]) == ([], [])


def test_change_in_another_mailbox(client, mail, make_message):
    mail.import_(make_message("one"))
    q = _query(client, filter={"inMailbox": mail.role("inbox")})
    client.ok("Mailbox/set", {"create": {"m": {"name": "Archive 2"}}})
    other = mail.import_(make_message("elsewhere"), mailbox="Archive 2")["id"]
    name, out = _changes(client, q["queryState"], filter={"inMailbox": mail.role("inbox")})
    assert name == "Email/queryChanges", out
    assert other not in {a["id"] for a in out["added"]}
    # positive control: a message arriving in the inbox is reported added
    new = mail.import_(make_message("in the inbox"))["id"]
    name, out = _changes(client, q["queryState"], filter={"inMailbox": mail.role("inbox")})
    assert name == "Email/queryChanges", out
    assert [a["id"] for a in out["added"]] == [new]


def test_collapse_threads_quiet_poll(client, mail, make_message):
    mail.import_(make_message("one", message_id="a@x"))
    mail.import_(make_message("Re: one", message_id="b@x", in_reply_to="a@x"))
    q = _query(client, collapseThreads=True)
    name, out = _changes(client, q["queryState"], collapseThreads=True)
    assert name == "Email/queryChanges", out
    assert (out["added"], out["removed"]) == ([], [])


def test_after_pruning(client, mail, make_message):
    mail.import_(make_message("one"))
    old = _query(client)["queryState"]
    mail.import_(make_message("two"))
    ensure_connected()
    prune_before(datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(seconds=5), client.account_id)
    name, err = _changes(client, old)
    assert (name, err["type"]) == ("error", "cannotCalculateChanges")
    fresh = _query(client)["queryState"]
    name, out = _changes(client, fresh)
    assert name == "Email/queryChanges", out
    assert (out["added"], out["removed"]) == ([], [])


def test_state_never_handed_out(client, mail, make_message):
    mail.import_(make_message("one"))
    q = _query(client)
    name, err = _changes(client, str(int(q["queryState"]) + 1000))
    assert (name, err["type"]) == ("error", "cannotCalculateChanges")
