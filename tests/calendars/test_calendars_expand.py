"""CalendarEvent/query expandRecurrences, /get and /set of instance ids
(draft §5.1, §5.3, §5.9): one occurrence edited, moved or deleted, across
DST, floating and all-day events, and the JSCalendar 2.0 example of a
recurring event with overrides (§6.4 of the bis draft)."""

from __future__ import annotations

from typing import Any

from jmapd_calendars.testing import calendars, call, ok

#: draft-ietf-calext-jscalendarbis "Recurring Event with Overrides".
CALCULUS = {
    "title": "Calculus I", "start": "2020-01-08T09:00:00", "timeZone": "Europe/London", "duration": "PT1H30M",
    "locations": {"mlab": {"name": "Math lab room 1", "description": "Math Lab I, Department of Mathematics"}},
    "recurrenceRule": {"frequency": "weekly", "until": "2020-06-24T09:00:00"},
    "recurrenceOverrides": {
        "2020-01-07T14:00:00": {"title": "Introduction to Calculus I (optional)"},
        "2020-04-01T09:00:00": {"excluded": True},
        "2020-06-25T09:00:00": {
            "title": "Calculus I Exam", "start": "2020-06-25T10:00:00", "duration": "PT2H",
            "locations": {"auditorium": {"name": "Big Auditorium", "description": "Big Auditorium, Other Road"}},
        },
    },
}


def create(client: Any, **event: Any) -> str:
    cal = calendars(client)[0]["id"]
    made = ok(client, "CalendarEvent/set", {"create": {"e": {"calendarIds": {cal: True}, **event}}})
    assert made.get("created"), made
    return made["created"]["e"]["id"]


def expand(client: Any, after: str, before: str, zone: str = "Etc/UTC", **cond: Any) -> list[str]:
    return ok(client, "CalendarEvent/query", {
        "filter": {"after": after, "before": before, **cond}, "expandRecurrences": True, "timeZone": zone,
        "sort": [{"property": "start"}]})["ids"]


def get(client: Any, ids: list[str], props: list[str] | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {"ids": ids}
    if props is not None:
        args["properties"] = props
    return ok(client, "CalendarEvent/get", args)


def test_jscalendar_example_overrides_expand(client):
    base = create(client, **CALCULUS)
    ids = expand(client, "2020-01-01T00:00:00", "2020-01-20T00:00:00")
    got = get(client, ids, ["title", "start", "recurrenceId", "baseEventId", "recurrenceRule", "recurrenceOverrides"])
    assert [(e["title"], e["start"]) for e in got["list"]] == [
        ("Introduction to Calculus I (optional)", "2020-01-07T14:00:00"),
        ("Calculus I", "2020-01-08T09:00:00"), ("Calculus I", "2020-01-15T09:00:00")]
    for e in got["list"]:
        assert e["baseEventId"] == base and e["recurrenceId"] and e["id"] != base
        assert e["recurrenceRule"] is None and e["recurrenceOverrides"] is None
    # April 1 is excluded; the exam moved to 10:00 on June 25 with its own location and duration.
    april = expand(client, "2020-03-30T00:00:00", "2020-04-05T00:00:00")
    assert april == []
    exam = get(client, expand(client, "2020-06-24T12:00:00", "2020-06-30T00:00:00"))["list"]
    assert [(e["title"], e["start"], e["duration"], list(e["locations"])) for e in exam] == [
        ("Calculus I Exam", "2020-06-25T10:00:00", "PT2H", ["auditorium"])]
    # every condition must hold for the same instance: the exam's title, not the master's
    assert expand(client, "2020-01-01T00:00:00", "2020-12-31T00:00:00", title="exam") == [exam[0]["id"]]
    assert expand(client, "2020-01-01T00:00:00", "2020-12-31T00:00:00", location="auditorium") == [exam[0]["id"]]
    # without expansion the series is one id
    plain = ok(client, "CalendarEvent/query", {"filter": {"after": "2020-01-01T00:00:00", "before": "2021-01-01T00:00:00"}})
    assert plain["ids"] == [base]


def test_weekly_across_dst_keeps_wall_clock(client):
    create(client, title="Standup", start="2025-03-24T09:00:00", timeZone="Europe/Berlin", duration="PT15M",
           recurrenceRule={"frequency": "weekly"})
    ids = expand(client, "2025-03-24T00:00:00", "2025-04-08T00:00:00")
    starts = [e["start"] for e in get(client, ids, ["start"])["list"]]
    assert starts == ["2025-03-24T09:00:00", "2025-03-31T09:00:00", "2025-04-07T09:00:00"]
    # 09:00 Berlin is 08:00 UTC before 30 March and 07:00 UTC after: a UTC window
    # 07:30-07:45 on 31 March holds the occurrence, the same window on 24 March does not.
    assert len(expand(client, "2025-03-31T07:00:00", "2025-03-31T07:10:00")) == 1
    assert expand(client, "2025-03-24T07:00:00", "2025-03-24T07:10:00") == []
    assert len(expand(client, "2025-03-24T08:00:00", "2025-03-24T08:10:00")) == 1
    # the same instants asked in New York time (UTC-4 on 31 March)
    assert len(expand(client, "2025-03-31T03:00:00", "2025-03-31T03:10:00", zone="America/New_York")) == 1


def test_floating_all_day_event_is_read_in_the_query_zone(client):
    day = create(client, title="Holiday", start="2025-03-10T00:00:00", duration="P1D", showWithoutTime=True)
    # 20:00-21:00 on 10 March in Los Angeles is 03:00-04:00 UTC on the 11th: a
    # floating event taken as UTC would miss it; in the query's zone it is that day.
    late = {"after": "2025-03-10T20:00:00", "before": "2025-03-10T21:00:00"}
    assert expand(client, late["after"], late["before"], zone="America/Los_Angeles") == [day]
    assert ok(client, "CalendarEvent/query", {"filter": late, "timeZone": "America/Los_Angeles"})["ids"] == [day]
    assert ok(client, "CalendarEvent/query", {"filter": late, "timeZone": "Etc/UTC"})["ids"] == [day]
    # the end is exclusive: the next day does not hold it, in any zone
    assert expand(client, "2025-03-11T00:00:00", "2025-03-11T01:00:00", zone="Pacific/Auckland") == []
    assert expand(client, "2025-03-09T23:00:00", "2025-03-10T00:00:00", zone="Pacific/Auckland") == []


def test_edit_one_occurrence_becomes_an_override(client):
    base = create(client, title="Sync", start="2025-01-06T10:00:00", timeZone="America/New_York", duration="PT30M",
                  recurrenceRule={"frequency": "weekly", "count": 4})
    state = ok(client, "CalendarEvent/get", {"ids": []})["state"]
    ids = expand(client, "2025-01-01T00:00:00", "2025-02-01T00:00:00")
    assert len(ids) == 4
    second = ids[1]
    done = ok(client, "CalendarEvent/set", {"update": {second: {"title": "Sync (moved)", "start": "2025-01-14T15:00:00"}}})
    assert done["updated"] == {second: None}, done
    master = get(client, [base])["list"][0]
    assert master["recurrenceOverrides"] == {"2025-01-13T10:00:00": {"title": "Sync (moved)", "start": "2025-01-14T15:00:00"}}
    assert master["title"] == "Sync"
    after = expand(client, "2025-01-01T00:00:00", "2025-02-01T00:00:00")
    shown = get(client, after, ["title", "start", "recurrenceId"])["list"]
    assert [(e["title"], e["start"], e["recurrenceId"]) for e in shown][1] == (
        "Sync (moved)", "2025-01-14T15:00:00", "2025-01-13T10:00:00")
    # the same instance id still names the edited occurrence, and can be edited again
    assert get(client, [second], ["title"])["list"][0]["title"] == "Sync (moved)"
    ok(client, "CalendarEvent/set", {"update": {second: {"title": "Sync"}}})
    master = get(client, [base])["list"][0]
    assert master["recurrenceOverrides"] == {"2025-01-13T10:00:00": {"start": "2025-01-14T15:00:00"}}
    # synthetic ids never appear in /changes: only the base event changed
    changes = ok(client, "CalendarEvent/changes", {"sinceState": state})
    assert changes["updated"] == [base] and changes["created"] == [] and changes["destroyed"] == []


def test_delete_one_occurrence_excludes_it(client):
    base = create(client, title="Gym", start="2025-05-01T18:00:00", timeZone="Europe/Paris", duration="PT1H",
                  recurrenceRule={"frequency": "daily"})
    ids = expand(client, "2025-05-01T00:00:00", "2025-05-04T00:00:00", zone="Europe/Paris")
    assert len(ids) == 3
    done = ok(client, "CalendarEvent/set", {"destroy": [ids[1]]})
    assert done["destroyed"] == [ids[1]], done
    assert get(client, [base])["list"][0]["recurrenceOverrides"] == {"2025-05-02T18:00:00": {"excluded": True}}
    assert expand(client, "2025-05-01T00:00:00", "2025-05-04T00:00:00", zone="Europe/Paris") == [ids[0], ids[2]]
    assert get(client, [ids[1]])["notFound"] == [ids[1]]
    # the series is still there, and destroying an occurrence twice is notFound
    assert get(client, [base])["list"][0]["id"] == base
    again = ok(client, "CalendarEvent/set", {"destroy": [ids[1]]})
    assert again["notDestroyed"][ids[1]]["type"] == "notFound"


def test_instance_ids_that_match_no_occurrence(client):
    base = create(client, title="Weekly", start="2025-01-06T10:00:00", timeZone="Europe/Berlin", duration="PT1H",
                  recurrenceRule={"frequency": "weekly"})
    single = create(client, title="Once", start="2025-01-06T10:00:00", timeZone="Europe/Berlin", duration="PT1H")
    wrong_time = f"{base}_20250106T110000"
    tuesday = f"{base}_20250107T100000"
    of_single = f"{single}_20250106T100000"
    got = get(client, [wrong_time, tuesday, of_single, "eNoSuch_20250106T100000"])
    assert got["list"] == [] and len(got["notFound"]) == 4
    done = ok(client, "CalendarEvent/set", {"update": {tuesday: {"title": "x"}}, "destroy": [wrong_time]})
    assert done["notUpdated"][tuesday]["type"] == "notFound"
    assert done["notDestroyed"][wrong_time]["type"] == "notFound"
    assert "recurrenceOverrides" not in {k for k, v in get(client, [base])["list"][0].items() if v}


def test_occurrence_may_not_change_series_properties(client):
    base = create(client, title="Weekly", start="2025-01-06T10:00:00", timeZone="Europe/Berlin", duration="PT1H",
                  recurrenceRule={"frequency": "weekly"})
    sid = f"{base}_20250113T100000"
    done = ok(client, "CalendarEvent/set", {"update": {sid: {"uid": "other"}}})
    assert done["notUpdated"][sid]["type"] == "invalidProperties"
    assert done["notUpdated"][sid]["properties"] == ["uid"]
    bad = ok(client, "CalendarEvent/set", {"update": {sid: {"duration": "an hour"}}})
    assert bad["notUpdated"][sid]["type"] == "invalidProperties"
    assert "recurrenceOverrides" not in {k for k, v in get(client, [base])["list"][0].items() if v}


def test_expand_preconditions_and_duration_limit(client):
    create(client, title="Daily", start="2025-01-01T08:00:00", timeZone="Etc/UTC", duration="PT1H",
           recurrenceRule={"frequency": "daily"})
    name, err = call(client, "CalendarEvent/query", {
        "filter": {"after": "2025-01-01T00:00:00", "before": "2026-03-01T00:00:00"}, "expandRecurrences": True})
    assert (name, err["type"]) == ("error", "expandDurationTooLarge")
    for bad in ({"after": "2025-01-01T00:00:00"},
                {"operator": "AND", "conditions": [{"after": "2025-01-01T00:00:00", "before": "2025-02-01T00:00:00"}]},
                None):
        name, err = call(client, "CalendarEvent/query", {"filter": bad, "expandRecurrences": True})
        assert (name, err["type"]) == ("error", "invalidArguments"), bad
    # the longest window allowed (P400D) answers, with every day's instance
    ids = expand(client, "2025-01-01T00:00:00", "2026-02-05T00:00:00")
    assert len(ids) == 400 and len(set(ids)) == 400
    name, err = call(client, "CalendarEvent/queryChanges", {
        "filter": {"after": "2025-01-01T00:00:00", "before": "2025-02-01T00:00:00"}, "expandRecurrences": True,
        "sinceQueryState": "0"})
    assert (name, err["type"]) == ("error", "cannotCalculateChanges")


def test_sort_by_recurrence_id_and_start(client):
    a = create(client, title="A", start="2025-01-06T10:00:00", timeZone="Etc/UTC", duration="PT1H",
               recurrenceRule={"frequency": "daily", "count": 2},
               recurrenceOverrides={"2025-01-07T10:00:00": {"start": "2025-01-05T09:00:00"}})
    ids = expand(client, "2025-01-01T00:00:00", "2025-01-10T00:00:00")
    recurrence = [e["recurrenceId"] for e in get(client, ids, ["recurrenceId"])["list"]]
    assert recurrence == ["2025-01-07T10:00:00", "2025-01-06T10:00:00"]  # by start: the moved one first
    by_rid = ok(client, "CalendarEvent/query", {
        "filter": {"after": "2025-01-01T00:00:00", "before": "2025-01-10T00:00:00"}, "expandRecurrences": True,
        "sort": [{"property": "recurrenceId"}]})["ids"]
    assert by_rid == list(reversed(ids)) and all(i.startswith(a + "_") for i in ids)
