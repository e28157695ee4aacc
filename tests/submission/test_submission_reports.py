"""DSNs and MDNs that come back for a submission (RFC 8621 §7, RFC 9007):
delivered through real LMTP into the sender's account, they are linked to
the EmailSubmission — dsnBlobIds/mdnBlobIds and deliveryStatus move."""

from __future__ import annotations

import smtplib
import uuid

from jmapd.testing import wait_for


def dsn(to: str, envid: str | None, rcpt: str, action: str, message_id: str) -> bytes:
    env = f"Original-Envelope-Id: {envid}\r\n" if envid else ""
    return (f"From: Mail Delivery System <MAILER-DAEMON@example.org>\r\nTo: {to}\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{uuid.uuid4().hex}@example.org>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n"
            f"--b\r\nContent-Type: message/delivery-status\r\n\r\n{env}Reporting-MTA: dns; mx.example.org\r\n\r\n"
            f"Final-Recipient: rfc822; {rcpt}\r\nAction: {action}\r\nStatus: 5.1.1\r\n\r\n"
            f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{message_id}>\r\nSubject: x\r\n\r\n"
            "--b--\r\n").encode()


def mdn(to: str, rcpt: str, message_id: str) -> bytes:
    return (f"From: {rcpt}\r\nTo: {to}\r\nSubject: Read: x\r\nMessage-ID: <{uuid.uuid4().hex}@example.org>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"b\"\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nShown.\r\n"
            f"--b\r\nContent-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822; {rcpt}\r\n"
            f"Original-Message-ID: <{message_id}>\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n"
            "--b--\r\n").encode()


def test_reports_are_linked_to_their_submission(sending, mailer_for, relay):
    from jmapd_delivery.deliver import lmtp_server

    server = sending()
    alice = mailer_for(server)
    message_id = f"{uuid.uuid4().hex}@localhost"
    raw = alice.message(to="bob@example.net, carol@example.net").replace(
        b"Message-ID: <", f"Message-ID: <{message_id}>\r\nX-Old-Id: <".encode(), 1)
    _, result = alice.submit(raw)
    sid = result["created"]["k"]["id"]
    relay.wait(lambda r: "bob@example.net" in r.rcpt_tos)
    wait_for(lambda: alice.get(sid)["deliveryStatus"]["bob@example.net"]["delivered"],
             lambda d: d not in ("queued",))
    other_sid = alice.submit()[1]["created"]["k"]["id"]  # an unrelated submission stays as it is
    lmtp = lmtp_server(server.services, host="127.0.0.1", port=0)
    lmtp.start()
    try:
        with smtplib.LMTP("127.0.0.1", lmtp.port) as conn:
            me = alice.address
            assert conn.sendmail("", [me], dsn(me, sid, "bob@example.net", "failed", message_id)) == {}
            # no ENVID: found by the Message-ID of the submitted Email
            assert conn.sendmail("", [me], dsn(me, None, "carol@example.net", "delivered", message_id)) == {}
            assert conn.sendmail("carol@example.net", [me], mdn(me, "carol@example.net", message_id)) == {}
            assert conn.sendmail("x@example.net", [me], alice.message(to=me, subject="just mail")) == {}
    finally:
        lmtp.stop()
    got = alice.get(sid)
    assert len(got["dsnBlobIds"]) == 2 and len(got["mdnBlobIds"]) == 1
    status = got["deliveryStatus"]
    assert status["bob@example.net"]["delivered"] == "no"
    assert status["carol@example.net"]["delivered"] == "yes" and status["carol@example.net"]["displayed"] == "yes"
    assert status["bob@example.net"]["displayed"] == "unknown"
    # the blobs are the delivered reports, and MDN/parse reads the MDN one
    parsed = alice.client.ok("MDN/parse", {"blobIds": got["mdnBlobIds"]})["parsed"]
    assert parsed[got["mdnBlobIds"][0]]["disposition"]["type"] == "displayed"
    untouched = alice.get(other_sid)
    assert untouched["dsnBlobIds"] == [] and untouched["mdnBlobIds"] == []
