"""The durable queue: restarts lose nothing, two workers never send twice."""

from __future__ import annotations

import datetime
import threading

from jmapd_submission.domain.envelope import Address, Envelope
from jmapd_submission.models import QueueItem
from jmapd_submission.queue import QueueWorker, enqueue
from jmapd_submission.testing import RecordingRelay

from jmapd.db import ensure_connected
from jmapd.testing import wait_for


def test_restart_mid_queue_loses_nothing(make_server, mailer_for):
    down = RecordingRelay().start()
    down.stop()  # nothing listens on the port: every attempt is a temporary failure
    first = make_server({"submission": {**RecordingRelay.config(down), "retry_base": 0.5, "retry_cap": 0.5}})
    me = mailer_for(first)
    _, result = me.submit()
    sid = result["created"]["k"]["id"]
    status = wait_for(lambda: me.get(sid), lambda s: "421" in s["deliveryStatus"]["bob@example.net"]["smtpReply"])
    status = status["deliveryStatus"]["bob@example.net"]
    assert status["delivered"] == "queued" and status["smtpReply"].startswith("421 4.4.1")
    first.stop()

    relay = RecordingRelay().start()
    try:
        second = make_server({"submission": relay.config()})
        [got] = relay.wait(lambda r: me.tag.encode() in r.content)
        assert got.rcpt_tos == ["bob@example.net"]
        client = second.client(me.client.user, me.client.password)
        got_sub = wait_for(
            lambda: client.ok("EmailSubmission/get", {"ids": [sid]})["list"][0], lambda s: s["undoStatus"] == "final"
        )
        assert got_sub["undoStatus"] == "final"
        assert got_sub["deliveryStatus"]["bob@example.net"]["delivered"] == "unknown"
        assert QueueItem.get(QueueItem.submission_id == sid).attempts >= 2
    finally:
        relay.stop()


def test_delayed_item_survives_restart(relay, sending, mailer_for):
    first = sending(send_delay=1.0)
    me = mailer_for(first)
    _, result = me.submit()
    first.stop()
    send_at = datetime.datetime.fromisoformat(result["created"]["k"]["sendAt"].replace("Z", "+00:00"))
    # Wait (on the clock, the condition itself) until the item fell due while no server ran.
    wait_for(lambda: datetime.datetime.now(datetime.UTC), lambda t: t > send_at + datetime.timedelta(seconds=0.2))
    assert relay.messages(lambda r: me.tag.encode() in r.content) == []
    sending()
    assert len(relay.wait(lambda r: me.tag.encode() in r.content)) == 1


def test_two_workers_never_claim_the_same_item(relay, make_server):
    server = make_server({"submission": relay.config(worker=False)})
    ensure_connected()
    account = server.client().account_id
    items = [
        enqueue(account, Envelope(Address("a@localhost"), (Address(f"r{i}@example.net"),)), b"Subject: x\r\n\r\nx\r\n").id
        for i in range(20)
    ]
    workers = [QueueWorker(server.services) for _ in range(4)]
    claims: list[list[int]] = [[] for _ in workers]

    def run(n: int) -> None:
        ensure_connected()
        for _ in range(10):
            claims[n].extend(workers[n].claim(limit=5))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [i for c in claims for i in c if i in items]
    assert sorted(claimed) == sorted(items)  # each item exactly once
    for n, worker in enumerate(workers):
        for item_id in claims[n]:
            worker.process(item_id)
        worker.stop()
    assert sorted(r.rcpt_tos[0] for r in relay.messages() if r.mail_from == "a@localhost") == sorted(
        f"r{i}@example.net" for i in range(20)
    )
    assert QueueItem.select().where(QueueItem.id.in_(items) & (QueueItem.state == "done")).count() == 20


def test_stale_claim_is_released(relay, make_server):
    server = make_server({"submission": relay.config(worker=False, lease=0.5)})
    ensure_connected()
    account = server.client().account_id
    item = enqueue(account, Envelope(Address("b@localhost"), (Address("s@example.net"),)), b"Subject: y\r\n\r\ny\r\n")
    dead, alive = QueueWorker(server.services), QueueWorker(server.services)
    assert item.id in dead.claim(limit=100)
    assert item.id not in alive.claim(limit=100)
    # The lease (0.5 s) runs out: the live worker may then take the item over.
    assert item.id in wait_for(lambda: alive.claim(limit=100), lambda ids: item.id in ids)
    dead.process(item.id)  # the dead worker's claim was taken over: it must not send
    alive.process(item.id)
    assert [r.rcpt_tos for r in relay.messages(lambda r: r.mail_from == "b@localhost")] == [["s@example.net"]]
    dead.stop()
    alive.stop()
