"""Without an outbound relay no auto-reply is queued (it could never leave)."""

from __future__ import annotations

import logging
import smtplib
import uuid

from jmapd_submission.models import QueueItem
from jmapd_vacation import responder
from jmapd_vacation.models import ReplyLog

from jmapd.db import ensure_connected


def incoming(to: str, sender: str) -> bytes:
    return (
        f"From: <{sender}>\r\nTo: {to}\r\nSubject: Hello\r\nMessage-ID: <{uuid.uuid4().hex}@example.net>\r\n\r\nHi\r\n"
    ).encode()


def test_no_relay_no_autoreply_logged_once(make_server, monkeypatch, caplog):
    from jmapd_delivery.deliver import lmtp_server

    monkeypatch.setattr(responder, "_warned_no_relay", False)
    server = make_server({})  # submission.smarthost.host is null
    client = server.client()
    me = f"{client.user}@localhost"
    client.ok("VacationResponse/set", {"update": {"singleton": {"isEnabled": True, "textBody": "Away."}}})
    lmtp = lmtp_server(server.services, host="127.0.0.1", port=0)
    lmtp.start()
    try:
        with caplog.at_level(logging.WARNING, logger="jmapd.vacation"):
            for n in range(3):
                sender = f"friend{n}-{uuid.uuid4().hex[:6]}@example.net"
                with smtplib.LMTP("127.0.0.1", lmtp.port) as conn:
                    assert conn.sendmail(sender, [me], incoming(me, sender)) == {}
    finally:
        lmtp.stop()
    assert len(client.ok("Email/query", {})["ids"]) == 3  # delivered all the same
    ensure_connected()
    assert QueueItem.select().where(QueueItem.account_id == client.account_id).count() == 0
    assert ReplyLog.select().where(ReplyLog.account_id == client.account_id).count() == 0
    warnings = [r for r in caplog.records if r.name == "jmapd.vacation" and "no outbound relay" in r.getMessage()]
    assert len(warnings) == 1
    assert responder.respond(server.services, client.account_id, incoming(me, "x@example.net"), "x@example.net") == "noRelay"
