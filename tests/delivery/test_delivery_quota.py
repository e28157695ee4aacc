"""Quotas at delivery (RFC 9425; RFC 3463 X.2.2 mailbox full): over real LMTP
a recipient over quota gets 552 5.2.2 and the others of the transaction are
still delivered; `jmapd deliver` exits EX_CANTCREAT with nothing stored."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import uuid

import yaml


def limit(account_id: str, octets: int) -> None:
    from jmapd import quota
    from jmapd.db import ensure_connected, write_transaction
    from jmapd.state import ChangeLog

    ensure_connected()
    log = ChangeLog()
    with write_transaction(account_id):
        quota.set_limit(log, account_id, "octets", "", octets)
        log.flush()


def message(to: str, size: int) -> bytes:
    head = f"From: s@example.net\r\nTo: {to}\r\nSubject: q\r\nMessage-ID: <{uuid.uuid4().hex}@example.net>\r\n\r\n"
    body = "x" * size
    return (head + "\r\n".join(body[i:i + 70] for i in range(0, size, 70)) + "\r\n").encode()


def emails(client) -> list[str]:
    return client.ok("Email/query", {})["ids"]


def storage_used(client) -> int:
    got = client.ok("Quota/get", {"ids": ["storage"]}, ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:quota"])
    return int(got["list"][0]["used"])


def transaction(lmtp: smtplib.LMTP, rcpts: list[str], size: int) -> list[tuple[int, bytes]]:
    """One LMTP transaction; the reply per recipient (RFC 2033 §4.2)."""
    lmtp.ehlo_or_helo_if_needed()
    assert lmtp.mail("s@example.net")[0] == 250
    for rcpt in rcpts:
        assert lmtp.rcpt(rcpt)[0] == 250
    first = lmtp.data(message(rcpts[0], size))
    return [first] + [lmtp.getreply() for _ in rcpts[1:]]


def test_lmtp_over_quota_is_552_per_recipient(jmap_server, lmtp_for):
    port = lmtp_for(jmap_server)
    full, roomy, other = jmap_server.client(), jmap_server.client(), jmap_server.client()
    limit(full.account_id, 3000)
    limit(roomy.account_id, 100_000)
    rcpts = [f"{c.user}@localhost" for c in (full, roomy, other)]
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        assert [r[0] for r in transaction(lmtp, rcpts, 1000)] == [250, 250, 250]
        with smtplib.LMTP("127.0.0.1", port) as second:  # a second session while the first is open
            assert [r[0] for r in transaction(second, rcpts[:1], 1000)] == [250]
        # the third does not fit the full account: 552 5.2.2 for it alone
        replies = transaction(lmtp, rcpts, 1000)
    assert replies[0][0] == 552 and replies[0][1].startswith(b"5.2.2"), replies
    assert [r[0] for r in replies[1:]] == [250, 250], replies
    assert len(emails(full)) == 2 and len(emails(roomy)) == 2 and len(emails(other)) == 2
    held = sum(e["size"] for e in full.ok("Email/get", {"ids": emails(full), "properties": ["size"]})["list"])
    assert storage_used(full) == held <= 3000


def test_deliver_command_over_quota(jmapd_database, jmapd_data_dir, jmap_server, tmp_path):
    client = jmap_server.client()
    limit(client.account_id, 2000)
    config = tmp_path / "jmapd.yaml"
    config.write_text(yaml.safe_dump({"server": {"data_dir": str(jmapd_data_dir)}, "database": {"url": jmapd_database}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}

    def run(size: int) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "jmapd.cli", "--config", str(config), "deliver", "--user", client.user],
            input=message(client.user, size), capture_output=True, env=env, timeout=60,
        )

    assert run(1000).returncode == 0
    over = run(1000)
    assert over.returncode == 73 and b"5.2.2" in over.stderr, over.stderr
    assert len(emails(client)) == 1
    assert storage_used(client) == client.ok("Email/get", {"ids": emails(client), "properties": ["size"]})["list"][0]["size"]
