"""Actions that send mail, through the outbound queue: redirect (with loop
protection) and vacation, which shares the VacationResponse's once-per-sender
log (RFC 3834)."""

from __future__ import annotations

import smtplib
import uuid

from jmapd.testing import wait_for

SIEVE_USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:sieve"]


def message(to: str, subject: str, sender: str = "friend@example.net", extra: str = "") -> bytes:
    return (f"From: Friend <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@example.net>\r\n{extra}\r\nHello.\r\n").encode()


def send(port: int, rcpt: str, raw: bytes, sender: str = "friend@example.net") -> None:
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        assert lmtp.sendmail(sender, [rcpt], raw) == {}


def subjects(client) -> list[str]:
    ids = client.ok("Email/query", {})["ids"]
    return sorted(e["subject"] for e in client.ok("Email/get", {"ids": ids, "properties": ["subject"]})["list"]) if ids else []


def queue(account_id: str, kind: str) -> list[tuple[tuple[str, ...], str]]:
    from jmapd_submission.models import QueueItem

    from jmapd.db import ensure_connected

    ensure_connected()
    rows = QueueItem.select().where((QueueItem.account_id == account_id) & (QueueItem.kind == kind))
    return sorted((tuple(r["email"] for r in q.rcpt_to), q.state) for q in rows)


def test_redirect_and_redirect_copy(relay, make_server, lmtp_for, activate):
    server = make_server({"submission": relay.config()})
    port = lmtp_for(server)
    client = server.client()
    me = f"{client.user}@localhost"
    activate(client, '''require ["copy"];
if header :is "subject" "away" { redirect "elsewhere@example.org"; }
if header :is "subject" "both" { redirect :copy "archive@example.org"; }
''')
    send(port, me, message(me, "away"))
    send(port, me, message(me, "both"))
    send(port, me, message(me, "stays"))
    [away] = relay.wait(lambda r: r.rcpt_tos == ["elsewhere@example.org"])
    [both] = relay.wait(lambda r: r.rcpt_tos == ["archive@example.org"])
    assert away.mail_from == "<friend@example.net>" or away.mail_from == "friend@example.net"
    assert away.content.startswith(f"Delivered-To: {me}\r\n".encode())
    assert b"Subject: away" in away.content and b"Subject: both" in both.content
    expected = [(("archive@example.org",), "done"), (("elsewhere@example.org",), "done")]
    assert wait_for(lambda: queue(client.account_id, "redirect"), lambda q: q == expected) == expected
    # redirect without :copy cancels the keep; :copy keeps it
    assert subjects(client) == ["both", "stays"]
    assert len(relay.messages()) == 2


def test_redirect_loop_between_two_local_users_stops(relay, make_server, lmtp_for, activate):
    server = make_server({"submission": relay.config()})
    port = lmtp_for(server)
    alice, bob = server.client(), server.client()
    a, b = f"{alice.user}@localhost", f"{bob.user}@localhost"
    activate(alice, f'redirect "{b}";')
    activate(bob, f'redirect "{a}";')
    send(port, a, message(a, "ping pong"))
    # alice -> bob (local, through the queue); bob's redirect would send it
    # back where it was delivered before (its Delivered-To: alice), so bob
    # keeps it and the loop is recorded instead.
    got = wait_for(lambda: subjects(bob), lambda s: s == ["ping pong"])
    assert got == ["ping pong"]
    from jmapd_sieve.delivery import run_errors

    errors = [e["error"] for e in run_errors(bob.account_id)]
    assert len(errors) == 1 and "mail loop" in errors[0]
    assert run_errors(alice.account_id) == []
    assert subjects(alice) == []  # alice's redirect cancelled her keep
    assert [state for _, state in queue(alice.account_id, "redirect")] == ["done"]
    assert queue(bob.account_id, "redirect") == []
    assert relay.messages() == []  # nothing left the server


def test_too_many_redirects_keep_the_message(relay, make_server, lmtp_for, activate):
    server = make_server({"submission": relay.config(), "sieve": {"max_redirects": 1}})
    port = lmtp_for(server)
    client = server.client()
    me = f"{client.user}@localhost"
    activate(client, 'redirect "one@example.org"; redirect "two@example.org";')
    send(port, me, message(me, "fan out"))
    send(port, me, message(me, "control", extra=""))
    assert subjects(client) == ["control", "fan out"]
    assert queue(client.account_id, "redirect") == []
    assert relay.messages() == []


def test_vacation_once_per_sender_shared_with_vacation_response(relay, make_server, lmtp_for, activate):
    server = make_server({"submission": relay.config()})
    port = lmtp_for(server)
    client = server.client()
    me = f"{client.user}@localhost"
    activate(client, 'require ["vacation"];\r\nvacation :days 3 :subject "Out of office" "I am out until Monday.";\r\n')
    first = f"first-{uuid.uuid4().hex[:6]}@example.net"
    send(port, me, message(me, "one", first), first)
    [reply] = relay.wait(lambda r: first in r.rcpt_tos)
    assert reply.mail_from in ("<>", "")
    assert b"Subject: Out of office" in reply.content and b"I am out until Monday." in reply.content
    assert b"Auto-Submitted: auto-replied" in reply.content
    send(port, me, message(me, "two", first), first)  # same sender within the period: no second reply
    # the VacationResponse on as well: still one reply per sender in all
    client.ok("VacationResponse/set", {"update": {"singleton": {"isEnabled": True, "textBody": "Away (JMAP)."}}})
    send(port, me, message(me, "three", first), first)
    second = f"second-{uuid.uuid4().hex[:6]}@example.net"
    send(port, me, message(me, "four", second), second)
    listed = f"list-{uuid.uuid4().hex[:6]}@example.net"
    send(port, me, message(me, "five", listed, extra="List-Id: <l.example.net>\r\n"), listed)
    relay.wait(lambda r: second in r.rcpt_tos)
    expected = [((first,), "done"), ((second,), "done")]
    assert wait_for(lambda: queue(client.account_id, "autoreply"), lambda q: q == expected) == expected
    assert len(relay.messages(lambda r: second in r.rcpt_tos)) == 1
    assert b"I am out until Monday." in relay.messages(lambda r: second in r.rcpt_tos)[0].content
    assert relay.messages(lambda r: listed in r.rcpt_tos) == []
    assert subjects(client) == ["five", "four", "one", "three", "two"]  # vacation keeps every message
