"""Local delivery of EmailSubmissions (issue #9.9).

A recipient that is a local user is delivered into that account by the
queue worker through the delivery plugin (the LMTP path), relay or not;
remote recipients still go to the smarthost, and without one a submission
with any remote recipient is refused whole.
"""

from __future__ import annotations

import uuid

import pytest
from jmapd_submission.local import LeaseLost
from jmapd_submission.models import QueueItem
from jmapd_submission.queue import QueueWorker

from jmapd.db import ensure_connected
from jmapd.testing import wait_for


def inbox_subjects(client, mailbox: str = "inbox") -> list[str]:
    boxes = client.ok("Mailbox/get", {"ids": None})["list"]
    box = next(m["id"] for m in boxes if m["role"] == mailbox or m["name"] == mailbox)
    ids = client.ok("Email/query", {"filter": {"inMailbox": box}})["ids"]
    if not ids:
        return []
    return [e["subject"] for e in client.ok("Email/get", {"ids": ids, "properties": ["subject"]})["list"]]


def arrived(client, subject: str, mailbox: str = "inbox") -> bool:
    return subject in wait_for(lambda: inbox_subjects(client, mailbox), lambda s: subject in s)


def final_status(alice, submission_id: str, address: str) -> dict:
    return wait_for(
        lambda: alice.get(submission_id),
        lambda s: (s["deliveryStatus"] or {}).get(address, {}).get("delivered") not in (None, "queued"),
    )


def test_alice_to_bob_without_a_relay(make_server, mailer_for):
    server = make_server({})  # no smarthost: all-local submissions still succeed
    alice = mailer_for(server)
    bob = server.client()
    to = f"{bob.user}@localhost"
    subject = f"hello {uuid.uuid4().hex[:8]}"
    _, result = alice.submit(alice.message(to=to, subject=subject))
    created = result["created"]["k"]
    assert arrived(bob, subject)
    status = final_status(alice, created["id"], to)
    assert status["deliveryStatus"][to]["delivered"] == "yes"
    assert status["deliveryStatus"][to]["smtpReply"].startswith("250 2.1.5 ")
    assert status["undoStatus"] == "final"
    # the same path as LMTP: stamped with the envelope sender, threaded in bob's account
    email = bob.ok("Email/query", {"filter": {"subject": subject}})["ids"]
    got = bob.ok("Email/get", {"ids": email, "properties": ["threadId", "header:Return-Path"]})["list"][0]
    assert got["header:Return-Path"].strip() == f"<{alice.address}>"
    assert got["threadId"]


def test_case_folded_address_and_recipient_delimiter(make_server, mailer_for):
    server = make_server({})
    alice = mailer_for(server)
    bob = server.client()
    bob.ok("Mailbox/set", {"create": {"t": {"name": "Lists", "parentId": None}}})
    upper = f"{bob.user.upper()}@LOCALHOST"
    tagged = f"{bob.user}+Lists@LocalHost"
    s1, s2 = f"upper {uuid.uuid4().hex[:8]}", f"tagged {uuid.uuid4().hex[:8]}"
    first = alice.submit(alice.message(to=upper, subject=s1))[1]["created"]["k"]["id"]
    second = alice.submit(alice.message(to=tagged, subject=s2))[1]["created"]["k"]["id"]
    assert arrived(bob, s1)
    assert arrived(bob, s2, mailbox="Lists")
    assert s2 not in inbox_subjects(bob)
    assert final_status(alice, first, upper)["deliveryStatus"][upper]["delivered"] == "yes"
    assert final_status(alice, second, tagged)["deliveryStatus"][tagged]["delivered"] == "yes"


def test_a_remote_recipient_without_a_relay_refuses_the_whole_submission(make_server, mailer_for):
    server = make_server({})
    alice = mailer_for(server)
    bob = server.client()
    to = f"{bob.user}@localhost"
    refused = f"refused {uuid.uuid4().hex[:8]}"
    raw = alice.message(to=f"{to}, carol@example.net", subject=refused)
    _, result = alice.submit(raw)
    assert not result.get("created")
    assert result["notCreated"]["k"]["type"] == "forbiddenToSend"
    ensure_connected()
    assert QueueItem.select().where(QueueItem.account_id == alice.client.account_id).count() == 0
    # positive control: the all-local one sent after it arrives, the refused one never did
    control = f"control {uuid.uuid4().hex[:8]}"
    alice.submit(alice.message(to=to, subject=control))
    assert arrived(bob, control)
    assert refused not in inbox_subjects(bob)


def test_a_bare_name_at_a_foreign_domain_is_not_local(make_server, mailer_for):
    """``delivery.domains`` empty means any domain for LMTP, not for mail we send:
    bob@example.net is not the local bob."""
    server = make_server({})
    alice = mailer_for(server)
    bob = server.client()
    _, result = alice.submit(alice.message(to=f"{bob.user}@example.net"))
    assert result["notCreated"]["k"]["type"] == "forbiddenToSend"


def test_mixed_local_and_remote_with_a_relay(relay, sending, mailer_for):
    server = sending()
    alice = mailer_for(server)
    bob = server.client()
    local = f"{bob.user}@localhost"
    remote = "carol@example.net"
    subject = f"mixed {uuid.uuid4().hex[:8]}"
    _, result = alice.submit(alice.message(to=f"{local}, {remote}", subject=subject))
    sid = result["created"]["k"]["id"]
    assert arrived(bob, subject)
    relayed = relay.wait(lambda m: subject.encode() in m.content)
    assert len(relayed) == 1 and relayed[0].rcpt_tos == [remote]  # bob not relayed out
    status = wait_for(
        lambda: alice.get(sid),
        lambda s: all(v["delivered"] != "queued" for v in s["deliveryStatus"].values()),
    )["deliveryStatus"]
    assert status[local]["delivered"] == "yes"
    assert status[remote]["delivered"] == "unknown" and status[remote]["smtpReply"].startswith("250")


def test_undo_window_holds_local_recipients_too(make_server, mailer_for):
    server = make_server({"submission": {"send_delay": 3600}})
    alice = mailer_for(server)
    bob = server.client()
    to = f"{bob.user}@localhost"
    held, control = f"held {uuid.uuid4().hex[:8]}", f"control {uuid.uuid4().hex[:8]}"
    sid = alice.submit(alice.message(to=to, subject=held))[1]["created"]["k"]["id"]
    alice.client.ok("EmailSubmission/set", {"update": {sid: {"undoStatus": "canceled"}}})
    assert alice.get(sid)["deliveryStatus"][to]["delivered"] == "no"
    # positive control: release a second one at once (sendAt now) and see it arrive first
    other = alice.submit(alice.message(to=to, subject=control))[1]["created"]["k"]["id"]
    ensure_connected()
    QueueItem.update(due=QueueItem.created).where(QueueItem.submission_id == other).execute()
    server.services.changes_committed({alice.client.account_id: {"EmailSubmission": "x"}})
    assert arrived(bob, control)
    assert held not in inbox_subjects(bob)


def test_a_worker_that_lost_its_lease_delivers_nothing(make_server, mailer_for):
    """The recipient is marked done in the row inside the delivery's
    transaction: a worker whose claim another took over rolls back."""
    server = make_server({"submission": {"worker": False}})
    alice = mailer_for(server)
    bob = server.client()
    to = f"{bob.user}@localhost"
    subject = f"lease {uuid.uuid4().hex[:8]}"
    sid = alice.submit(alice.message(to=to, subject=subject))[1]["created"]["k"]["id"]
    ensure_connected()
    item = QueueItem.get(QueueItem.submission_id == sid)
    assert item.needs_relay is False and item.rcpt_to[0]["local"] is True
    dead, alive = QueueWorker(server.services), QueueWorker(server.services)
    try:
        # the dead worker claimed and read the row; the live one took it over
        QueueItem.update(state="sending", claimed_by=dead.token).where(QueueItem.id == item.id).execute()
        claimed = QueueItem.get_by_id(item.id)
        QueueItem.update(claimed_by=alive.token).where(QueueItem.id == item.id).execute()
        with pytest.raises(LeaseLost):
            dead.deliver_local(claimed)
        assert subject not in inbox_subjects(bob)
        assert QueueItem.get_by_id(item.id).rcpt_to == item.rcpt_to
        alive.process(item.id)  # positive control
        assert subject in inbox_subjects(bob)
        row = QueueItem.get_by_id(item.id)
        assert row.state == "done" and row.rcpt_to == [] and row.local_results[0]["email"] == to
        # a retry of the finished row would find no local recipient left to deliver
        assert alice.get(sid)["deliveryStatus"][to]["delivered"] == "yes"
    finally:
        dead.executor.shutdown()
        alive.executor.shutdown()


def test_a_submission_acknowledged_survives_a_stopped_server(make_server, mailer_for):
    """Queued in the submission's transaction: a server that stops before its
    worker ran (kill -9 alike) leaves the delivery to the next one."""
    first = make_server({"submission": {"worker": False}})
    alice = mailer_for(first)
    bob = first.client()
    subject = f"durable {uuid.uuid4().hex[:8]}"
    alice.submit(alice.message(to=f"{bob.user}@localhost", subject=subject))
    first.stop()
    second = make_server({})
    reader = second.client(bob.user, bob.password)
    second.services.changes_committed({alice.client.account_id: {"EmailSubmission": "x"}})
    assert arrived(reader, subject)


def test_local_vacation_response_reaches_the_local_sender(make_server, mailer_for):
    server = make_server({})
    alice = mailer_for(server)
    bob = server.client()
    bob.ok("VacationResponse/set", {"update": {"singleton": {"isEnabled": True, "subject": "Away", "textBody": "Off."}}})
    subject = f"to bob {uuid.uuid4().hex[:8]}"
    alice.submit(alice.message(to=f"{bob.user}@localhost", subject=subject))
    assert arrived(bob, subject)
    assert arrived(alice.client, "Away")
    # #9.8: the reply is from bob@localhost, but its Message-ID names no localhost
    replies = alice.client.ok("Email/query", {"filter": {"subject": "Away"}})["ids"]
    (reply,) = alice.client.ok("Email/get", {"ids": replies, "properties": ["messageId", "from"]})["list"]
    assert reply["from"][0]["email"] == f"{bob.user}@localhost"
    assert reply["messageId"][0].rpartition("@")[2] not in ("localhost", "localhost.localdomain"), reply
