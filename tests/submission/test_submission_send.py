"""EmailSubmission/set end to end: a real relay receives what was sent."""

from __future__ import annotations

from jmapd_submission.domain.envelope import strip_bcc
from jmapd_submission.models import QueueItem

from jmapd.db import ensure_connected
from jmapd.testing import wait_for


def test_send_strips_bcc_and_reports_delivery(relay, sending, mailer_for):
    server = sending()
    me = mailer_for(server)
    raw = me.message(
        to="Bob <bob@example.net>",
        extra="Cc: carol@example.net, bob@example.net\r\nBcc: secret@example.org,\r\n hidden@example.org\r\n",
    )
    email_id, result = me.submit(raw)
    created = result["created"]["k"]
    assert created["undoStatus"] == "pending"
    assert created["envelope"] == {
        "mailFrom": {"email": me.address, "parameters": None},
        "rcptTo": [
            {"email": a, "parameters": None}
            for a in ("bob@example.net", "carol@example.net", "secret@example.org", "hidden@example.org")
        ],
    }
    assert created["deliveryStatus"]["bob@example.net"]["delivered"] == "queued"
    [got] = relay.wait(lambda r: me.tag.encode() in r.content)
    assert got.content == strip_bcc(raw) and b"secret@" not in got.content and b"Bcc" not in got.content
    assert got.mail_from == me.address
    assert got.rcpt_tos == ["bob@example.net", "carol@example.net", "secret@example.org", "hidden@example.org"]

    final = wait_for(lambda: me.get(created["id"]), lambda s: s["undoStatus"] == "final")
    assert final["undoStatus"] == "final"
    assert final["emailId"] == email_id and final["identityId"] == me.identity()["id"]
    assert final["deliveryStatus"]["carol@example.net"] == {
        "smtpReply": "250 2.1.5 Recipient OK",
        "delivered": "unknown",
        "displayed": "unknown",
    }
    assert final["dsnBlobIds"] == [] and final["mdnBlobIds"] == []
    changes = me.client.ok("EmailSubmission/changes", {"sinceState": result["newState"]})
    assert changes["updated"] == [created["id"]]


def test_client_envelope_and_parameters(relay, sending, mailer_for):
    server = sending()
    me = mailer_for(server)
    envelope = {
        "mailFrom": {"email": me.address, "parameters": {"BODY": "8BITMIME"}},
        "rcptTo": [{"email": "dave@example.net", "parameters": None}],
    }
    _, result = me.submit(envelope=envelope)
    assert "envelope" not in result["created"]["k"]  # as given, not changed by the server
    [got] = relay.wait(lambda r: me.tag.encode() in r.content)
    assert got.rcpt_tos == ["dave@example.net"]
    assert "BODY=8BITMIME" in got.mail_options


def test_temporary_failure_is_retried(relay, sending, mailer_for):
    server = sending()
    me = mailer_for(server)
    relay.refuse("slow@example.net", "451 4.3.0 Try again later", "452 4.2.2 Still busy")
    _, result = me.submit(me.message(to="slow@example.net, fast@example.net"))
    sid = result["created"]["k"]["id"]
    first = wait_for(lambda: me.get(sid), lambda s: s["deliveryStatus"]["fast@example.net"]["delivered"] != "queued")
    assert first["deliveryStatus"]["fast@example.net"]["delivered"] == "unknown"
    # fast was relayed, so the submission can no longer be recalled
    assert first["undoStatus"] == "final"
    arrived = relay.wait(lambda r: me.tag.encode() in r.content, count=2)
    assert [r.rcpt_tos for r in arrived] == [["fast@example.net"], ["slow@example.net"]]
    done = wait_for(lambda: me.get(sid), lambda s: s["deliveryStatus"]["slow@example.net"]["delivered"] == "unknown")
    assert done["deliveryStatus"]["slow@example.net"]["smtpReply"] == "250 2.1.5 Recipient OK"
    # Nobody twice: the queue holds nothing more for this submission (so no
    # further attempt can come), and the relay saw each recipient once.
    ensure_connected()
    assert [q.state for q in QueueItem.select().where(QueueItem.submission_id == sid)] == ["done"]
    assert len(relay.messages(lambda r: me.tag.encode() in r.content)) == 2


def test_all_recipients_deferred_stays_pending_then_final(relay, sending, mailer_for):
    server = sending(retry_base=1.5, retry_cap=1.5)
    me = mailer_for(server)
    relay.refuse("later@example.net", "421 4.7.0 Greylisted")
    _, result = me.submit(me.message(to="later@example.net"))
    sid = result["created"]["k"]["id"]
    deferred = wait_for(lambda: me.get(sid), lambda s: "421" in s["deliveryStatus"]["later@example.net"]["smtpReply"])
    assert deferred["deliveryStatus"]["later@example.net"] == {
        "smtpReply": "421 4.7.0 Greylisted", "delivered": "queued", "displayed": "unknown",
    }
    assert deferred["undoStatus"] == "pending"
    relay.wait(lambda r: me.tag.encode() in r.content)
    assert wait_for(lambda: me.get(sid), lambda s: s["undoStatus"] == "final")["undoStatus"] == "final"


def test_permanent_failure_is_final_per_recipient(relay, sending, mailer_for):
    server = sending()
    me = mailer_for(server)
    relay.refuse("gone@example.net", "550-5.1.1 No such user\r\n550 5.1.1 here")
    _, result = me.submit(me.message(to="gone@example.net, ok@example.net"))
    sid = result["created"]["k"]["id"]
    relay.wait(lambda r: me.tag.encode() in r.content)
    done = wait_for(lambda: me.get(sid), lambda s: s["deliveryStatus"]["gone@example.net"]["delivered"] == "no")
    assert done["deliveryStatus"]["gone@example.net"]["smtpReply"].startswith("550 5.1.1 No such user")
    assert done["deliveryStatus"]["ok@example.net"]["delivered"] == "unknown"


def test_query_and_filters(relay, sending, mailer_for):
    server = sending(send_delay=60)
    me = mailer_for(server)
    e1, r1 = me.submit()
    e2, r2 = me.submit()
    s1, s2 = r1["created"]["k"]["id"], r2["created"]["k"]["id"]
    q = me.client.ok("EmailSubmission/query", {"filter": {"emailIds": [e2]}})
    assert q["ids"] == [s2]
    q = me.client.ok("EmailSubmission/query", {"filter": {"undoStatus": "pending"}, "sort": [{"property": "sentAt", "isAscending": False}]})
    assert set(q["ids"]) == {s1, s2}
    q = me.client.ok("EmailSubmission/query", {"filter": {"identityIds": [me.identity()["id"]], "after": "2000-01-01T00:00:00Z", "before": "2999-01-01T00:00:00Z"}})
    assert set(q["ids"]) == {s1, s2}
    q = me.client.ok("EmailSubmission/query", {"filter": {"before": "2000-01-01T00:00:00Z"}})
    assert q["ids"] == []
    name, err = me.client.call("EmailSubmission/query", {"filter": {"subject": "x"}})
    assert (name, err["type"]) == ("error", "unsupportedFilter")
    name, err = me.client.call("EmailSubmission/query", {"sort": [{"property": "subject"}]})
    assert (name, err["type"]) == ("error", "unsupportedSort")
    qc = me.client.ok("EmailSubmission/queryChanges", {"sinceQueryState": q["queryState"], "filter": {"before": "2000-01-01T00:00:00Z"}})
    assert qc["added"] == []
    for sid in (s1, s2):
        me.client.ok("EmailSubmission/set", {"update": {sid: {"undoStatus": "canceled"}}})
