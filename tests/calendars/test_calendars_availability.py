"""Principal/getAvailability (draft §2.3) and the Principal calendars capability (§2.2)."""

from __future__ import annotations

from typing import Any

from jmapd_calendars.testing import CAL, calendars, ok, principal_id

AVAIL = "urn:ietf:params:jmap:principals:availability"
USING = ["urn:ietf:params:jmap:core", CAL, "urn:ietf:params:jmap:principals", AVAIL]
DAY = {"utcStart": "2031-06-02T00:00:00Z", "utcEnd": "2031-06-03T00:00:00Z"}


def availability(client: Any, pid: str, **args: Any) -> tuple[str, dict[str, Any]]:
    return client.call("Principal/getAvailability", {"accountId": client.account_id, "id": pid, **DAY, **args}, USING)


def periods(client: Any, pid: str, **args: Any) -> list[dict[str, Any]]:
    name, response = availability(client, pid, **args)
    assert name == "Principal/getAvailability", response
    return list(response["list"])


def spans(found: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(p["utcStart"][11:16], p["utcEnd"][11:16], p["busyStatus"]) for p in found]


def ev(cal: str, start: str, duration: str = "PT1H", **extra: Any) -> dict[str, Any]:
    return {"calendarIds": {cal: True}, "title": f"at {start}", "start": f"2031-06-02T{start}:00",
            "timeZone": "Etc/UTC", "duration": duration, **extra}


def make(client: Any, *events: dict[str, Any]) -> list[str]:
    created = ok(client, "CalendarEvent/set", {"create": {f"e{i}": e for i, e in enumerate(events)}})
    assert not created["notCreated"], created["notCreated"]
    return [created["created"][f"e{i}"]["id"] for i in range(len(events))]


def test_relevant_events_merge_into_busy_periods(client):
    cal = calendars(client)[0]["id"]
    me = f"mailto:{client.user}@localhost"
    make(client,
         ev(cal, "09:00"),                                     # confirmed
         ev(cal, "09:30", "PT2H", status="tentative"),         # overlaps: confirmed wins, then tentative
         ev(cal, "13:00", freeBusyStatus="free"),              # not busy
         ev(cal, "14:00", privacy="secret"),                   # never counted
         ev(cal, "15:00", status="cancelled"),                 # not counted
         ev(cal, "16:00", participants={"me": {"@type": "Participant", "calendarAddress": me,
                                               "participationStatus": "declined"}}),  # unavailable
         ev(cal, "17:00", duration="PT0S"))                    # takes no time
    pid = principal_id(client)
    assert spans(periods(client, pid)) == [("09:00", "10:00", "confirmed"), ("10:00", "11:30", "tentative"),
                                           ("16:00", "17:00", "unavailable")]
    # a period wider than the day is cut to it
    make(client, ev(cal, "23:00", "PT3H"))
    assert spans(periods(client, pid))[-1] == ("23:00", "00:00", "confirmed")


def test_recurrences_are_expanded_and_calendar_settings_count(client):
    cal = calendars(client)[0]["id"]
    me = f"mailto:{client.user}@localhost"
    make(client, {"calendarIds": {cal: True}, "title": "Daily", "start": "2031-05-01T08:00:00",
                  "timeZone": "Europe/Berlin", "duration": "PT30M",
                  "recurrenceRule": {"@type": "RecurrenceRule", "frequency": "daily"},
                  "recurrenceOverrides": {"2031-06-03T08:00:00": {"status": "cancelled"}}})
    pid = principal_id(client)
    week = {"utcStart": "2031-06-01T00:00:00Z", "utcEnd": "2031-06-05T00:00:00Z"}
    found = spans(periods(client, pid, **week))
    # 08:00 Berlin is 06:00 UTC in summer; the cancelled 3 June is free
    assert found == [("06:00", "06:30", "confirmed")] * 3
    assert [p["utcStart"][:10] for p in periods(client, pid, **week)] == ["2031-06-01", "2031-06-02", "2031-06-04"]

    made = ok(client, "Calendar/set", {"create": {"n": {"name": "Hidden", "includeInAvailability": "none"},
                                                  "a": {"name": "Invites", "includeInAvailability": "attending"},
                                                  "u": {"name": "Unsubscribed", "isSubscribed": False}}})["created"]
    hidden, invites, unsub = made["n"]["id"], made["a"]["id"], made["u"]["id"]

    def invite(status: str) -> dict[str, Any]:
        return {"me": {"@type": "Participant", "calendarAddress": me, "participationStatus": status},
                "boss": {"@type": "Participant", "calendarAddress": "mailto:boss@example.net", "roles": {"owner": True}}}

    make(client, ev(hidden, "10:00"), ev(unsub, "11:00"),
         {**ev(invites, "12:00"), "organizerCalendarAddress": "mailto:boss@example.net", "participants": invite("accepted")},
         {**ev(invites, "14:00"), "organizerCalendarAddress": "mailto:boss@example.net", "participants": invite("needs-action")},
         {**ev(invites, "16:00"), "organizerCalendarAddress": "mailto:boss@example.net", "participants": invite("tentative")})
    assert spans(periods(client, pid)) == [("06:00", "06:30", "confirmed"), ("12:00", "13:00", "confirmed"),
                                           ("16:00", "17:00", "tentative")]


def test_details_privacy_and_sharing(jmap_server):
    owner, viewer = jmap_server.client(), jmap_server.client()
    pid = principal_id(owner)
    cal = calendars(owner)[0]["id"]
    public, private = make(owner, ev(cal, "09:00", description="agenda"), ev(cal, "11:00", privacy="private"))
    unshared = ok(owner, "Calendar/set", {"create": {"x": {"name": "Mine only"}}})["created"]["x"]["id"]
    make(owner, ev(unshared, "13:00"))
    assert spans(periods(owner, pid))[-1] == ("13:00", "14:00", "confirmed")
    # the owner sees details of what is not private, filtered by eventProperties
    mine = periods(owner, pid, showDetails=True, eventProperties=["title", "id"])[:2]
    assert mine[0]["event"] == {"title": "at 09:00", "id": public} and mine[0]["accountId"] == owner.account_id
    assert mine[1]["event"] is None and mine[1]["accountId"] is None
    assert all(p["event"] is None for p in periods(owner, pid))  # showDetails defaults to false

    # nobody else may ask before the owner shares free/busy...
    name, err = availability(viewer, pid)
    assert (name, err["type"]) == ("error", "forbidden")
    cap = viewer.call("Principal/get", {"ids": [pid]}, USING)[1]["list"][0]["capabilities"][CAL]
    assert cap["mayGetAvailability"] is False and cap["accountId"] is None
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(viewer)}": {"mayReadFreeBusy": True}}}})
    viewer._session = None
    cap = viewer.call("Principal/get", {"ids": [pid]}, USING)[1]["list"][0]["capabilities"][CAL]
    assert cap["mayGetAvailability"] is True and cap["calendarAddress"] == f"mailto:{owner.user}@localhost"
    # ...then busy time only (of the shared calendar), even when details are asked for: no mayReadItems
    seen = periods(viewer, pid, showDetails=True)
    assert spans(seen) == [("09:00", "10:00", "confirmed"), ("11:00", "12:00", "confirmed")]
    assert all(p["event"] is None for p in seen)
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(viewer)}/mayReadItems": True}}})
    viewer._session = None
    seen = periods(viewer, pid, showDetails=True)
    assert seen[0]["event"]["description"] == "agenda" and seen[0]["event"]["id"] == public
    assert seen[1]["event"] is None and private  # a private event stays anonymous


def test_error_cases_of_the_draft(client):
    pid = principal_id(client)
    name, err = availability(client, "PNoSuchPrincipal")
    assert (name, err["type"]) == ("error", "notFound")
    name, err = availability(client, pid, utcStart="2031-01-01T00:00:00Z", utcEnd="2033-01-01T00:00:00Z")
    assert (name, err["type"]) == ("error", "tooLarge")
    for bad in ({"utcStart": "2031-06-02"}, {"utcEnd": "2031-06-01T00:00:00Z"}, {"showDetails": "yes"},
                {"eventProperties": "title"}, {"unknown": 1}):
        name, err = availability(client, pid, **bad)
        assert (name, err["type"]) == ("error", "invalidArguments"), bad
    # positive control: the same call with good arguments answers
    assert availability(client, pid)[0] == "Principal/getAvailability"
    caps = client.session["accounts"][client.account_id]["accountCapabilities"]
    assert caps[AVAIL] == {"maxAvailabilityDuration": "P400D"}


def test_index_rows_and_overrides_give_the_expanded_answer(client):
    """Zoned events that do not recur are answered from their index row,
    the rest expanded: the two agree across a DST change and at the edges
    of the window, and an override is judged on its own, not as its master."""
    cal = calendars(client)[0]["id"]
    pid = principal_id(client)
    night = {"utcStart": "2031-03-30T00:00:00Z", "utcEnd": "2031-03-30T04:00:00Z"}
    # 01:30 CET is 00:30 UTC; two hours later the clocks have gone forward (02:30 UTC = 04:30 CEST)
    zoned = {"calendarIds": {cal: True}, "title": "Night shift", "start": "2031-03-30T01:30:00",
             "timeZone": "Europe/Berlin", "duration": "PT2H"}
    [night_id] = make(client, zoned)
    assert spans(periods(client, pid, **night)) == [("00:30", "02:30", "confirmed")]
    # the same occurrence through expansion (a rule with one instance) gives the same period
    ok(client, "CalendarEvent/set", {"update": {night_id: {
        "recurrenceRule": {"@type": "RecurrenceRule", "frequency": "daily", "count": 1}}}})
    assert spans(periods(client, pid, **night)) == [("00:30", "02:30", "confirmed")]
    # an event that ends as the window starts, and one that starts as it ends, take none of it
    make(client, {**zoned, "start": "2031-03-29T23:00:00", "duration": "PT2H"},  # ends at 00:00Z
         {**zoned, "start": "2031-03-30T06:00:00", "duration": "PT1H"})  # starts at 04:00Z
    assert spans(periods(client, pid, **night)) == [("00:30", "02:30", "confirmed")]

    # a free master counts nowhere, but an override made busy counts; a busy master's
    # occurrence cancelled by its override does not (privacy cannot be patched: JSCalendar)
    week = {"utcStart": "2031-06-02T00:00:00Z", "utcEnd": "2031-06-05T00:00:00Z"}
    daily = {"calendarIds": {cal: True}, "title": "Daily", "start": "2031-06-02T08:00:00", "timeZone": "Etc/UTC",
             "duration": "PT30M", "recurrenceRule": {"@type": "RecurrenceRule", "frequency": "daily", "count": 3}}
    make(client, {**daily, "freeBusyStatus": "free",
                  "recurrenceOverrides": {"2031-06-03T08:00:00": {"freeBusyStatus": "busy", "status": "tentative"}}},
         {**daily, "start": "2031-06-02T10:00:00",
          "recurrenceOverrides": {"2031-06-04T10:00:00": {"status": "cancelled"}}})
    found = [(p["utcStart"][5:16], p["utcEnd"][11:16], p["busyStatus"]) for p in periods(client, pid, **week)]
    assert found == [("06-02T10:00", "10:30", "confirmed"), ("06-03T08:00", "08:30", "tentative"),
                     ("06-03T10:00", "10:30", "confirmed")]


def test_principal_query_by_calendar_address(jmap_server):
    """Draft §2.4: Principal/query's calendarAddress condition under the
    availability capability, matched after normalisation, on any of the
    Principal's identities (or the default one it has not made yet)."""
    alice, bob, carol = jmap_server.client(), jmap_server.client(), jmap_server.client()
    calendars(alice)  # alice's default identity exists; carol never used calendars

    def query(client: Any, address: str, using: list[str] = USING) -> Any:
        return client.call("Principal/query", {"accountId": client.account_id,
                                               "filter": {"calendarAddress": address}}, using)

    name, found = query(bob, f"MAILTO:{alice.user.upper()}@LOCALHOST")
    assert name == "Principal/query" and found["ids"] == [principal_id(alice)], found
    assert query(bob, f"mailto:{carol.user}@localhost")[1]["ids"] == [principal_id(carol)]
    assert query(bob, "mailto:nobody@example.com")[1]["ids"] == []
    assert query(bob, "not an address")[1]["ids"] == []
    # combined with the core's own conditions
    both = bob.call("Principal/query", {"accountId": bob.account_id, "filter": {"operator": "OR", "conditions": [
        {"calendarAddress": f"mailto:{alice.user}@localhost"}, {"name": carol.user}]}}, USING)[1]
    assert set(both["ids"]) >= {principal_id(alice)}
    # only for a client using the availability capability
    name, err = query(bob, f"mailto:{alice.user}@localhost", USING[:3])
    assert (name, err["type"]) == ("error", "unsupportedFilter")
