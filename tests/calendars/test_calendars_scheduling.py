"""Scheduling by email (draft §5.5.1): iTIP over iMIP through a real SMTP
relay (aiosmtpd) and real LMTP delivery, ParticipantIdentity (draft §3)."""

from __future__ import annotations

import smtplib
import uuid
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from jmapd_calendars.testing import calendars, ok
from jmapd_submission.testing import RecordingRelay

from jmapd.testing import wait_for

CAL = "urn:ietf:params:jmap:calendars"


@pytest.fixture
def sched(relay: RecordingRelay, make_server: Any) -> Any:
    """A server relaying to ``relay`` and an LMTP listener delivering into it."""
    from jmapd_delivery.deliver import lmtp_server

    server = make_server({"submission": relay.config()})
    lmtp = lmtp_server(server.services, host="127.0.0.1", port=0)
    lmtp.start()
    server.lmtp_port = lmtp.port
    yield server
    lmtp.stop()


def itip(received: Any) -> tuple[Any, str, str]:
    """(message, METHOD parameter, unfolded iCalendar text) of a relayed iMIP message."""
    message = BytesParser(policy=policy.default).parsebytes(received.content)
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return message, part.get_param("method"), part.get_content().replace("\r\n ", "")


def remote(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:6]}@example.net"


def meeting(cal: str, *attendees: str, **extra: Any) -> dict[str, Any]:
    parts = {f"a{i}": {"@type": "Participant", "calendarAddress": f"mailto:{a}", "roles": {"attendee": True},
                       "expectReply": True, "participationStatus": "needs-action"}
             for i, a in enumerate(attendees)}
    return {"calendarIds": {cal: True}, "title": "Planning", "start": "2031-05-06T10:00:00",
            "timeZone": "Europe/Paris", "duration": "PT1H", "participants": parts, **extra}


def itip_queue(account_id: str) -> list[Any]:
    from jmapd_submission.models import QueueItem

    from jmapd.db import ensure_connected

    ensure_connected()
    return list(QueueItem.select().where((QueueItem.account_id == account_id) & (QueueItem.kind == "itip")))


def lmtp(port: int, sender: str, rcpt: str, raw: bytes) -> None:
    with smtplib.LMTP("127.0.0.1", port) as conn:
        assert conn.sendmail(sender, [rcpt], raw) == {}


def test_participant_identity_default_and_rules(sched):
    client = sched.client()
    me = f"{client.user}@localhost"
    (default,) = ok(client, "ParticipantIdentity/get", {"ids": None})["list"]
    assert default["calendarAddress"] == f"mailto:{me}" and default["isDefault"] is True
    err = ok(client, "ParticipantIdentity/set", {"create": {
        "bad": {"calendarAddress": "https://example.com/me"},
        "other": {"calendarAddress": "mailto:ceo@example.com"}}})["notCreated"]
    assert err["bad"]["type"] == "invalidProperties" and err["other"]["type"] == "forbidden"
    made = ok(client, "ParticipantIdentity/set", {
        "create": {"n": {"name": "Me Again", "calendarAddress": f"mailto:{me.upper()}"}},
        "onSuccessSetIsDefault": "#n"})
    new_id = made["created"]["n"]["id"]
    assert made["created"]["n"]["isDefault"] is True and made["updated"][default["id"]] == {"isDefault": False}
    got = {i["id"]: i["isDefault"] for i in ok(client, "ParticipantIdentity/get", {"ids": None})["list"]}
    assert got == {default["id"]: False, new_id: True}
    changes = ok(client, "ParticipantIdentity/changes", {"sinceState": "0"})
    assert new_id in changes["created"]


def test_organizer_sends_request_update_and_cancel(sched, relay):
    client = sched.client()
    me = f"{client.user}@localhost"
    ann, bob = remote("ann"), remote("bob")
    cal = calendars(client)[0]["id"]
    made = ok(client, "CalendarEvent/set", {"create": {"m": meeting(cal, ann, bob)}, "sendSchedulingMessages": True})
    created = made["created"]["m"]
    # draft §5.5: the server sets the organizer of an event with participants, and is its origin
    assert created["organizerCalendarAddress"] == f"mailto:{me}" and created["isOrigin"] is True
    for address in (ann, bob):
        [received] = relay.wait(lambda r, a=address: a in r.rcpt_tos)
        message, method, ics = itip(received)
        assert method == "REQUEST" and received.mail_from == me and message["Subject"] == "Invitation: Planning"
        assert "METHOD:REQUEST" in ics and f"ORGANIZER:mailto:{me}" in ics
        assert f"mailto:{ann}" in ics and f"mailto:{bob}" in ics and "SUMMARY:Planning" in ics
    event_id = created["id"]

    # a real change: an updated REQUEST with a higher SEQUENCE; bob removed gets a CANCEL
    updated = ok(client, "CalendarEvent/set", {"update": {event_id: {"title": "Planning (moved)",
                                                                     "participants/a1": None}},
                                               "sendSchedulingMessages": True})["updated"][event_id]
    assert updated["sequence"] == 1
    [_, again] = relay.wait(lambda r: ann in r.rcpt_tos, count=2)
    message, method, ics = itip(again)
    assert method == "REQUEST" and message["Subject"] == "Updated invitation: Planning (moved)" and "SEQUENCE:1" in ics
    assert f"mailto:{bob}" not in ics
    [_, cancel] = relay.wait(lambda r: bob in r.rcpt_tos, count=2)
    assert itip(cancel)[1] == "CANCEL" and "STATUS:CANCELLED" in itip(cancel)[2]

    # without sendSchedulingMessages (or for a per-user change) nothing is sent
    ok(client, "CalendarEvent/set", {"update": {event_id: {"title": "Quietly renamed"}}})
    ok(client, "CalendarEvent/set", {"update": {event_id: {"color": "red"}}, "sendSchedulingMessages": True})
    # destroying sends CANCEL to the remaining attendee: the positive control for the two above
    ok(client, "CalendarEvent/set", {"destroy": [event_id], "sendSchedulingMessages": True})
    [*_, last] = relay.wait(lambda r: ann in r.rcpt_tos, count=3)
    assert itip(last)[1] == "CANCEL" and "SUMMARY:Quietly renamed" in itip(last)[2]
    assert len(relay.messages(lambda r: ann in r.rcpt_tos)) == 3
    # the relay has the last message a moment before the queue worker marks it done
    states = wait_for(lambda: sorted(q.state for q in itip_queue(client.account_id)), lambda s: s == ["done"] * 5)
    assert states == ["done"] * 5


def test_excluding_an_occurrence_cancels_just_it(sched, relay):
    client = sched.client()
    ann = remote("ann")
    cal = calendars(client)[0]["id"]
    series = meeting(cal, ann, recurrenceRule={"@type": "RecurrenceRule", "frequency": "weekly", "count": 4})
    event_id = ok(client, "CalendarEvent/set", {"create": {"s": series}, "sendSchedulingMessages": True})["created"]["s"]["id"]
    relay.wait(lambda r: ann in r.rcpt_tos)
    ok(client, "CalendarEvent/set", {"destroy": [f"{event_id}_20310513T100000"], "sendSchedulingMessages": True})
    [_, cancel] = relay.wait(lambda r: ann in r.rcpt_tos, count=2)
    _, method, ics = itip(cancel)
    assert method == "CANCEL" and "RECURRENCE-ID;TZID=Europe/Paris:20310513T100000" in ics
    assert "RRULE" not in ics


def test_unreachable_recipient_refuses_the_change(sched, jmap_server):
    client = sched.client()
    cal = calendars(client)[0]["id"]
    event = meeting(cal, remote("ann"))
    event["participants"]["a0"]["calendarAddress"] = "https://example.net/ann"
    err = ok(client, "CalendarEvent/set", {"create": {"x": event}, "sendSchedulingMessages": True})["notCreated"]["x"]
    assert err["type"] == "noSupportedScheduleMethods"
    assert ok(client, "CalendarEvent/query", {})["ids"] == []
    # the same event without asking for messages is stored (nothing to send)
    assert ok(client, "CalendarEvent/set", {"create": {"x": event}})["created"]
    # a server without a relay cannot reach a remote attendee
    norelay = jmap_server.client()
    cal = calendars(norelay)[0]["id"]
    err = ok(norelay, "CalendarEvent/set", {"create": {"x": meeting(cal, remote("bob"))},
                                            "sendSchedulingMessages": True})["notCreated"]["x"]
    assert err["type"] == "noSupportedScheduleMethods"
    name, bad = norelay.call("CalendarEvent/set", {"accountId": norelay.account_id, "sendSchedulingMessages": "yes"},
                             ["urn:ietf:params:jmap:core", CAL])
    assert (name, bad["type"]) == ("error", "invalidArguments")


def test_incoming_reply_over_lmtp_updates_the_attendee(sched, relay):
    from jmapd_calendars.domain.ical import parse_itip

    client = sched.client()
    me = f"{client.user}@localhost"
    ann, eve = remote("ann"), remote("eve")
    cal = calendars(client)[0]["id"]
    event_id = ok(client, "CalendarEvent/set", {"create": {"m": meeting(cal, ann)},
                                                "sendSchedulingMessages": True})["created"]["m"]["id"]
    [request] = relay.wait(lambda r: ann in r.rcpt_tos)
    _, invite = parse_itip(itip(request)[2])
    answer = invite[0]
    (pid,) = [p for p, v in answer["participants"].items() if v.get("calendarAddress") == f"mailto:{ann}"]
    answer["participants"][pid]["participationStatus"] = "accepted"

    def reply_mail(sender: str) -> bytes:
        from jmapd_calendars.domain.ical import itip_message

        body = itip_message("REPLY", answer, attendee=f"mailto:{ann}").decode()
        return (f"From: <{sender}>\r\nTo: <{me}>\r\nSubject: Accepted: Planning\r\n"
                f"Message-ID: <{uuid.uuid4().hex}@example.net>\r\nMIME-Version: 1.0\r\n"
                'Content-Type: text/calendar; method=REPLY; charset="utf-8"\r\n\r\n' + body).encode()

    def status() -> str:
        got = ok(client, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
        return str(got["participants"]["a0"].get("participationStatus"))

    # someone else claiming to be ann is not believed (draft §9.2)...
    lmtp(sched.lmtp_port, eve, me, reply_mail(eve))
    assert status() == "needs-action"
    # ...ann herself is
    lmtp(sched.lmtp_port, ann, me, reply_mail(ann))
    assert wait_for(status, lambda s: s == "accepted", timeout=10)
    got = ok(client, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert got["participants"]["a0"]["scheduleSequence"] == 0 and got["sequence"] in (None, 0)
    # both messages were delivered as mail too
    assert len(client.ok("Email/query", {})["ids"]) == 2


def test_attendee_rsvp_sends_reply_to_the_organizer(sched, relay):
    client = sched.client()
    me = f"{client.user}@localhost"
    boss = remote("boss")
    cal = calendars(client)[0]["id"]
    invite = meeting(cal, me, organizerCalendarAddress=f"mailto:{boss}")
    invite["participants"]["o"] = {"@type": "Participant", "calendarAddress": f"mailto:{boss}",
                                   "roles": {"owner": True}}
    made = ok(client, "CalendarEvent/set", {"create": {"i": invite}, "sendSchedulingMessages": True})["created"]["i"]
    assert made["isOrigin"] is False
    event_id = made["id"]
    ok(client, "CalendarEvent/set", {"update": {event_id: {"participants/a0/participationStatus": "accepted"}},
                                     "sendSchedulingMessages": True})
    [received] = relay.wait(lambda r: boss in r.rcpt_tos)
    message, method, ics = itip(received)
    assert method == "REPLY" and message["Subject"] == "Accepted: Planning" and received.mail_from == me
    assert "PARTSTAT=ACCEPTED" in ics and "METHOD:REPLY" in ics
    # the organizer is not told of its own invitation being created (only the answer was sent)
    assert len(relay.messages(lambda r: boss in r.rcpt_tos)) == 1


def test_meeting_between_two_local_users_and_one_remote(sched, relay):
    alice, bob = sched.client(), sched.client()
    a, b = f"{alice.user}@localhost", f"{bob.user}@localhost"
    carol = remote("carol")
    cal = calendars(alice)[0]["id"]
    event_id = ok(alice, "CalendarEvent/set", {"create": {"m": meeting(cal, b, carol)},
                                               "sendSchedulingMessages": True})["created"]["m"]["id"]
    [to_carol] = relay.wait(lambda r: carol in r.rcpt_tos)
    assert itip(to_carol)[1] == "REQUEST"
    # #9.8: alice is alice@localhost, the invitation's Message-ID names no localhost
    assert not itip(to_carol)[0]["Message-ID"].rstrip(">").endswith("@localhost"), itip(to_carol)[0]["Message-ID"]
    # bob is local: delivered directly, into his inbox and his calendar
    assert relay.messages(lambda r: b in r.rcpt_tos) == []
    found = wait_for(lambda: ok(bob, "CalendarEvent/query", {})["ids"], lambda ids: len(ids) == 1, timeout=10)
    assert found and len(bob.ok("Email/query", {})["ids"]) == 1
    copy = ok(bob, "CalendarEvent/get", {"ids": found})["list"][0]
    assert copy["isOrigin"] is False and copy["title"] == "Planning"
    assert copy["organizerCalendarAddress"] == f"mailto:{a}"
    (mine,) = [p for p, v in copy["participants"].items() if v["calendarAddress"] == f"mailto:{b}"]

    # bob accepts: the REPLY reaches alice locally and updates her event
    ok(bob, "CalendarEvent/set", {"update": {copy["id"]: {f"participants/{mine}/participationStatus": "accepted"}},
                                  "sendSchedulingMessages": True})

    def bob_status() -> Any:
        got = ok(alice, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
        return got["participants"]["a0"].get("participationStatus")

    assert wait_for(bob_status, lambda s: s == "accepted", timeout=10)
    # alice renames it: bob's copy follows, carol gets the update by mail
    ok(alice, "CalendarEvent/set", {"update": {event_id: {"title": "Planning v2"}}, "sendSchedulingMessages": True})
    relay.wait(lambda r: carol in r.rcpt_tos, count=2)
    assert wait_for(lambda: ok(bob, "CalendarEvent/get", {"ids": [copy["id"]]})["list"][0]["title"],
                    lambda t: t == "Planning v2", timeout=10)
    # and cancels it: bob's copy is marked cancelled
    ok(alice, "CalendarEvent/set", {"destroy": [event_id], "sendSchedulingMessages": True})
    assert wait_for(lambda: ok(bob, "CalendarEvent/get", {"ids": [copy["id"]]})["list"][0]["status"],
                    lambda s: s == "cancelled", timeout=10)
    assert relay.messages(lambda r: a in r.rcpt_tos or b in r.rcpt_tos) == []


def test_applied_itip_messages_are_notified_as_changes_by_their_sender(sched, relay):
    """Draft §8: auto-processed scheduling messages make CalendarEventNotifications."""
    alice, bob = sched.client(), sched.client()
    a, b = f"{alice.user}@localhost", f"{bob.user}@localhost"
    cal = calendars(alice)[0]["id"]
    event_id = ok(alice, "CalendarEvent/set", {"create": {"m": meeting(cal, b)},
                                               "sendSchedulingMessages": True})["created"]["m"]["id"]
    notes = wait_for(lambda: ok(bob, "CalendarEventNotification/query", {})["ids"], lambda ids: len(ids) == 1,
                     timeout=10)
    (invite,) = ok(bob, "CalendarEventNotification/get", {"ids": notes})["list"]
    assert invite["type"] == "created" and invite["event"]["title"] == "Planning"
    assert invite["changedBy"]["principalId"] is None and invite["changedBy"]["calendarAddress"] == f"mailto:{a}"
    assert ok(alice, "CalendarEventNotification/query", {})["ids"] == []  # her own change
    copy_id = invite["calendarEventId"]
    copy = ok(bob, "CalendarEvent/get", {"ids": [copy_id]})["list"][0]
    (mine,) = [p for p, v in copy["participants"].items() if v["calendarAddress"] == f"mailto:{b}"]
    ok(bob, "CalendarEvent/set", {"update": {copy_id: {f"participants/{mine}/participationStatus": "accepted"}},
                                  "sendSchedulingMessages": True})
    found = wait_for(lambda: ok(alice, "CalendarEventNotification/query", {})["ids"], lambda ids: len(ids) == 1,
                     timeout=10)
    (reply,) = ok(alice, "CalendarEventNotification/get", {"ids": found})["list"]
    assert reply["type"] == "updated" and reply["calendarEventId"] == event_id
    assert reply["changedBy"]["calendarAddress"] == f"mailto:{b}" and reply["changedBy"]["principalId"] is None
    assert reply["eventPatch"]["participants/a0/participationStatus"] == "accepted"
    # bob's own answer made no notification for him
    assert len(ok(bob, "CalendarEventNotification/query", {})["ids"]) == 1


def test_calendar_parts_are_found_nested_and_in_any_case_and_plain_mail_has_none():
    """The byte scan that spares ordinary deliveries the MIME parse misses no text/calendar part."""
    from jmapd_calendars.inbound import itip_parts

    nested = (b"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n"
              b"--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"
              b"--i\r\nContent-Type: text/plain\r\n\r\nInvite\r\n"
              b"--i\r\nContent-Type: TEXT/Calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
              b"--i--\r\n--o--\r\n")
    assert [p.strip() for p in itip_parts(nested)] == ["BEGIN:VCALENDAR\r\nEND:VCALENDAR"]
    assert itip_parts(b"From: a@example.com\r\nSubject: lunch\r\n\r\nsee you\r\n") == []
