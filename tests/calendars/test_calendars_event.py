"""CalendarEvent/get, /changes, /set (first slice) and what it means for Calendar/set destroy."""

from __future__ import annotations

from typing import Any

from jmapd_calendars.testing import USING, calendars, call, ok, principal_id


def event(calendar_id: str, **extra: Any) -> dict[str, Any]:
    return {"calendarIds": {calendar_id: True}, "title": "Standup", "start": "2025-03-03T09:00:00",
            "timeZone": "Europe/Berlin", "duration": "PT15M", **extra}


def test_create_get_and_server_set_properties(client):
    cal = calendars(client)[0]["id"]
    created = ok(client, "CalendarEvent/set", {"create": {"e": event(cal)}})["created"]["e"]
    assert created["uid"] and created["created"] and created["isOrigin"] is True
    got = ok(client, "CalendarEvent/get", {"ids": [created["id"]]})["list"][0]
    assert got["title"] == "Standup" and got["uid"] == created["uid"] and got["calendarIds"] == {cal: True}
    changes = ok(client, "CalendarEvent/changes", {"sinceState": "0"})
    assert created["id"] in changes["created"]


def test_invalid_jscalendar_names_every_bad_path(client):
    cal = calendars(client)[0]["id"]
    bad = event(cal, timeZone="Mars/Olympus", duration="15 minutes", start="2025-02-30T09:00:00")
    err = ok(client, "CalendarEvent/set", {"create": {"e": bad}})["notCreated"]["e"]
    assert err["type"] == "invalidProperties"
    assert {"timeZone", "duration", "start"} <= set(err["properties"]), err
    err = ok(client, "CalendarEvent/set", {"create": {"e": event("cNoSuchCalendar")}})["notCreated"]["e"]
    assert err["type"] == "invalidProperties" and err["properties"] == ["calendarIds/cNoSuchCalendar"]
    many = {f"p{i}": {"@type": "Participant", "roles": {"attendee": True}} for i in range(1001)}
    err = ok(client, "CalendarEvent/set", {"create": {"e": event(cal, participants=many)}})["notCreated"]["e"]
    assert err["type"] == "tooLarge"


def test_rfc8984_names_are_stored_as_jscalendar_2(client):
    cal = calendars(client)[0]["id"]
    rule = {"@type": "RecurrenceRule", "frequency": "weekly", "count": 3}
    created = ok(client, "CalendarEvent/set", {"create": {"e": event(cal, recurrenceRules=[rule])}})["created"]["e"]
    got = ok(client, "CalendarEvent/get", {"ids": [created["id"]]})["list"][0]
    assert got["recurrenceRule"]["count"] == 3 and "recurrenceRules" not in got


def test_calendar_has_event_unless_on_destroy_remove_events(client):
    calendars(client)
    made = ok(client, "Calendar/set", {"create": {"a": {"name": "A"}, "b": {"name": "B"}}})["created"]
    a, b = made["a"]["id"], made["b"]["id"]
    events = ok(client, "CalendarEvent/set", {"create": {
        "only": event(a), "both": {**event(a), "calendarIds": {a: True, b: True}}}})["created"]
    refused = ok(client, "Calendar/set", {"destroy": [a]})["notDestroyed"][a]
    assert refused["type"] == "calendarHasEvent"
    assert ok(client, "Calendar/set", {"destroy": [a], "onDestroyRemoveEvents": True})["destroyed"] == [a]
    got = ok(client, "CalendarEvent/get", {"ids": [events["only"]["id"], events["both"]["id"]]})
    assert got["notFound"] == [events["only"]["id"]]
    assert got["list"][0]["calendarIds"] == {b: True}


def test_sharee_reads_and_writes_by_calendar_rights(jmap_server):
    owner, sharee = jmap_server.client(), jmap_server.client()
    made = ok(owner, "Calendar/set", {"create": {"s": {"name": "Shared"}, "p": {"name": "Private"}}})["created"]
    shared, private = made["s"]["id"], made["p"]["id"]
    evs = ok(owner, "CalendarEvent/set", {"create": {"s": event(shared), "p": event(private)}})["created"]
    ok(owner, "Calendar/set", {"update": {shared: {f"shareWith/{principal_id(sharee)}": {"mayReadItems": True}}}})
    sharee._session = None
    args = {"accountId": owner.account_id}
    got = sharee.ok("CalendarEvent/get", {**args, "ids": [evs["s"]["id"], evs["p"]["id"]]}, USING)
    assert [e["id"] for e in got["list"]] == [evs["s"]["id"]] and got["notFound"] == [evs["p"]["id"]]
    refused = sharee.ok("CalendarEvent/set", {**args, "update": {evs["s"]["id"]: {"title": "mine"}}}, USING)
    assert refused["notUpdated"][evs["s"]["id"]]["type"] == "forbidden"
    ok(owner, "Calendar/set", {"update": {shared: {f"shareWith/{principal_id(sharee)}": {
        "mayReadItems": True, "mayWriteAll": True}}}})
    done = sharee.ok("CalendarEvent/set", {**args, "update": {evs["s"]["id"]: {"title": "mine"}}}, USING)
    assert evs["s"]["id"] in done["updated"]
    name, _ = call(owner, "CalendarEvent/get", {"ids": [evs["s"]["id"]]})
    assert ok(owner, "CalendarEvent/get", {"ids": [evs["s"]["id"]]})["list"][0]["title"] == "mine"


def test_sharee_changes_name_only_events_they_can_read(jmap_server):
    """RFC 8620 §5.2 with draft §4: a sharee's CalendarEvent/changes never
    names an event of a calendar not shared with them; an event that leaves
    their view (moved out, destroyed, its calendar unshared) is destroyed."""
    owner, sharee = jmap_server.client(), jmap_server.client()
    made = ok(owner, "Calendar/set", {"create": {"s": {"name": "Shared"}, "p": {"name": "Private"},
                                                 "o": {"name": "Also shared"}}})["created"]
    shared, private = made["s"]["id"], made["p"]["id"]
    for cal in (shared, made["o"]["id"]):  # the second keeps the account theirs once the first is unshared
        ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(sharee)}": {"mayReadItems": True}}}})
    sharee._session = None
    args = {"accountId": owner.account_id}

    def changes_since(state: str) -> tuple[dict[str, Any], str]:
        got = sharee.ok("CalendarEvent/changes", {**args, "sinceState": state}, USING)
        return {k: sorted(got[k]) for k in ("created", "updated", "destroyed")}, got["newState"]

    start = sharee.ok("CalendarEvent/get", {**args, "ids": []}, USING)["state"]
    evs = ok(owner, "CalendarEvent/set", {"create": {
        "s": event(shared), "p": event(private), "m": event(shared), "d": event(shared)}})["created"]
    s, p, m, d = (evs[k]["id"] for k in "spmd")
    seen, state = changes_since(start)
    assert seen == {"created": sorted([s, m, d]), "updated": [], "destroyed": []}
    ok(owner, "CalendarEvent/set", {"update": {p: {"title": "secret"}, m: {"calendarIds": {private: True}},
                                               s: {"title": "visible"}}, "destroy": [d]})
    ok(owner, "CalendarEvent/set", {"destroy": [p]})
    seen, state = changes_since(state)
    assert seen == {"created": [], "updated": [s], "destroyed": sorted([m, d])}
    ok(owner, "Calendar/set", {"update": {shared: {f"shareWith/{principal_id(sharee)}": None}}})
    ok(owner, "CalendarEvent/set", {"update": {m: {"title": "still secret"}}})
    seen, _ = changes_since(state)
    assert seen == {"created": [], "updated": [], "destroyed": [s]}
    # the owner sees everything (made and destroyed in the window: not named)
    mine = ok(owner, "CalendarEvent/changes", {"sinceState": start})
    assert sorted(mine["created"]) == sorted([s, m]) and not mine["updated"] and not mine["destroyed"]


def test_query_filters_and_sorts(client):
    calendars(client)
    made = ok(client, "Calendar/set", {"create": {"q": {"name": "Query"}, "o": {"name": "Other"}}})["created"]
    q, o = made["q"]["id"], made["o"]["id"]
    people = {"a": {"@type": "Participant", "name": "Ada Owner", "roles": {"owner": True}},
              "b": {"@type": "Participant", "name": "Bob Guest", "email": "bob@example.com",
                    "roles": {"attendee": True}}}
    evs = ok(client, "CalendarEvent/set", {"create": {
        "late": event(q, title="Budget review", start="2025-05-01T10:00:00", uid="late-uid",
                      locations={"l": {"@type": "Location", "name": "Room Seven"}}),
        "early": event(q, title="Kickoff", start="2025-01-01T10:00:00", participants=people,
                       description="Planning the year"),
        "other": event(o, title="Kickoff elsewhere", start="2025-03-01T10:00:00"),
    }})["created"]
    ids = {k: v["id"] for k, v in evs.items()}

    def query(filter: dict[str, Any], sort: list[dict[str, Any]] | None = None) -> list[str]:
        return ok(client, "CalendarEvent/query", {"filter": filter, "sort": sort or [{"property": "start"}]})["ids"]

    assert query({"inCalendar": q}) == [ids["early"], ids["late"]]
    assert query({"inCalendar": q}, [{"property": "start", "isAscending": False}]) == [ids["late"], ids["early"]]
    assert query({"uid": "late-uid"}) == [ids["late"]]
    assert query({"title": "kickoff"}) == [ids["early"], ids["other"]]
    assert query({"location": "seven"}) == [ids["late"]]
    assert query({"description": "PLANNING year"}) == [ids["early"]]
    assert query({"owner": "ada"}) == [ids["early"]] and query({"attendee": "ada"}) == []
    assert query({"attendee": "bob@example"}) == [ids["early"]]
    assert query({"text": "room"}) == [ids["late"]] and query({"text": "guest"}) == [ids["early"]]
    outside = query({"operator": "NOT", "conditions": [{"inCalendar": q}]})
    assert ids["other"] in outside and not {ids["early"], ids["late"]} & set(outside)
    assert query({"inCalendar": q, "after": "2025-04-01T00:00:00"}) == [ids["late"]]
    assert query({"inCalendar": q, "before": "2025-02-01T00:00:00"}) == [ids["early"]]
    # early is 09:00-09:15 UTC (10:00 Berlin): the end must be after "after"
    assert query({"inCalendar": q, "after": "2025-01-01T09:14:00", "before": "2025-01-02T00:00:00"}) == [ids["early"]]
    assert query({"inCalendar": q, "after": "2025-01-01T09:15:00", "before": "2025-01-02T00:00:00"}) == []
    berlin = ok(client, "CalendarEvent/query", {"filter": {"inCalendar": q, "after": "2025-01-01T10:14:00",
                                                           "before": "2025-01-02T00:00:00"},
                                                "timeZone": "Europe/Berlin"})["ids"]
    assert berlin == [ids["early"]]
    for bad in ({"filter": {"after": "2025-13-01T00:00:00"}}, {"timeZone": "Mars/Olympus"}):
        name, err = call(client, "CalendarEvent/query", bad)
        assert (name, err["type"]) == ("error", "invalidArguments"), bad
    name, err = call(client, "CalendarEvent/query", {"sort": [{"property": "title"}]})
    assert (name, err["type"]) == ("error", "unsupportedSort")


def test_query_window_looks_at_every_occurrence(client):
    cal = calendars(client)[0]["id"]
    weekly = {"@type": "RecurrenceRule", "frequency": "weekly", "count": 3}
    rid = ok(client, "CalendarEvent/set", {"create": {"r": event(cal, start="2025-06-02T10:00:00",
                                                                     recurrenceRule=weekly)}})["created"]["r"]["id"]

    def window(after: str, before: str) -> list[str]:
        return ok(client, "CalendarEvent/query", {"filter": {"after": after, "before": before}})["ids"]

    # without expandRecurrences "they may each match any instance" (draft §5.9):
    # the 16th ends after the 10th and the 2nd starts before the 11th
    assert window("2025-06-10T00:00:00", "2025-06-11T00:00:00") == [rid]
    assert window("2025-05-01T00:00:00", "2025-06-01T00:00:00") == []  # before the first
    assert window("2025-06-15T00:00:00", "2025-06-17T00:00:00") == [rid]  # the third occurrence
    assert window("2025-06-17T00:00:00", "2026-01-01T00:00:00") == []  # after the last
    forever = {"@type": "RecurrenceRule", "frequency": "daily"}
    inf = ok(client, "CalendarEvent/set", {"create": {"f": event(cal, start="2025-01-01T10:00:00",
                                                                     recurrenceRule=forever)}})["created"]["f"]["id"]
    assert window("2040-03-01T00:00:00", "2040-03-02T00:00:00") == [inf]


def test_dates_outside_min_and_max_date_time(client):
    cal = calendars(client)[0]["id"]
    caps = client.session["accounts"][client.account_id]["accountCapabilities"]["urn:ietf:params:jmap:calendars"]
    assert caps["minDateTime"] == "1900-01-01T00:00:00Z" and caps["maxDateTime"] == "2200-12-31T23:59:59Z"
    for start, bad in (("1850-01-01T00:00:00", "start"), ("2300-01-01T00:00:00", "start")):
        err = ok(client, "CalendarEvent/set", {"create": {"e": event(cal, start=start)}})["notCreated"]["e"]
        assert (err["type"], err["properties"]) == ("invalidProperties", [bad]), err
    rule = {"@type": "RecurrenceRule", "frequency": "yearly", "count": 300}
    err = ok(client, "CalendarEvent/set", {"create": {"e": event(cal, recurrenceRule=rule)}})["notCreated"]["e"]
    assert err["properties"] == ["recurrenceRule"]
    endless = {"@type": "RecurrenceRule", "frequency": "yearly"}
    assert ok(client, "CalendarEvent/set", {"create": {"e": event(cal, recurrenceRule=endless)}})["created"]


def test_dates_outside_the_range_are_refused_on_update_too(client):
    """minDateTime/maxDateTime hold for every date stored in the event,
    however it gets there: an update of the event, a patch of one
    override (even of an infinite series) or an update of an instance id."""
    cal = calendars(client)[0]["id"]
    daily = {"@type": "RecurrenceRule", "frequency": "daily"}
    eid = ok(client, "CalendarEvent/set", {"create": {"e": event(cal, recurrenceRule=daily)}})["created"]["e"]["id"]
    rid = "2025-03-04T09:00:00"
    for update, paths in (
        ({"start": "2300-01-01T09:00:00"}, ["start"]),
        ({"start": "1850-01-01T09:00:00"}, ["start"]),
        ({"utcStart": "2300-01-01T00:00:00Z"}, ["start"]),
        ({"recurrenceRule": {"@type": "RecurrenceRule", "frequency": "yearly", "count": 300}}, ["recurrenceRule"]),
        ({"recurrenceRule/until": "2300-01-01T00:00:00"}, ["recurrenceRule/until"]),
        ({"recurrenceRule": None, "duration": "P100000D"}, ["duration"]),
        ({"recurrenceOverrides": {rid: {"start": "2300-01-01T09:00:00"}}}, [f"recurrenceOverrides/{rid}/start"]),
        ({"recurrenceOverrides": {rid: {"start": "1800-01-01T09:00:00"}}}, [f"recurrenceOverrides/{rid}/start"]),
        ({"recurrenceOverrides": {rid: {"duration": "P100000D"}}}, [f"recurrenceOverrides/{rid}/duration"]),
        ({"recurrenceOverrides": {"2300-03-04T09:00:00": {}}}, ["recurrenceOverrides/2300-03-04T09:00:00"]),
    ):
        err = ok(client, "CalendarEvent/set", {"update": {eid: update}})["notUpdated"][eid]
        assert (err["type"], err["properties"]) == ("invalidProperties", paths), (update, err)
    for instance, update, paths in (
        (f"{eid}_20250305T090000", {"start": "2300-01-01T09:00:00"}, ["start"]),
        (f"{eid}_20250306T090000", {"duration": "P100000D"}, ["duration"]),
        (f"{eid}_22500306T090000", {"title": "the rule still runs; the override may not be stored"}, ["start"]),
    ):
        err = ok(client, "CalendarEvent/set", {"update": {instance: update}})["notUpdated"][instance]
        assert (err["type"], err["properties"]) == ("invalidProperties", paths), (update, err)
    got = ok(client, "CalendarEvent/get", {"ids": [eid]})["list"][0]
    assert got["start"] == "2025-03-03T09:00:00" and got["recurrenceRule"] == daily and not got["recurrenceOverrides"]
    # inside the range every one of these goes through
    moved = ok(client, "CalendarEvent/set", {"update": {
        f"{eid}_20250305T090000": {"start": "2200-12-31T09:00:00"}}})
    assert moved["updated"] == {f"{eid}_20250305T090000": None}, moved
    assert ok(client, "CalendarEvent/set", {"update": {eid: {"start": "2199-01-01T09:00:00"}}})["updated"]


def test_event_and_calendar_faults_in_one_error(client):
    """#9.5: JSCalendar faults, a method and an unknown calendar in one SetError;
    a date out of range with an unknown calendar too."""
    cal = calendars(client)[0]["id"]
    bad = {**event(cal, timeZone="Mars/Olympus", duration="15 minutes", method="request"),
           "calendarIds": {cal: True, "cNoSuchCalendar": True}}
    err = ok(client, "CalendarEvent/set", {"create": {"e": bad}})["notCreated"]["e"]
    assert err["type"] == "invalidProperties"
    assert {"timeZone", "duration", "calendarIds/cNoSuchCalendar"} <= set(err["properties"]), err
    far = {**event(cal, start="2300-01-01T00:00:00", method="request"), "calendarIds": {"cNoSuchCalendar": True}}
    err = ok(client, "CalendarEvent/set", {"create": {"e": far}})["notCreated"]["e"]
    assert sorted(err["properties"]) == ["calendarIds/cNoSuchCalendar", "method", "start"], err
    assert ok(client, "CalendarEvent/query", {})["ids"] == []
