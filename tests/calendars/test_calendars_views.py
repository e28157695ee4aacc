"""CalendarEvent/get's extra arguments, utcStart/utcEnd (draft §5.1, §5.7),
/copy, and splitting a series "this and future" (draft §5.6.1)."""

from __future__ import annotations

from typing import Any

from jmapd_calendars.testing import USING, calendars, call, ok


def event(calendar_id: str, **extra: Any) -> dict[str, Any]:
    return {"calendarIds": {calendar_id: True}, "title": "Standup", "start": "2025-03-28T09:00:00",
            "timeZone": "Europe/Berlin", "duration": "PT30M", **extra}


def test_utc_start_and_end_are_computed_only_when_asked(client):
    cal = calendars(client)[0]["id"]
    weekly = {"@type": "RecurrenceRule", "frequency": "weekly", "count": 3}
    made = ok(client, "CalendarEvent/set", {"create": {
        "z": event(cal, recurrenceRule=weekly),
        "f": event(cal, timeZone=None, start="2025-03-28T12:00:00")}})["created"]
    zid, fid = made["z"]["id"], made["f"]["id"]
    plain = ok(client, "CalendarEvent/get", {"ids": [zid]})["list"][0]
    assert "utcStart" not in plain and "utcEnd" not in plain
    got = ok(client, "CalendarEvent/get", {"ids": [zid, f"{zid}_20250404T090000"], "properties": ["utcStart", "utcEnd"]})
    base, after_dst = got["list"]
    # Berlin is UTC+1 on 28 March 2025 and UTC+2 a week later (DST began 30 March)
    assert (base["utcStart"], base["utcEnd"]) == ("2025-03-28T08:00:00Z", "2025-03-28T08:30:00Z")
    assert after_dst["utcStart"] == "2025-04-04T07:00:00Z"
    # floating: in the timeZone argument
    floating = ok(client, "CalendarEvent/get", {"ids": [fid], "properties": ["utcStart"], "timeZone": "America/New_York"})
    assert floating["list"][0]["utcStart"] == "2025-03-28T16:00:00Z"
    name, err = call(client, "CalendarEvent/get", {"ids": [zid], "properties": ["utcStart", "recurrenceOverrides"]})
    assert (name, err["type"]) == ("error", "invalidArguments")
    name, err = call(client, "CalendarEvent/get", {"ids": [zid], "timeZone": "Mars/Base"})
    assert (name, err["type"]) == ("error", "invalidArguments")


def test_utc_start_on_set_becomes_start_in_the_event_zone(client):
    cal = calendars(client)[0]["id"]
    ok(client, "Calendar/set", {"update": {cal: {"timeZone": "Asia/Tokyo"}}})
    made = ok(client, "CalendarEvent/set", {"create": {
        "u": {"calendarIds": {cal: True}, "title": "From UTC", "utcStart": "2025-06-01T00:00:00Z",
              "utcEnd": "2025-06-01T01:30:00Z"}}})["created"]["u"]
    # no timeZone given: the calendar's; start and duration reported as server-set
    assert (made["timeZone"], made["start"], made["duration"]) == ("Asia/Tokyo", "2025-06-01T09:00:00", "PT1H30M")
    got = ok(client, "CalendarEvent/get", {"ids": [made["id"]], "properties": ["start", "utcStart", "utcEnd"]})["list"][0]
    assert (got["utcStart"], got["utcEnd"]) == ("2025-06-01T00:00:00Z", "2025-06-01T01:30:00Z")
    ok(client, "CalendarEvent/set", {"update": {made["id"]: {"utcStart": "2025-06-02T03:00:00Z"}}})
    assert ok(client, "CalendarEvent/get", {"ids": [made["id"]]})["list"][0]["start"] == "2025-06-02T12:00:00"
    refused = ok(client, "CalendarEvent/set", {"create": {
        "both": event(cal, utcStart="2025-06-01T00:00:00Z"),
        "ov": event(cal, recurrenceRule={"@type": "RecurrenceRule", "frequency": "daily", "count": 2},
                    recurrenceOverrides={"2025-03-29T09:00:00": {"utcStart": "2025-03-29T10:00:00Z"}}),
        "bad": {"calendarIds": {cal: True}, "utcStart": "yesterday"}}})["notCreated"]
    assert set(refused["both"]["properties"]) == {"utcStart", "start"}
    assert refused["ov"]["properties"] == ["recurrenceOverrides/2025-03-29T09:00:00/utcStart"]
    assert refused["bad"]["properties"] == ["utcStart"]


def test_overrides_window_and_reduced_participants(client):
    cal = calendars(client)[0]["id"]
    me = ok(client, "ParticipantIdentity/get", {"ids": None})["list"][0]["calendarAddress"]
    parts = {"me": {"@type": "Participant", "calendarAddress": me, "roles": {"attendee": True}},
             "boss": {"@type": "Participant", "calendarAddress": "mailto:boss@example.com", "roles": {"owner": True}},
             "x": {"@type": "Participant", "calendarAddress": "mailto:x@example.com", "roles": {"attendee": True}}}
    overrides = {"2025-03-29T09:00:00": {"title": "Second", "participants/x/participationStatus": "accepted"},
                 "2025-03-31T09:00:00": {"excluded": True}}
    eid = ok(client, "CalendarEvent/set", {"create": {"e": event(
        cal, participants=parts, organizerCalendarAddress="mailto:boss@example.com",
        recurrenceRule={"@type": "RecurrenceRule", "frequency": "daily", "count": 5},
        recurrenceOverrides=overrides)}})["created"]["e"]["id"]
    window = ok(client, "CalendarEvent/get", {"ids": [eid], "recurrenceOverridesAfter": "2025-03-30T00:00:00Z"})
    assert list(window["list"][0]["recurrenceOverrides"]) == ["2025-03-31T09:00:00"]
    window = ok(client, "CalendarEvent/get", {"ids": [eid], "recurrenceOverridesBefore": "2025-03-29T08:00:00Z"})
    assert window["list"][0]["recurrenceOverrides"] is None  # 09:00 Berlin is 08:00Z: not before
    reduced = ok(client, "CalendarEvent/get", {"ids": [eid], "reduceParticipants": True})["list"][0]
    assert set(reduced["participants"]) == {"me", "boss"}
    assert reduced["recurrenceOverrides"]["2025-03-29T09:00:00"] == {"title": "Second"}
    full = ok(client, "CalendarEvent/get", {"ids": [eid]})["list"][0]
    assert set(full["participants"]) == {"me", "boss", "x"}  # nothing stored changed


def test_split_series_this_and_future(client):
    """The draft's guidance for an unscheduled series: end the original before
    the split, a duplicate from it, linked by next/first relations."""
    from jmapd_calendars.domain.recurrence import split_series

    cal = calendars(client)[0]["id"]
    daily = {"@type": "RecurrenceRule", "frequency": "daily"}
    eid = ok(client, "CalendarEvent/set", {"create": {"s": event(cal, recurrenceRule=daily)}})["created"]["s"]["id"]
    original = ok(client, "CalendarEvent/get", {"ids": [eid]})["list"][0]
    head, tail = split_series({k: v for k, v in original.items() if v is not None}, "2025-04-02T09:00:00")
    tail = {k: v for k, v in tail.items() if k not in ("id", "isOrigin", "baseEventId")}
    out = ok(client, "CalendarEvent/set", {
        "update": {eid: {"recurrenceRule": head["recurrenceRule"], "relatedTo": head["relatedTo"]}},
        "create": {"t": {**tail, "title": "Standup (new time)", "start": "2025-04-02T10:00:00"}}})
    assert out["updated"] is not None and "t" in out["created"], out
    query = ok(client, "CalendarEvent/query", {"filter": {"after": "2025-03-31T00:00:00", "before": "2025-04-05T00:00:00"},
                                               "expandRecurrences": True, "timeZone": "Europe/Berlin", "sort": [{"property": "start"}]})
    got = ok(client, "CalendarEvent/get", {"ids": query["ids"], "properties": ["start", "title"]})["list"]
    assert [(g["start"], g["title"]) for g in got] == [
        ("2025-03-31T09:00:00", "Standup"), ("2025-04-01T09:00:00", "Standup"),
        ("2025-04-02T10:00:00", "Standup (new time)"), ("2025-04-03T10:00:00", "Standup (new time)"),
        ("2025-04-04T10:00:00", "Standup (new time)")]
    first = ok(client, "CalendarEvent/get", {"ids": [eid]})["list"][0]
    assert first["relatedTo"][tail["uid"]]["relation"] == {"next": True}


def test_copy_to_a_shared_account(client):
    from jmapd.db import ensure_connected
    from jmapd.models import AccountAccess, User

    other = client.server.client()
    target_cal = calendars(other)[0]["id"]
    ensure_connected()
    AccountAccess.create(account=other.account_id, user=User.get(User.name == client.user), read_only=False)
    cal = calendars(client)[0]["id"]
    eid = ok(client, "CalendarEvent/set", {"create": {"e": event(cal)}})["created"]["e"]["id"]
    source = ok(client, "CalendarEvent/get", {"ids": [eid]})["list"][0]
    name, out = client.call("CalendarEvent/copy", {"fromAccountId": client.account_id, "accountId": other.account_id,
                                                   "create": {"c": {"id": eid, "calendarIds": {target_cal: True}}},
                                                   "onSuccessDestroyOriginal": True}, USING)
    assert name == "CalendarEvent/copy" and out["created"]["c"]["id"], out
    copied = ok(other, "CalendarEvent/get", {"ids": [out["created"]["c"]["id"]]})["list"][0]
    assert (copied["uid"], copied["title"], copied["calendarIds"]) == (source["uid"], "Standup", {target_cal: True})
    assert ok(client, "CalendarEvent/get", {"ids": [eid]})["notFound"] == [eid]
