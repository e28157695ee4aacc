"""`jmapd queue list|show|retry|delete` through the real CLI, against the
queue of a running server whose worker relays what the operator releases."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

from jmapd_submission.domain.envelope import Address, Envelope
from jmapd_submission.models import SENDING, QueueItem
from jmapd_submission.queue import enqueue
from jmapd_submission.testing import RecordingRelay

from jmapd.db import ensure_connected
from jmapd.testing import free_port, wait_for


def queue_cli(tmp_path: Any, database: str, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "cli.yaml"
    config.write_text(f"server:\n  data_dir: {tmp_path / 'cli-data'}\ndatabase:\n  url: {database}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    return subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "queue", *args],
                          capture_output=True, text=True, env=env, timeout=60)


def row_of(listing: str, submission_id: str) -> list[str]:
    item = QueueItem.get(QueueItem.submission_id == submission_id)
    return next(line.split("\t") for line in listing.splitlines() if line.split("\t")[0] == str(item.id))


def waiting_server(make_server: Any, port: int) -> Any:
    """A server relaying to ``port``, where nothing listens yet; after a
    failure a row waits an hour, so only `queue retry` sends it sooner."""
    return make_server({"submission": {"smarthost": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5},
                                       "poll_interval": 0.2, "retry_base": 3600, "retry_cap": 3600}})


def failed_once(me: Any) -> str:
    _, result = me.submit()
    sid = str(result["created"]["k"]["id"])
    wait_for(lambda: me.get(sid), lambda s: "421" in s["deliveryStatus"]["bob@example.net"]["smtpReply"])
    return sid


def test_list_show_and_retry_release_a_waiting_message(tmp_path, jmapd_database, make_server, mailer_for):
    port = free_port()
    server = waiting_server(make_server, port)
    me = mailer_for(server)
    sid = failed_once(me)
    item_id = str(QueueItem.get(QueueItem.submission_id == sid).id)

    listing = queue_cli(tmp_path, jmapd_database, "list")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[0].startswith("id\tstate\tdue\tattempts")
    row = row_of(listing.stdout, sid)
    assert row[1] == "queued" and row[3] == "1"
    assert re.fullmatch(r"in [1-5]?\dm", row[2])  # the retry waits most of an hour (with jitter)
    assert row[4] == me.client.user and row[5] == me.address and row[6] == "bob@example.net"
    assert row[7].startswith("421 4.4.1 Could not connect to relay")

    shown = queue_cli(tmp_path, jmapd_database, "show", item_id)
    assert shown.returncode == 0, shown.stderr
    assert f"submission:    {sid}" in shown.stdout and "rcpt to:       <bob@example.net>" in shown.stdout
    assert f"Subject:       test {me.tag}" in shown.stdout and "attempts:      1" in shown.stdout
    raw = queue_cli(tmp_path, jmapd_database, "show", item_id, "--message").stdout
    assert raw.startswith("From: Me <") and f"test {me.tag}" in raw

    relay = RecordingRelay(port=port).start()
    try:
        assert relay.messages() == []  # the row waits its hour: the worker does not send it on its own
        retried = queue_cli(tmp_path, jmapd_database, "retry", item_id)
        assert retried.returncode == 0 and retried.stdout.strip() == f"{item_id}: due now"
        [got] = relay.wait(lambda r: me.tag.encode() in r.content)
        assert got.rcpt_tos == ["bob@example.net"]
        wait_for(lambda: me.get(sid), lambda s: s["undoStatus"] == "final")
    finally:
        relay.stop()
    assert item_id not in [line.split("\t")[0] for line in queue_cli(tmp_path, jmapd_database, "list").stdout.splitlines()]
    done = row_of(queue_cli(tmp_path, jmapd_database, "list", "--all").stdout, sid)
    assert done[1] == "done" and done[3] == "2"
    again = queue_cli(tmp_path, jmapd_database, "retry", item_id)
    assert again.returncode == 1 and f"row {item_id} is not waiting for a retry" in again.stderr


def test_delete_cancels_the_submission_and_tells_the_client(tmp_path, jmapd_database, make_server, mailer_for):
    port = free_port()
    server = waiting_server(make_server, port)
    me = mailer_for(server)
    sid = failed_once(me)
    state = me.client.ok("EmailSubmission/get", {"ids": []})["state"]
    item_id = str(QueueItem.get(QueueItem.submission_id == sid).id)

    deleted = queue_cli(tmp_path, jmapd_database, "delete", item_id)
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == f"{item_id}: canceled"
    got = me.get(sid)
    assert got["undoStatus"] == "canceled"
    assert got["deliveryStatus"]["bob@example.net"] == {
        "smtpReply": "554 5.0.0 Removed from the queue by the server's administrator", "delivered": "no",
        "displayed": "unknown"}
    assert me.client.ok("EmailSubmission/changes", {"sinceState": state})["updated"] == [sid]
    shown = queue_cli(tmp_path, jmapd_database, "show", item_id).stdout
    assert "state:         canceled" in shown and "size:          0 octets" in shown  # the bytes are gone

    relay = RecordingRelay(port=port).start()  # a relay is back; a retry cannot resurrect the message
    try:
        assert queue_cli(tmp_path, jmapd_database, "retry", "--all").returncode == 0
        _, again = me.submit()  # positive control: what is still queued does reach this relay
        other = str(again["created"]["k"]["id"])
        queue_cli(tmp_path, jmapd_database, "retry", "--all")
        wait_for(lambda: me.get(other), lambda s: s["undoStatus"] == "final")
        assert len(relay.messages()) == 1  # the second message only
    finally:
        relay.stop()

    # a finished row is deleted outright; then it is gone
    assert queue_cli(tmp_path, jmapd_database, "delete", item_id).stdout.strip() == f"{item_id}: deleted"
    gone = queue_cli(tmp_path, jmapd_database, "show", item_id)
    assert gone.returncode == 1 and f"no queue row {item_id}" in gone.stderr
    missing = queue_cli(tmp_path, jmapd_database, "delete", "999999999")
    assert missing.returncode == 1 and "no queue row 999999999" in missing.stderr


def test_a_row_being_relayed_is_not_deleted(tmp_path, jmapd_database, make_server):
    server = make_server({"submission": {"worker": False}})
    ensure_connected()
    account = server.client().account_id
    item = enqueue(account, Envelope(Address("a@localhost"), (Address("r@example.net"),)), b"Subject: x\r\n\r\nx\r\n")
    QueueItem.update(state=SENDING, claimed_by="w1").where(QueueItem.id == item.id).execute()
    proc = queue_cli(tmp_path, jmapd_database, "delete", str(item.id))
    assert proc.returncode == 1 and f"row {item.id} is being relayed right now" in proc.stderr
    assert QueueItem.get_by_id(item.id).state == SENDING
    assert bytes(QueueItem.get_by_id(item.id).message) == b"Subject: x\r\n\r\nx\r\n"


def test_one_log_line_per_relay_attempt(relay, make_server, mailer_for, caplog):
    import logging

    server = make_server({"submission": relay.config()})
    me = mailer_for(server)
    raw = me.message(to="bob@example.net, carol@example.net")
    message_id = next(line.split(": ", 1)[1] for line in raw.decode().split("\r\n") if line.startswith("Message-ID"))
    with caplog.at_level(logging.INFO, logger="jmapd.submission"):
        _, result = me.submit(raw, envelope={"mailFrom": {"email": me.address},
                                             "rcptTo": [{"email": "bob@example.net"}, {"email": "carol@example.net"}]})
        sid = str(result["created"]["k"]["id"])
        relay.wait(lambda r: me.tag.encode() in r.content)
        wait_for(lambda: me.get(sid), lambda s: s["undoStatus"] == "final")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("relay attempt")]
    assert len(lines) == 1, lines
    assert f"message-id={message_id} from=<{me.address}>" in lines[0]
    assert lines[0].endswith("to=<bob@example.net> 250 2.1.5 Recipient OK; to=<carol@example.net> 250 2.1.5 Recipient OK;"
                             " data: 250 2.0.0 Queued as T1")  # the relay's queue id
