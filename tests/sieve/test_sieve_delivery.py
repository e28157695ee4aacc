"""The active script runs at every delivery, through a real LMTP connection:
fileinto (with :create), imap4flags keywords, discard, reject as LMTP 550
5.7.1 for that recipient only, runtime errors kept in the inbox and
recorded; never on Email/import."""

from __future__ import annotations

import smtplib
import uuid

import pytest


def message(to: str, subject: str, extra: str = "") -> bytes:
    return (f"From: Sender <sender@example.net>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@example.net>\r\n{extra}\r\nHi.\r\n").encode()


def send(port: int, rcpts: list[str], raw: bytes, sender: str = "sender@example.net") -> dict:
    """One LMTP transaction; the recipients whose reply after DATA was not 2xx."""
    refused = {}
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        assert lmtp.mail(sender)[0] == 250
        for rcpt in rcpts:
            assert lmtp.rcpt(rcpt)[0] == 250
        replies = [lmtp.data(raw)] + [lmtp.getreply() for _ in rcpts[1:]]
    for rcpt, (code, text) in zip(rcpts, replies, strict=True):
        if code != 250:
            refused[rcpt] = (code, text)
    return refused


def emails(client) -> dict[str, dict]:
    ids = client.ok("Email/query", {})["ids"]
    got = client.ok("Email/get", {"ids": ids, "properties": ["subject", "mailboxIds", "keywords"]})["list"] if ids else []
    return {e["subject"]: e for e in got}


def boxes(client) -> dict[str, str]:
    """Mailbox id → name (children as parent/child)."""
    found = client.ok("Mailbox/get")["list"]
    by_id = {m["id"]: m for m in found}

    def path(m: dict) -> str:
        return m["name"] if not m["parentId"] else f"{path(by_id[m['parentId']])}/{m['name']}"

    return {m["id"]: path(m) for m in found}


def run_errors(client) -> list[str]:
    from jmapd_sieve.delivery import run_errors as errors

    from jmapd.db import ensure_connected

    ensure_connected()
    return [e["error"] for e in errors(client.account_id)]


def test_fileinto_create_and_flags(jmap_server, lmtp_for, activate):
    port = lmtp_for(jmap_server)
    client = jmap_server.client()
    me = f"{client.user}@localhost"
    activate(client, r'''require ["fileinto", "mailbox", "imap4flags", "copy"];
if header :contains "subject" "[list]" { fileinto :create :flags "\\Seen" "Lists/Sieve"; stop; }
if header :contains "subject" "flag" { addflag ["\\Flagged", "Custom"]; }
if header :contains "subject" "both" { fileinto :copy "Archive"; }
''')
    for subject in ("[list] digest", "please flag", "plain", "both ways"):
        assert send(port, [me], message(me, subject)) == {}
    got, names = emails(client), boxes(client)
    assert [names[b] for b in got["[list] digest"]["mailboxIds"]] == ["Lists/Sieve"]
    assert got["[list] digest"]["keywords"] == {"$seen": True}
    assert [names[b] for b in got["please flag"]["mailboxIds"]] == ["Inbox"]
    assert got["please flag"]["keywords"] == {"$flagged": True, "custom": True}
    assert [names[b] for b in got["plain"]["mailboxIds"]] == ["Inbox"] and got["plain"]["keywords"] == {}
    assert sorted(names[b] for b in got["both ways"]["mailboxIds"]) == ["Archive", "Inbox"]
    assert run_errors(client) == []


def test_discard_and_reject_per_recipient(jmap_server, lmtp_for, activate):
    port = lmtp_for(jmap_server)
    strict, other = jmap_server.client(), jmap_server.client()
    activate(strict, '''require ["reject"];
if header :is "subject" "spam" { discard; }
elsif header :contains "subject" "no thanks" { reject "We do not want this.\r\nReally."; }
''')
    rcpts = [f"{strict.user}@localhost", f"{other.user}@localhost"]
    assert send(port, rcpts, message(rcpts[0], "spam")) == {}
    refused = send(port, rcpts, message(rcpts[0], "no thanks"))
    assert list(refused) == [rcpts[0]]
    code, text = refused[rcpts[0]]
    assert code == 550 and text.startswith(b"5.7.1 We do not want this. Really.")
    assert send(port, rcpts, message(rcpts[0], "welcome")) == {}
    assert set(emails(strict)) == {"welcome"}  # discarded and rejected: nothing stored
    assert set(emails(other)) == {"spam", "no thanks", "welcome"}  # the other recipient got all three


def test_runtime_errors_keep_in_the_inbox_and_are_recorded(make_server, lmtp_for, activate):
    server = make_server({"sieve": {"max_actions": 2}})
    port = lmtp_for(server)
    client = server.client()
    me = f"{client.user}@localhost"
    activate(client, '''require ["fileinto", "mailbox", "copy", "include"];
if header :is "subject" "many" { fileinto :copy :create "a"; fileinto :copy :create "b"; fileinto :create "c"; }
if header :is "subject" "missing" { fileinto "NoSuchBox"; }
if header :is "subject" "loop" { include "rules"; }
''')
    for subject in ("many", "missing", "loop", "fine"):
        assert send(port, [me], message(me, subject)) == {}
    got, names = emails(client), boxes(client)
    assert {s: [names[b] for b in e["mailboxIds"]] for s, e in got.items()} == {
        "many": ["Inbox"], "missing": ["Inbox"], "loop": ["Inbox"], "fine": ["Inbox"]}
    assert not {"a", "b", "c"} & set(names.values())  # the failed run created nothing
    errors = run_errors(client)
    assert len(errors) == 3
    assert any("too many actions" in e for e in errors)
    assert any("NoSuchBox" in e for e in errors)
    assert any("recursive" in e for e in errors)


def test_a_script_that_errs_at_every_step_still_delivers(jmap_server, lmtp_for, activate):
    """A crash of the plan hook itself: the message is delivered as usual."""
    from jmapd_sieve import delivery

    port = lmtp_for(jmap_server)
    client = jmap_server.client()
    me = f"{client.user}@localhost"
    activate(client, "discard;")
    original = delivery.run_script
    delivery.run_script = lambda *a, **k: 1 / 0  # type: ignore[assignment]
    try:
        assert send(port, [me], message(me, "despite the bug")) == {}
    finally:
        delivery.run_script = original
    assert send(port, [me], message(me, "discarded")) == {}
    assert set(emails(client)) == {"despite the bug"}


def test_not_run_on_import(client, activate):
    activate(client, "discard;")
    blob = client.upload(message("x@example.net", "imported"), "message/rfc822")["blobId"]
    inbox = next(m["id"] for m in client.ok("Mailbox/get")["list"] if m["role"] == "inbox")
    done = client.ok("Email/import", {"emails": {"e": {"blobId": blob, "mailboxIds": {inbox: True}}}})
    assert "e" in done["created"]
    assert set(emails(client)) == {"imported"}


def test_deactivated_script_no_longer_runs(jmap_server, lmtp_for, activate):
    port = lmtp_for(jmap_server)
    client = jmap_server.client()
    me = f"{client.user}@localhost"
    activate(client, "discard;")
    assert send(port, [me], message(me, "gone")) == {}
    client.ok("SieveScript/set", {"onSuccessDeactivateScript": True}, ["urn:ietf:params:jmap:core",
                                                                        "urn:ietf:params:jmap:sieve"])
    assert send(port, [me], message(me, "kept")) == {}
    assert set(emails(client)) == {"kept"}


@pytest.mark.parametrize("flag,keyword", [("\\Seen", "$seen"), ("\\Deleted", None), ("Work", "work"),
                                          ("bad(", None), ("\\Answered", "$answered")])
def test_flags_to_keywords(flag, keyword):
    from jmapd_sieve.delivery import keyword as to_keyword

    assert to_keyword(flag) == keyword


def test_deliver_command_runs_the_script(jmapd_database, jmapd_data_dir, jmap_server, activate):
    """`jmapd deliver` (a separate process): reject is exit 77 with the
    reason, fileinto files; the same script, the same rules as LMTP."""
    import os
    import subprocess
    import sys

    import yaml

    client = jmap_server.client()
    activate(client, 'require ["reject", "fileinto", "mailbox"];\n'
                     'if header :is "subject" "go away" { reject "Not here."; }\n'
                     'else { fileinto :create "Piped"; }\n')
    config = jmapd_data_dir / f"deliver-{uuid.uuid4().hex[:6]}.yaml"
    config.write_text(yaml.safe_dump({"server": {"data_dir": str(jmapd_data_dir)}, "database": {"url": jmapd_database}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}

    def deliver(subject: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "jmapd.cli", "--config", str(config), "deliver", "--user", client.user,
             "--sender", "s@example.net"],
            input=message(f"{client.user}@localhost", subject), capture_output=True, env=env, timeout=60,
        )

    refused = deliver("go away")
    assert refused.returncode == 77 and b"5.7.1 Not here." in refused.stderr
    done = deliver("welcome")
    assert done.returncode == 0, done.stderr.decode()
    got, names = emails(client), boxes(client)
    assert set(got) == {"welcome"}
    assert [names[b] for b in got["welcome"]["mailboxIds"]] == ["Piped"]


def test_jmapd_import_runs_no_script_and_sends_no_reply(jmapd_database, jmapd_data_dir, jmap_server, activate,
                                                        tmp_path):
    """`jmapd import` stores mail as it was on the old server: no Sieve script runs and no
    vacation reply (the script's or the VacationResponse's) is queued. `jmapd deliver` of one
    more message afterwards is the positive control: the same script files it and replies."""
    import os
    import subprocess
    import sys

    import yaml
    from jmapd_submission.models import QueueItem

    from jmapd.db import ensure_connected

    client = jmap_server.client()
    me = f"{client.user}@localhost"
    activate(client, 'require ["fileinto", "mailbox", "vacation"];\n'
                     'vacation :days 1 :subject "Away" "I am away.";\nfileinto :create "Piped";\n')
    client.ok("VacationResponse/set", {"update": {"singleton": {"isEnabled": True, "textBody": "Away."}}},
              ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:vacationresponse"])
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for n in range(3):
        (root / "cur" / f"{1_600_000_000 + n}.M{n}.host:2,S").write_bytes(message(me, f"old {n}"))
    config = tmp_path / "jmapd.yaml"
    # A relay to queue replies for (nothing listens there: the queue row is what is looked at).
    config.write_text(yaml.safe_dump({"server": {"data_dir": str(jmapd_data_dir)}, "database": {"url": jmapd_database},
                                      "submission": {"smarthost": {"host": "127.0.0.1", "port": 9}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    done = subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "import", "maildir",
                           "--user", client.user, str(root)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and "3 imported" in done.stderr, done.stderr
    got, names = emails(client), boxes(client)
    assert {s: [names[b] for b in e["mailboxIds"]] for s, e in got.items()} == {f"old {n}": ["Inbox"] for n in range(3)}
    assert "Piped" not in names.values()

    ensure_connected()

    def replies() -> int:
        return int(QueueItem.select().where((QueueItem.account_id == client.account_id)
                                            & (QueueItem.kind == "autoreply")).count())

    assert replies() == 0
    delivered = subprocess.run(
        [sys.executable, "-m", "jmapd.cli", "--config", str(config), "deliver", "--user", client.user,
         "--sender", "sender@example.net"], input=message(me, "new"), capture_output=True, env=env, timeout=60)
    assert delivered.returncode == 0, delivered.stderr.decode()
    got, names = emails(client), boxes(client)
    assert [names[b] for b in got["new"]["mailboxIds"]] == ["Piped"]
    assert replies() >= 1
