"""The queue runner wakes on work, not on a fast poll: a new submission, a
row queued by another connection, and a retry coming due are each sent
long before the safety poll (30 s here) would have found them, and the
safety poll still finds a row whose wake-up was lost."""

from __future__ import annotations

import uuid

from jmapd_submission.domain.envelope import Address, Envelope
from jmapd_submission.models import QueueItem
from jmapd_submission.queue import enqueue
from jmapd_submission.wakeup import signal_host

from jmapd.db import ensure_connected, write_transaction
from jmapd.models import now
from jmapd.testing import wait_for

SAFETY_POLL = 30.0
#: Far below SAFETY_POLL: what arrives within it was woken, not polled for.
PROMPT = 5.0


def test_new_submission_is_sent_without_waiting_out_the_poll(relay, sending, mailer_for):
    me = mailer_for(sending(poll_interval=SAFETY_POLL))
    me.submit()
    [got] = relay.wait(lambda r: me.tag.encode() in r.content, timeout=PROMPT)
    assert got.rcpt_tos == ["bob@example.net"]


def test_row_committed_by_another_connection_wakes_the_runner(relay, sending, mailer_for):
    """What another process or host does (a Sieve redirect from the LMTP
    listener, a retry from the CLI): its commit reaches the runner by NOTIFY
    (PostgreSQL) or the host's FIFOs (SQLite), not by the in-process event."""
    server = sending(poll_interval=SAFETY_POLL)
    account = mailer_for(server).client.account_id
    ensure_connected()
    tag = uuid.uuid4().hex.encode()
    with write_transaction(account):
        enqueue(account, Envelope(Address("x@localhost"), (Address("far@example.net"),)),
                b"Subject: " + tag + b"\r\n\r\nhi\r\n")
    signal_host(server.services.config)  # what api.wake does after the commit, minus this process's event
    [got] = relay.wait(lambda r: tag in r.content, timeout=PROMPT)
    assert got.rcpt_tos == ["far@example.net"]


def test_retry_coming_due_is_sent_without_a_wake(relay, sending, mailer_for):
    """The runner sleeps until the earliest retry is due, not the whole poll."""
    me = mailer_for(sending(poll_interval=SAFETY_POLL, retry_base=1.0, retry_cap=1.0))
    relay.refuse("bob@example.net", "451 4.3.0 try again later")
    _, result = me.submit()
    sid = result["created"]["k"]["id"]
    [got] = relay.wait(lambda r: me.tag.encode() in r.content, timeout=PROMPT)
    assert got.rcpt_tos == ["bob@example.net"]
    item = wait_for(lambda: QueueItem.get(QueueItem.submission_id == sid), lambda i: i.state == "done", PROMPT)
    assert item.attempts == 2  # the refusal, then the retry


def test_safety_poll_sends_a_row_whose_wake_up_was_lost(relay, sending, mailer_for):
    """A row written with no NOTIFY and no signal (a crash between commit and
    wake-up): only the safety poll can find it, and it does."""
    server = sending(poll_interval=0.5)
    account = mailer_for(server).client.account_id
    ensure_connected()
    tag = uuid.uuid4().hex.encode()
    QueueItem.create(account_id=account, kind="submission", state="queued", due=now(), mail_from="y@localhost",
                     rcpt_to=[{"email": "lost@example.net"}], needs_relay=True,
                     message=b"Subject: " + tag + b"\r\n\r\nhi\r\n")
    [got] = relay.wait(lambda r: tag in r.content, timeout=PROMPT)
    assert got.rcpt_tos == ["lost@example.net"]
