"""Auto-replies at delivery: sent once per sender, never to lists or robots."""

from __future__ import annotations

import smtplib
import uuid

from jmapd.testing import wait_for


def incoming(to: str, sender: str = "friend@example.net", extra: str = "") -> bytes:
    return (
        f"From: Friend <{sender}>\r\nTo: {to}\r\nSubject: Lunch?\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@example.net>\r\n{extra}\r\nAre you free?\r\n"
    ).encode()


def deliver(port: int, sender: str, rcpt: str, raw: bytes) -> None:
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        assert lmtp.sendmail(sender, [rcpt], raw) == {}


def test_reply_sent_once_per_sender(reply_relay, make_server):
    from jmapd_delivery.deliver import lmtp_server

    server = make_server({"submission": reply_relay.config()})
    client = server.client()
    me = f"{client.user}@localhost"
    client.ok("Identity/set", {"update": {client.ok("Identity/get")["list"][0]["id"]: {"name": "Ann Example"}}})
    client.ok(
        "VacationResponse/set",
        {"update": {"singleton": {"isEnabled": True, "subject": "Away until Monday", "textBody": "I am away."}}},
    )
    lmtp = lmtp_server(server.services, host="127.0.0.1", port=0)
    lmtp.start()
    try:
        sender = f"friend-{uuid.uuid4().hex[:6]}@example.net"
        deliver(lmtp.port, sender, me, incoming(me, sender))
        [reply] = reply_relay.wait(lambda r: sender in r.rcpt_tos)
        assert reply.mail_from == "<>" and reply.rcpt_tos == [sender]
        assert b"Auto-Submitted: auto-replied" in reply.content
        assert b"Subject: Away until Monday" in reply.content
        assert f"From: Ann Example <{me}>".encode() in reply.content
        assert b"In-Reply-To: <" in reply.content and b"I am away." in reply.content

        deliver(lmtp.port, sender, me, incoming(me, sender))  # same sender again: no second reply
        other = f"other-{uuid.uuid4().hex[:6]}@example.net"
        deliver(lmtp.port, other, me, incoming(me, other, extra="List-Id: <talk.example.net>\r\n"))
        deliver(lmtp.port, other, me, incoming(me, other, extra="Auto-Submitted: auto-generated\r\n"))
        deliver(lmtp.port, other, me, incoming("someone-else@example.net", other))
        deliver(lmtp.port, "", me, incoming(me, other))
        deliver(lmtp.port, me, me, incoming(me, me))
        third = f"third-{uuid.uuid4().hex[:6]}@example.net"
        deliver(lmtp.port, third, me, incoming(me, third))
        # The reply to the third sender is the positive control; the queue is
        # where any other reply would be: exactly the two replies, both sent.
        reply_relay.wait(lambda r: third in r.rcpt_tos)
        from jmapd_submission.models import QueueItem

        from jmapd.db import ensure_connected

        ensure_connected()
        expected = sorted([((sender,), "done"), ((third,), "done")])

        def queue() -> list[tuple[tuple[str, ...], str]]:
            rows = QueueItem.select().where((QueueItem.account_id == client.account_id) & (QueueItem.kind == "autoreply"))
            return sorted((tuple(r["email"] for r in q.rcpt_to), q.state) for q in rows)

        # The relay has the reply before the worker marks its row done: wait for that.
        assert wait_for(queue, lambda seen: seen == expected) == expected
        assert len(reply_relay.messages(lambda r: sender in r.rcpt_tos)) == 1
        assert reply_relay.messages(lambda r: other in r.rcpt_tos or me in r.rcpt_tos) == []
        # every message was still delivered
        assert len(client.ok("Email/query", {})["ids"]) == 8
    finally:
        lmtp.stop()


def test_no_reply_outside_the_window_or_when_disabled(reply_relay, make_server):
    from jmapd_vacation.responder import respond

    server = make_server({"submission": reply_relay.config()})
    client = server.client()
    me = f"{client.user}@localhost"
    services = server.services
    account = client.account_id
    assert respond(services, account, incoming(me), "a@example.net") == "disabled"
    client.ok("VacationResponse/set", {"update": {"singleton": {"isEnabled": True, "toDate": "2001-01-01T00:00:00Z"}}})
    assert respond(services, account, incoming(me), "a@example.net") == "disabled"
    client.ok("VacationResponse/set", {"update": {"singleton": {"toDate": None, "fromDate": "2999-01-01T00:00:00Z"}}})
    assert respond(services, account, incoming(me), "a@example.net") == "disabled"
    client.ok("VacationResponse/set", {"update": {"singleton": {"fromDate": "2001-01-01T00:00:00Z"}}})
    assert respond(services, account, incoming(me), "a@example.net") == "reply"
    assert respond(services, account, incoming(me), "a@example.net") == "alreadyReplied"
    assert respond(services, account, incoming(me, extra="Precedence: bulk\r\n"), "b@example.net") == "precedence"
    assert respond(services, account, incoming(me), "mailer-daemon@example.net") == "robotSender"
    [reply] = reply_relay.wait(lambda r: "a@example.net" in r.rcpt_tos)
    assert b"Subject: Re: Lunch?" in reply.content


def test_reply_to_mail_for_a_tagged_address(reply_relay, make_server):
    """#9.10: mail to ``user+tag@`` is the user's (delivered into their folder),
    so their vacation answers it, from the address they gave out untagged."""
    from jmapd_delivery.deliver import lmtp_server

    server = make_server({"submission": reply_relay.config()})
    client = server.client()
    client.ok("Mailbox/set", {"create": {"l": {"name": "Lists"}}})
    me = f"{client.user}@localhost"
    tagged = f"{client.user}+Lists@LocalHost"
    client.ok("VacationResponse/set", {"update": {"singleton": {"isEnabled": True, "subject": "Away", "textBody": "Off."}}})
    lmtp = lmtp_server(server.services, host="127.0.0.1", port=0)
    lmtp.start()
    try:
        sender = f"friend-{uuid.uuid4().hex[:6]}@example.net"
        deliver(lmtp.port, sender, tagged, incoming(tagged, sender))
        [reply] = reply_relay.wait(lambda r: sender in r.rcpt_tos)
        assert f"From: {me}".encode() in reply.content, reply.content[:300]
        # a tagged envelope sender that is the user's own address is still not answered
        own = f"{client.user}+x@localhost"
        deliver(lmtp.port, own, tagged, incoming(tagged, own))
        control = f"control-{uuid.uuid4().hex[:6]}@example.net"
        deliver(lmtp.port, control, me, incoming(me, control))
        reply_relay.wait(lambda r: control in r.rcpt_tos)  # the positive control came after it
        assert not reply_relay.messages(lambda r: own in r.rcpt_tos)
    finally:
        lmtp.stop()
