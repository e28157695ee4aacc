"""The JMAP Calendars draft's own examples (calendars.xml: "Patching" in
§5.5 and every example of §10) as tests, with the draft's data; ids and
addresses the server chooses are read back instead of being written in."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from typing import Any

from jmapd_calendars.testing import USING, calendars, call, ok

PARSE = "urn:ietf:params:jmap:calendars:parse"
TOM, ZOE = "dG9tQGZvb2Jhci5xlLmNvbQ", "em9lQGZvb2GFtcGxlLmNvbQ"


def foobar(cal: str) -> dict[str, Any]:
    """The "A CalendarEvent object" figure. NOTE: the draft nests
    recurrenceOverrides inside participants (a slip its text contradicts:
    the override is the event's); here it is the event's property."""
    return {
        "calendarIds": {cal: True},
        "title": "FooBar team meeting",
        "start": "2025-01-08T09:00:00",
        "recurrenceRule": {"@type": "RecurrenceRule", "frequency": "weekly"},
        "organizerCalendarAddress": "mailto:6489-4f14-a57f-c1@schedule.example.com",
        "participants": {
            TOM: {"@type": "Participant", "name": "Tom", "email": "tom@foobar.example.com",
                  "calendarAddress": "mailto:6489-4f14-a57f-c1@calendar.example.com",
                  "participationStatus": "accepted", "roles": {"attendee": True}},
            ZOE: {"@type": "Participant", "name": "Zoe", "email": "zoe@foobar.example.com",
                  "calendarAddress": "mailto:zoe@foobar.example.com", "participationStatus": "accepted",
                  "roles": {"owner": True, "attendee": True, "chair": True}},
        },
        "recurrenceOverrides": {
            "2025-03-05T09:00:00": {
                "start": "2025-03-05T10:00:00",
                f"participants/{TOM}/participationStatus": "declined",
            },
        },
    }


def test_patching_an_override_by_pointer(client):
    cal = calendars(client)[0]["id"]
    eid = ok(client, "CalendarEvent/set", {"create": {"123": foobar(cal)}})["created"]["123"]["id"]
    instance = f"{eid}_20250305T090000"

    def overrides() -> dict[str, Any]:
        got: dict[str, Any] = ok(client, "CalendarEvent/get", {"ids": [eid]})["list"][0]["recurrenceOverrides"]
        return got

    def statuses() -> dict[str, Any]:
        inst = ok(client, "CalendarEvent/get", {"ids": [instance]})["list"][0]
        assert inst["start"] == "2025-03-05T10:00:00" and inst["recurrenceId"] == "2025-03-05T09:00:00"
        return {k: p["participationStatus"] for k, p in inst["participants"].items()}

    assert statuses() == {TOM: "declined", ZOE: "accepted"}
    # Zoe declines too: "~1" escapes the "/" inside the override's own key
    done = ok(client, "CalendarEvent/set", {"update": {eid: {
        f"recurrenceOverrides/2025-03-05T09:00:00/participants~1{ZOE}~1participationStatus": "declined"}}})
    assert eid in done["updated"], done
    assert overrides() == {"2025-03-05T09:00:00": {
        "start": "2025-03-05T10:00:00",
        f"participants/{TOM}/participationStatus": "declined",
        f"participants/{ZOE}/participationStatus": "declined"}}
    assert statuses() == {TOM: "declined", ZOE: "declined"}
    # Tom removes his patch and inherits "accepted" from the series again
    ok(client, "CalendarEvent/set", {"update": {eid: {
        f"recurrenceOverrides/2025-03-05T09:00:00/participants~1{TOM}~1participationStatus": None}}})
    assert statuses() == {TOM: "accepted", ZOE: "declined"}
    # removing Tom from the instance takes the whole PatchObject, his key mapped to null
    ok(client, "CalendarEvent/set", {"update": {eid: {"recurrenceOverrides/2025-03-05T09:00:00": {
        "start": "2025-03-05T10:00:00",
        f"participants/{ZOE}/participationStatus": "declined",
        f"participants/{TOM}": None}}}})
    assert statuses() == {ZOE: "declined"}
    assert overrides()["2025-03-05T09:00:00"][f"participants/{TOM}"] is None
    # every other occurrence still has both, accepted
    other = ok(client, "CalendarEvent/get", {"ids": [f"{eid}_20250312T090000"]})["list"][0]
    assert {k: p["participationStatus"] for k, p in other["participants"].items()} == {
        TOM: "accepted", ZOE: "accepted"}


def test_fetching_initial_data(client):
    """A month in Australia/Melbourne: Calendar/get, ParticipantIdentity/get,
    and a query whose ids a back-referenced /get reads."""
    made = ok(client, "Calendar/set", {"create": {
        "private": {"name": "Private", "sortOrder": 12},
        "work": {"name": "Work", "sortOrder": 4, "defaultAlertsWithTime": {"631BE24C-A3B6-11EC-BF4C-B027680D752E": {
            "@type": "Alert", "action": "display",
            "trigger": {"@type": "OffsetTrigger", "offset": "-PT1H", "relativeTo": "start"}}}}},
        "onSuccessSetIsDefault": "#work"})["created"]
    work = made["work"]["id"]
    events = ok(client, "CalendarEvent/set", {"create": {
        "allhands": {"calendarIds": {work: True}, "title": "Q1 All hands", "start": "2023-01-09T10:00:00",
                     "duration": "PT1H", "timeZone": "Australia/Sydney"},
        # 2023-01-31T13:30Z is already February in Melbourne (UTC+11)
        "late": {"calendarIds": {work: True}, "title": "Too late", "start": "2023-01-31T13:30:00",
                 "duration": "PT1H", "timeZone": "Etc/UTC"}}})["created"]
    responses = client.request([
        ["Calendar/get", {"accountId": client.account_id}, "0"],
        ["ParticipantIdentity/get", {"accountId": client.account_id}, "1"],
        ["CalendarEvent/query", {"accountId": client.account_id, "timeZone": "Australia/Melbourne",
                                 "filter": {"after": "2023-01-01T00:00:00", "before": "2023-02-01T00:00:00"}}, "2"],
        ["CalendarEvent/get", {"accountId": client.account_id,
                               "#ids": {"resultOf": "2", "name": "CalendarEvent/query", "path": "/ids"}}, "3"],
    ], USING)["methodResponses"]
    assert [r[0] for r in responses] == ["Calendar/get", "ParticipantIdentity/get", "CalendarEvent/query",
                                         "CalendarEvent/get"]
    cals = {c["name"]: c for c in responses[0][1]["list"]}
    assert cals["Work"]["isDefault"] is True and cals["Private"]["isDefault"] is False
    assert (cals["Work"]["sortOrder"], cals["Private"]["sortOrder"]) == (4, 12)
    assert cals["Private"]["defaultAlertsWithTime"] is None
    assert list(cals["Work"]["defaultAlertsWithTime"]) == ["631BE24C-A3B6-11EC-BF4C-B027680D752E"]
    (identity,) = responses[1][1]["list"]
    assert identity["isDefault"] is True and identity["calendarAddress"].startswith("mailto:")
    assert responses[2][1]["ids"] == [events["allhands"]["id"]]
    (got,) = responses[3][1]["list"]
    assert (got["title"], got["start"], got["duration"], got["timeZone"], got["calendarIds"]) == (
        "Q1 All hands", "2023-01-09T10:00:00", "PT1H", "Australia/Sydney", {work: True})


def test_snoozing_an_alert(client):
    cal = calendars(client)[0]["id"]
    alert = {"@type": "Alert", "action": "display",
             "trigger": {"@type": "OffsetTrigger", "relativeTo": "start", "offset": "-PT1H"}}
    eid = ok(client, "CalendarEvent/set", {"create": {"e": {
        "calendarIds": {cal: True}, "title": "Team catchup", "start": "2023-02-10T17:00:00",
        "timeZone": "America/New_York", "useDefaultAlerts": False,
        "alerts": {"7519a951-1e6f-4a6c-b08b-20dd2e5a89cd": alert}}}})["created"]["e"]["id"]
    props = ["calendarIds", "title", "start", "timeZone", "useDefaultAlerts", "alerts"]
    (got,) = ok(client, "CalendarEvent/get", {"ids": [eid], "properties": props})["list"]
    assert got == {"id": eid, "calendarIds": {cal: True}, "title": "Team catchup", "start": "2023-02-10T17:00:00",
                   "timeZone": "America/New_York", "useDefaultAlerts": False,
                   "alerts": {"7519a951-1e6f-4a6c-b08b-20dd2e5a89cd": alert}}
    snooze = {"@type": "Alert", "action": "display", "trigger": {
        "@type": "AbsoluteTrigger", "when": "2023-02-10T23:30:00Z",
        "relatedTo": {"7519a951-1e6f-4a6c-b08b-20dd2e5a89cd": {"@type": "Relation", "relation": {"snooze": True}}}}}
    done = ok(client, "CalendarEvent/set", {"update": {eid: {
        "alerts/7519a951-1e6f-4a6c-b08b-20dd2e5a89cd/acknowledged": "2023-02-10T23:00:29Z",
        "alerts/86b0-318b8291045f": snooze}}})
    assert eid in done["updated"], done
    alerts = ok(client, "CalendarEvent/get", {"ids": [eid], "properties": ["alerts"]})["list"][0]["alerts"]
    assert alerts == {"7519a951-1e6f-4a6c-b08b-20dd2e5a89cd": {**alert, "acknowledged": "2023-02-10T23:00:29Z"},
                      "86b0-318b8291045f": snooze}


def test_changing_the_default_calendar(client):
    work = calendars(client)[0]["id"]
    private = ok(client, "Calendar/set", {"create": {"p": {"name": "Private"}}})["created"]["p"]["id"]
    response = ok(client, "Calendar/set", {"onSuccessSetIsDefault": private})
    assert response["updated"] == {private: {"isDefault": True}, work: {"isDefault": False}}
    assert {c["id"]: c["isDefault"] for c in calendars(client)} == {private: True, work: False}


IETF_AGENDA = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\n"
    "PRODID:-//IETF//datatracker.ietf.org ical agenda//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Australia/Brisbane\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
    "TZOFFSETFROM:+1000\r\nTZOFFSETTO:+1000\r\nTZNAME:AEST\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:ietf-119-16811-jmap\r\nSEQUENCE:2\r\nDTSTAMP:20240209T224926Z\r\n"
    "LAST-MODIFIED:20240209T224926Z\r\n"
    "DTSTART;TZID=Australia/Brisbane:20240319T130000\r\nDTEND;TZID=Australia/Brisbane:20240319T150000\r\n"
    "SUMMARY:jmap - JSON Mail Access Protocol\r\nLOCATION:P3\\, Brisbane Convention Centre\r\n"
    "STATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\n"
    "DESCRIPTION:Session II\\n\\nRemember to sign the blue sheets!\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_parsing_an_icalendar_file(client):
    using = [*USING, PARSE]
    blob = client.upload(IETF_AGENDA.encode(), "text/calendar")["blobId"]
    name, response = client.call("CalendarEvent/parse", {"accountId": client.account_id, "blobIds": [blob]}, using)
    assert name == "CalendarEvent/parse", response
    assert response["notFound"] is None and response["notParsable"] is None
    (event,) = response["parsed"][blob]
    expected = {
        "@type": "Event", "prodId": "-//IETF//datatracker.ietf.org ical agenda//EN",
        "uid": "ietf-119-16811-jmap", "sequence": 2, "updated": "2024-02-09T22:49:26Z",
        "start": "2024-03-19T13:00:00", "duration": "PT2H", "timeZone": "Australia/Brisbane",
        "title": "jmap - JSON Mail Access Protocol", "freeBusyStatus": "busy",
        "description": "Session II\n\nRemember to sign the blue sheets!", "status": "confirmed",
    }
    assert {k: event.get(k) for k in expected} == expected, event
    assert event.get("showWithoutTime") in (False, None) and event.get("method") in ("publish", None)
    assert event.get("descriptionContentType") in ("text/plain", None)
    (location,) = event["locations"].values()
    assert location == {"@type": "Location", "name": "P3, Brisbane Convention Centre"}
    name, response = client.call("CalendarEvent/parse", {"accountId": client.account_id,
                                                         "blobIds": ["Ge682d5d7aad50b3a4f7180a7ed9276476485ea52"]}, using)
    assert response["notFound"] == ["Ge682d5d7aad50b3a4f7180a7ed9276476485ea52"] and not response["parsed"]
    junk = client.upload(b"BEGIN:VCALENDAR\r\nthis is not iCalendar", "text/calendar")["blobId"]
    name, response = client.call("CalendarEvent/parse", {"accountId": client.account_id, "blobIds": [junk]}, using)
    assert response["notParsable"] == [junk] and not response["parsed"]


def test_creating_an_event_sends_the_invitation(relay, make_server):
    """"Creating an event" with sendSchedulingMessages: the server sets the
    organizer and is the origin, and Joe's invitation leaves through the relay."""
    server = make_server({"submission": relay.config()})
    client = server.client()
    me = ok(client, "ParticipantIdentity/get", {"ids": None})["list"][0]["calendarAddress"]
    work = calendars(client)[0]["id"]
    joe = "joe@example.com"
    create = {"k559": {
        "uid": "5d5776f6-ff8e-4bfd-ab3e-fe2fe5d4fa91", "calendarIds": {work: True},
        "title": "Party at Pete’s", "start": "2023-02-03T19:00:00", "duration": "PT3H0M0S",
        "timeZone": "Australia/Melbourne", "showWithoutTime": False,
        "participants": {
            "1": {"@type": "Participant", "name": "Jane Doe", "calendarAddress": me, "kind": "individual",
                  "roles": {"attendee": True, "owner": True}, "participationStatus": "accepted",
                  "expectReply": False},
            "2": {"@type": "Participant", "name": "Joe Bloggs", "calendarAddress": f"mailto:{joe}",
                  "kind": "individual", "roles": {"attendee": True}, "participationStatus": "needs-action",
                  "expectReply": True}},
        "mayInviteSelf": False, "mayInviteOthers": False, "useDefaultAlerts": False, "alerts": None}}
    name, response = call(client, "CalendarEvent/set", {"create": create, "sendSchedulingMessages": True})
    assert name == "CalendarEvent/set" and not response["notCreated"], response
    created = response["created"]["k559"]
    assert created["id"] and created["isOrigin"] is True and created["organizerCalendarAddress"] == me
    assert created["created"] and created["updated"]
    [received] = relay.wait(lambda r: joe in r.rcpt_tos)
    assert received.mail_from == me.removeprefix("mailto:")
    message = BytesParser(policy=policy.default).parsebytes(received.content)
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    text = part.get_content().replace("\r\n ", "")
    assert part.get_param("method") == "REQUEST" and "METHOD:REQUEST" in text
    assert "UID:5d5776f6-ff8e-4bfd-ab3e-fe2fe5d4fa91" in text and "ATTENDEE" in text and joe in text
    assert not relay.messages(lambda r: me.removeprefix("mailto:") in r.rcpt_tos)  # not to herself
