"""Finished queue rows are pruned by the worker after finished_retention."""

from __future__ import annotations

import datetime

from jmapd_submission.domain.envelope import Address, Envelope
from jmapd_submission.models import QueueItem
from jmapd_submission.queue import QueueWorker, enqueue

from jmapd.db import ensure_connected
from jmapd.models import now
from jmapd.testing import wait_for


def rows(*submission_ids):
    ensure_connected()
    return {
        r.submission_id: r.state for r in QueueItem.select().where(QueueItem.submission_id.in_(list(submission_ids)))
    }


def test_worker_prunes_final_rows_only(relay, sending, mailer_for):
    server = sending(finished_retention=0)
    me = mailer_for(server)
    hold = lambda: {  # noqa: E731
        "mailFrom": {"email": me.address, "parameters": {"HOLDFOR": "3600"}},
        "rcptTo": [{"email": "bob@example.net", "parameters": None}],
    }
    held = me.submit(envelope=hold())[1]["created"]["k"]["id"]
    canceled = me.submit(envelope=hold())[1]["created"]["k"]["id"]
    me.client.ok("EmailSubmission/set", {"update": {canceled: {"undoStatus": "canceled"}}})
    sent = me.submit()[1]["created"]["k"]["id"]
    relay.wait(lambda r: me.tag.encode() in r.content)

    left = wait_for(lambda: rows(held, canceled, sent), lambda found: set(found) == {held})
    assert left == {held: "queued"}  # the held message is still waiting
    # The EmailSubmission objects themselves are untouched.
    got = {s["id"]: s["undoStatus"] for s in me.client.ok("EmailSubmission/get", {"ids": [held, canceled, sent]})["list"]}
    assert got == {held: "pending", canceled: "canceled", sent: "final"}
    me.client.ok("EmailSubmission/set", {"update": {held: {"undoStatus": "canceled"}}})
    assert wait_for(lambda: rows(held), lambda found: not found) == {}


def test_prune_rules(relay, make_server):
    server = make_server({"submission": relay.config(worker=False, finished_retention=100)})
    ensure_connected()
    account = server.client().account_id
    current = now()
    ago = lambda seconds: current - datetime.timedelta(seconds=seconds)  # noqa: E731

    def item(name, state, finished=None, created=None):
        row = enqueue(
            account, Envelope(Address("p@localhost"), (Address("x@example.net"),)), b"Subject: p\r\n\r\np\r\n",
            submission_id=name,
        )
        QueueItem.update(state=state, finished_at=finished, created=created or current).where(
            QueueItem.id == row.id
        ).execute()
        return name

    old_done = item("P-old-done", "done", ago(200))
    new_done = item("P-new-done", "done", ago(10))
    old_canceled = item("P-old-canceled", "canceled", ago(200))
    queued = item("P-queued", "queued")
    sending = item("P-sending", "sending")
    worker = QueueWorker(server.services)
    try:
        assert worker.prune() >= 2
    finally:
        worker.stop()
    assert rows(old_done, new_done, old_canceled, queued, sending) == {
        new_done: "done", queued: "queued", sending: "sending"
    }

    # With an hourly sending limit, the last hour's rows are kept: the limit counts them.
    limited = make_server({"submission": relay.config(worker=False, finished_retention=0, max_submissions_per_hour=5)})
    recent = item("P-recent", "done", ago(600), created=ago(1200))
    older = item("P-older", "done", ago(3000), created=ago(4000))
    worker = QueueWorker(limited.services)
    try:
        worker.prune()
    finally:
        worker.stop()
    assert rows(recent, older) == {recent: "done"}
    QueueItem.delete().where(QueueItem.account_id == account).execute()
