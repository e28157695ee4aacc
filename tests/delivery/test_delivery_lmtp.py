"""Inbound delivery over a real LMTP connection and through `jmapd deliver`."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import uuid

import yaml

MESSAGE = "From: Sender <sender@example.net>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{mid}@example.net>\r\n\r\nHi.\r\n"


def message(to: str, subject: str) -> bytes:
    return MESSAGE.format(to=to, subject=subject, mid=uuid.uuid4().hex).encode()


def mailbox_id(client, role=None, name=None):
    for mailbox in client.ok("Mailbox/get")["list"]:
        if (role and mailbox["role"] == role) or (name and mailbox["name"] == name):
            return mailbox["id"]
    raise AssertionError("no such mailbox")


def subjects_in(client, mailbox):
    ids = client.ok("Email/query", {"filter": {"inMailbox": mailbox}})["ids"]
    emails = client.ok("Email/get", {"ids": ids, "properties": ["subject", "blobId"]})["list"] if ids else []
    return {e["subject"]: e for e in emails}


def test_lmtp_delivery_into_inbox(jmap_server, lmtp_for):
    port = lmtp_for(jmap_server)
    client = jmap_server.client()
    subject = "lmtp " + uuid.uuid4().hex[:6]
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        refused = lmtp.sendmail("sender@example.net", [f"{client.user}@localhost"], message(f"{client.user}@localhost", subject))
    assert refused == {}
    found = subjects_in(client, mailbox_id(client, role="inbox"))
    assert subject in found
    raw = client.http.get(f"/jmap/download/{client.account_id}/{found[subject]['blobId']}/m.eml").content
    assert raw.startswith(b"Return-Path: <sender@example.net>\r\nFrom: Sender")


def test_unknown_user_is_refused_at_rcpt(jmap_server, lmtp_for):
    port = lmtp_for(jmap_server)
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        lmtp.mail("sender@example.net")
        code, text = lmtp.rcpt("nobody-here@localhost")
    assert code == 550 and b"5.1.1" in text


def test_per_recipient_replies_and_folders(jmap_server, lmtp_for):
    port = lmtp_for(jmap_server)
    alice, bob = jmap_server.client(), jmap_server.client()
    alice.ok("Mailbox/set", {"create": {"l": {"name": "Lists"}}})
    subject = "multi " + uuid.uuid4().hex[:6]
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        assert lmtp.mail("sender@example.net")[0] == 250
        assert lmtp.rcpt(f"{alice.user}+Lists@localhost")[0] == 250
        assert lmtp.rcpt(f"{bob.user}+NoSuchFolder@localhost")[0] == 250
        code, _ = lmtp.data(message("list@example.net", subject))
        assert code == 250
        code, _ = lmtp.getreply()
        assert code == 250
    assert subject in subjects_in(alice, mailbox_id(alice, name="Lists"))
    assert subject not in subjects_in(alice, mailbox_id(alice, role="inbox"))
    assert subject in subjects_in(bob, mailbox_id(bob, role="inbox"))


def test_over_size_is_552_and_domains_are_checked(make_server, lmtp_for):
    server = make_server({"delivery": {"max_message_size": 500, "domains": ["example.com"]}})
    port = lmtp_for(server)
    client = server.client()
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        lmtp.mail("sender@example.net")
        assert lmtp.rcpt(f"{client.user}@other.example")[0] == 550
        assert lmtp.rcpt(f"{client.user}@EXAMPLE.com")[0] == 250
        code, _ = lmtp.data(message("x@example.com", "big") + b"x" * 1000 + b"\r\n")
    assert code == 552
    ids = client.ok("Email/query", {})["ids"]
    assert ids == []


def test_deliver_command(jmapd_database, jmapd_data_dir, jmap_server, tmp_path):
    client = jmap_server.client()
    config = tmp_path / "jmapd.yaml"
    config.write_text(yaml.safe_dump({"server": {"data_dir": str(jmapd_data_dir)}, "database": {"url": jmapd_database}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    subject = "cli " + uuid.uuid4().hex[:6]
    done = subprocess.run(
        [sys.executable, "-m", "jmapd.cli", "--config", str(config), "deliver", "--user", client.user, "--sender", "s@example.net"],
        input=message(f"{client.user}@localhost", subject), capture_output=True, env=env, timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    email_id = done.stdout.decode().strip().splitlines()[-1]
    got = client.ok("Email/get", {"ids": [email_id], "properties": ["subject", "mailboxIds"]})["list"][0]
    assert got["subject"] == subject and list(got["mailboxIds"]) == [mailbox_id(client, role="inbox")]
    unknown = subprocess.run(
        [sys.executable, "-m", "jmapd.cli", "--config", str(config), "deliver", "--user", "no-such-user-x"],
        input=b"Subject: x\r\n\r\nx\r\n", capture_output=True, env=env, timeout=60,
    )
    assert unknown.returncode == 67


def test_serve_process_listens_and_delivers(jmapd_database, jmapd_data_dir, jmap_server, tmp_path):
    import socket
    import time

    from jmapd_delivery.deliver import serve_lmtp
    from jmapd_delivery.plugin import jmapd_serve_processes

    from jmapd.testing import free_port

    port = free_port()
    raw = {
        "server": {"data_dir": str(jmapd_data_dir)},
        "database": {"url": jmapd_database},
        "delivery": {"lmtp": True, "lmtp_port": port},
    }
    config = tmp_path / "jmapd.yaml"
    config.write_text(yaml.safe_dump(raw))
    from jmapd.app import load_config

    cfg, _ = load_config(str(config), {})
    assert jmapd_serve_processes(config=cfg) == [serve_lmtp]
    assert jmapd_serve_processes(config=jmap_server.services.config) == []

    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", f"from jmapd_delivery.deliver import serve_lmtp; serve_lmtp({str(config)!r})"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "LMTP process did not start"
                time.sleep(0.1)
        client = jmap_server.client()
        subject = "served " + uuid.uuid4().hex[:6]
        with smtplib.LMTP("127.0.0.1", port) as lmtp:
            assert lmtp.sendmail("s@example.net", [f"{client.user}@localhost"], message("x", subject)) == {}
        assert subject in subjects_in(client, mailbox_id(client, role="inbox"))
    finally:
        proc.terminate()
        proc.wait(10)


def test_nul_is_refused_permanently(jmap_server, lmtp_for):
    """NUL cannot be stored (PostgreSQL): 501/550, never 451, so the MTA does not retry."""
    port = lmtp_for(jmap_server)
    client = jmap_server.client()
    rcpt = f"{client.user}@localhost"
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        lmtp.mail("sender@example.net")
        lmtp.send(b"RCPT TO:<" + client.user.encode() + b"\x00x@localhost>\r\n")
        code, text = lmtp.getreply()
        assert code == 501, text
        bad = message(rcpt, "nul").replace(b"Hi.", b"H\x00i.").replace(b"Subject: nul", b"Subject: n\x00ul")
        lmtp.rset()
        lmtp.mail("sender@example.net")
        assert lmtp.rcpt(rcpt)[0] == 250
        code, text = lmtp.data(bad)
        assert code == 550 and b"5.6.0" in text, text
    good = "after nul " + uuid.uuid4().hex[:6]
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        assert lmtp.sendmail("sender@example.net", [rcpt], message(rcpt, good)) == {}
    assert set(subjects_in(client, mailbox_id(client, role="inbox"))) == {good}


def test_greeting_names_no_library_or_version(jmap_server, lmtp_for):
    import socket

    port = lmtp_for(jmap_server)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        greeting = sock.recv(512).decode()
        sock.sendall(b"QUIT\r\n")
    assert greeting.startswith("220 ") and greeting.rstrip().endswith(" LMTP"), greeting
    assert "Python" not in greeting and "aiosmtpd" not in greeting.lower()


def test_recipients_match_case_insensitively(make_server, lmtp_for):
    """#9.10: `Alice@Example.com` got 550; domains fold always, local parts by default."""
    server = make_server({"delivery": {"domains": ["example.com"]}})
    port = lmtp_for(server)
    client = server.client()
    client.ok("Mailbox/set", {"create": {"l": {"name": "Lists"}}})
    assert client.user != client.user.upper()
    subject = "case " + uuid.uuid4().hex[:6]
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        refused = lmtp.sendmail("sender@example.net", [f"{client.user.upper()}+Lists@EXAMPLE.COM"], message("x@example.com", subject))
    assert refused == {}
    assert subject in subjects_in(client, mailbox_id(client, name="Lists"))

    strict = make_server({"delivery": {"domains": ["example.com"], "fold_local_part": False}})
    port = lmtp_for(strict)
    other = strict.client()
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        lmtp.mail("sender@example.net")
        assert lmtp.rcpt(f"{other.user.upper()}@example.com")[0] == 550
        assert lmtp.rcpt(f"{other.user}@Example.COM")[0] == 250


def test_a_recipient_resolves_to_the_most_exact_user_name(make_server):
    """One query for every candidate, the same choice: the address-named user before the bare
    name, an exact name before a case-folded one, a disabled user never."""
    from jmapd_delivery.recipients import personal_account, resolve

    from jmapd.db import ensure_connected
    from jmapd.models import User

    server = make_server({"delivery": {"domains": ["example.com"]}})
    cfg = server.services.config
    base = "r" + uuid.uuid4().hex[:8]
    for name in (base, f"{base}@example.com", f"{base}X", f"{base}x"):
        server.make_user(name)
    ensure_connected()
    at = resolve(cfg, f"{base}@example.com")
    assert at is not None and at.user_name == f"{base}@example.com"
    assert at.account_id == personal_account(f"{base}@example.com")
    bare = resolve(cfg, f"{base}+Lists@EXAMPLE.com")
    assert bare is not None and (bare.account_id, bare.folder) == (at.account_id, "Lists")
    exact = resolve(cfg, f"{base}X@example.com")
    assert exact is not None and exact.user_name == f"{base}X" and exact.account_id == personal_account(f"{base}X")
    assert resolve(cfg, f"{base}x@example.com").account_id == personal_account(f"{base}x")
    User.update(disabled=True).where(User.name == f"{base}x").execute()
    # folded: "…x" is disabled, "…X" is the one left
    assert resolve(cfg, f"{base}x@example.com").account_id == personal_account(f"{base}X")
    assert resolve(cfg, f"nobody{base}@example.com") is None


def test_transaction_log_line_names_the_message_id(jmap_server, lmtp_for, caplog):
    """The one INFO line per transaction: a folded Message-Id header (any case) unfolded, "-" when there is none."""
    import logging

    port = lmtp_for(jmap_server)
    client = jmap_server.client()
    rcpt = f"{client.user}@localhost"
    folded = b"From: a@example.net\r\nMessage-Id:\r\n <folded-" + uuid.uuid4().hex.encode() + b"@example.net>\r\n\r\nHi.\r\n"
    bare = b"From: a@example.net\r\nSubject: no id\r\nX-Message-ID-Like: <not-this@example.net>\r\n\r\nMessage-ID: <body@x>\r\n"
    with caplog.at_level(logging.INFO, logger="jmapd_delivery.lmtp"), smtplib.LMTP("127.0.0.1", port) as lmtp:
        assert lmtp.sendmail("a@example.net", [rcpt], folded) == {}
        assert lmtp.sendmail("a@example.net", [rcpt], bare) == {}
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("LMTP from=")]
    mid = folded.split(b"<", 1)[1].split(b">", 1)[0].decode()
    assert f"message-id=<{mid}> result=250" in lines[0]
    assert "message-id=- result=250" in lines[1]


def test_parallel_sessions_each_store_their_message(jmap_server, lmtp_for):
    """Sessions delivering at once (to one account) each get their own 250 and their message stored."""
    import concurrent.futures

    port = lmtp_for(jmap_server)
    client = jmap_server.client()
    rcpt = f"{client.user}@localhost"
    subjects = [f"parallel {i} {uuid.uuid4().hex[:6]}" for i in range(12)]

    def send(subject: str) -> dict:
        with smtplib.LMTP("127.0.0.1", port) as lmtp:
            return lmtp.sendmail("sender@example.net", [rcpt], message(rcpt, subject))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert list(pool.map(send, subjects)) == [{}] * len(subjects)
    assert set(subjects) <= set(subjects_in(client, mailbox_id(client, role="inbox")))
