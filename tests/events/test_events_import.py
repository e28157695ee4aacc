"""``jmapd import`` tells push clients once, at the end, not once per message or batch."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from jmapd.db import is_postgres


def _maildir(root, count: int) -> None:
    for folder in (root, root / ".Lists"):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        folder = root / ".Lists" if i % 3 == 0 else root
        raw = (f"From: a@example.net\r\nTo: b@example.org\r\nSubject: push {i}\r\n"
               f"Message-ID: <push{i}@example.net>\r\n\r\nBody {i}.\r\n").encode()
        (folder / "cur" / f"{1_600_000_000 + i}.M{i}.host:2,S").write_bytes(raw)


def test_import_sends_one_state_change_per_type_at_the_end(fast_server, sse, tmp_path, jmapd_database,
                                                           jmapd_data_dir):
    client = fast_server.client()
    stream = sse(client.http, "/jmap/eventsource?types=*&closeafter=no&ping=0")
    stream.wait_id()
    root = tmp_path / "Maildir"
    count = 450  # three batches of the importer (200 messages each), and a Mailbox created
    _maildir(root, count)
    config = tmp_path / "jmapd.yaml"
    config.write_text(yaml.safe_dump({"server": {"data_dir": str(jmapd_data_dir)}, "database": {"url": jmapd_database}}))
    done = subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "import", "maildir",
                           "--user", client.user, str(root)], capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")})
    assert done.returncode == 0 and f"{count} imported" in done.stderr, done.stderr
    final = {t: client.ok(f"{t}/get", {"ids": []})["state"] for t in ("Email", "Mailbox", "Thread")}
    # The positive control: the event carrying the final states comes; every event before it is counted.
    events = []
    while True:
        event = stream.next(timeout=15)["changed"].get(client.account_id, {})
        events.append(event)
        if all(event.get(t) == s for t, s in final.items()):
            break
    email_events = [e for e in events if "Email" in e]
    if is_postgres():
        # Only the importer's one NOTIFY at the end reaches the server's workers.
        assert len(events) == 1, events
    else:
        # SQLite workers notice other processes' commits by polling (events.poll_interval): at most
        # one event per commit of the import (a Mailbox, three batches), never one per message.
        assert 1 <= len(email_events) <= 3 and len(events) <= 4, events
    assert set(events[-1]) >= {"Email", "Mailbox", "Thread"}
