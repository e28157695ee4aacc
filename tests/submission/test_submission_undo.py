"""undoStatus: pending until released, cancelable until then, FUTURERELEASE."""

from __future__ import annotations

import datetime

from jmapd.testing import wait_for


def parse(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_cancel_while_pending(relay, sending, mailer_for):
    me = mailer_for(sending(send_delay=1.0))
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    _, result = me.submit()
    sid = result["created"]["k"]["id"]
    # sendAt is the creation time plus the delay: never before the request
    # began plus the delay (no upper bound: a loaded machine may be slow)
    assert parse(result["created"]["k"]["sendAt"]) >= before + datetime.timedelta(seconds=1)
    canceled = me.client.ok("EmailSubmission/set", {"update": {sid: {"undoStatus": "canceled"}}})
    assert canceled["updated"][sid]["deliveryStatus"]["bob@example.net"]["delivered"] == "no"
    # Positive control: a message submitted after it, with the same delay, is
    # sent; the queue takes due items in order, so by then the canceled one
    # would have gone too.
    control = me.message(subject="control " + me.tag)
    me.submit(control)
    assert relay.wait(lambda r: b"Subject: control " + me.tag.encode() in r.content)
    assert relay.messages(lambda r: me.tag.encode() in r.content and b"control" not in r.content) == []
    got = me.get(sid)
    assert got["undoStatus"] == "canceled"
    again = me.client.ok("EmailSubmission/set", {"update": {sid: {"undoStatus": "canceled"}}})
    assert again["updated"] == {sid: None}  # no change
    back = me.client.ok("EmailSubmission/set", {"update": {sid: {"undoStatus": "pending"}}})
    assert back["notUpdated"][sid]["type"] == "invalidProperties"


def test_cannot_unsend_once_final(relay, sending, mailer_for):
    me = mailer_for(sending())
    _, result = me.submit()
    sid = result["created"]["k"]["id"]
    relay.wait(lambda r: me.tag.encode() in r.content)
    assert wait_for(lambda: me.get(sid), lambda s: s["undoStatus"] == "final")["undoStatus"] == "final"
    failed = me.client.ok("EmailSubmission/set", {"update": {sid: {"undoStatus": "canceled"}}})
    assert failed["notUpdated"][sid]["type"] == "cannotUnsend"
    immutable = me.client.ok("EmailSubmission/set", {"update": {sid: {"emailId": "Mother"}}})
    assert immutable["notUpdated"][sid]["properties"] == ["emailId"]


def test_destroying_the_record_does_not_stop_delivery(relay, sending, mailer_for):
    me = mailer_for(sending(send_delay=0.5))
    _, result = me.submit()
    sid = result["created"]["k"]["id"]
    assert me.client.ok("EmailSubmission/set", {"destroy": [sid]})["destroyed"] == [sid]
    assert relay.wait(lambda r: me.tag.encode() in r.content)


def test_futurerelease_holdfor(relay, sending, mailer_for):
    me = mailer_for(sending(max_delayed_send=60))
    envelope = {"mailFrom": {"email": me.address, "parameters": {"HOLDFOR": "1"}}, "rcptTo": [{"email": "z@example.net"}]}
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    _, result = me.submit(envelope=envelope)
    send_at = parse(result["created"]["k"]["sendAt"])
    assert before + datetime.timedelta(seconds=1) <= send_at <= before + datetime.timedelta(seconds=3)
    assert me.get(result["created"]["k"]["id"])["undoStatus"] == "pending"
    [got] = relay.wait(lambda r: me.tag.encode() in r.content)
    assert datetime.datetime.now(datetime.UTC) >= send_at
    assert not any(o.upper().startswith("HOLD") for o in got.mail_options)  # we held it, not the relay

    envelope["mailFrom"]["parameters"] = {"HOLDFOR": "61"}
    _, result = me.submit(envelope=envelope)
    assert result["notCreated"]["k"]["properties"] == ["envelope/mailFrom/parameters/HOLDFOR"]
    envelope["mailFrom"]["parameters"] = {"HOLDFOR": "1", "HOLDUNTIL": "2030-01-01T00:00:00Z"}
    _, result = me.submit(envelope=envelope)
    assert result["notCreated"]["k"]["type"] == "invalidProperties"
