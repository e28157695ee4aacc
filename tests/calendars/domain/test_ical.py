"""iCalendar import/export on files shaped like real producers' output (written for jmapd)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jmapd_calendars.domain.ical import ITipError, itip_message, parse_ics, parse_itip, to_ics
from jmapd_calendars.domain.recurrence import expand
from jmapd_calendars.domain.validate import validate_event

DATA = Path(__file__).parent / "data"


def load(name: str):
    return parse_ics((DATA / name).read_bytes())


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    [
        "google_recurring.ics",
        "outlook_windows_zones.ics",
        "apple_custom_tz.ics",
        "thunderbird_rdate.ics",
    ],
)
def test_producer_files_round_trip_losslessly_and_validate(name: str) -> None:
    res = load(name)
    assert res.errors == [] and res.events
    for ev in res.events:
        assert validate_event(ev, mandatory=("uid", "start")) == [], ev["uid"]
    again = parse_ics(to_ics(res.events))
    assert again.errors == []
    assert again.events == res.events


def test_google_series_with_moved_and_excluded_occurrence() -> None:
    (ev,) = load("google_recurring.ics").events
    assert ev["timeZone"] == "Europe/Berlin" and ev["duration"] == "PT30M"
    assert ev["recurrenceOverrides"]["2026-01-19T10:00:00"] == {"excluded": True}
    moved = ev["recurrenceOverrides"]["2026-01-12T10:00:00"]
    assert moved["start"] == "2026-01-12T11:00:00" and moved["title"] == "Standup (moved)"
    bob = next(
        k for k, p in ev["participants"].items() if p["calendarAddress"] == "mailto:bob@example.org"
    )
    assert moved[f"participants/{bob}/participationStatus"] == "declined"
    assert ev["participants"][bob]["expectReply"] is True
    alice = next(
        p for p in ev["participants"].values() if p["calendarAddress"] == "mailto:alice@example.com"
    )
    assert alice["roles"] == {"owner": True} and alice["participationStatus"] == "accepted"
    occ = list(expand(ev, utc(2026, 1, 1), utc(2026, 1, 27), max_instances=10))
    assert [(o.recurrence_id, o.start) for o in occ] == [
        ("2026-01-05T10:00:00", utc(2026, 1, 5, 9)),
        ("2026-01-12T10:00:00", utc(2026, 1, 12, 10)),
        ("2026-01-26T10:00:00", utc(2026, 1, 26, 9)),
    ]
    # The X-NUM-GUESTS parameter Google adds is kept for export.
    out = to_ics([ev]).decode()
    assert "X-NUM-GUESTS=0" in out and "RECURRENCE-ID;TZID=Europe/Berlin:20260112T100000" in out


def test_outlook_windows_zone_names_and_all_day() -> None:
    meeting, offsite = load("outlook_windows_zones.ics").events
    assert meeting["timeZone"] == "Europe/Berlin"
    assert meeting["endTimeZone"] == "America/Los_Angeles"
    # 15:00 CEST = 13:00Z; 07:00 PDT = 14:00Z.
    assert meeting["duration"] == "PT1H"
    assert meeting["locale"] == "en-US" and meeting["title"] == "Q3 planning"
    props = {p[0] for p in meeting["iCalendar"]["properties"]}
    assert "x-microsoft-cdo-busystatus" in props
    assert offsite["showWithoutTime"] is True and offsite["duration"] == "P3D"
    assert offsite["freeBusyStatus"] == "free" and "timeZone" not in offsite
    out = to_ics([offsite]).decode()
    assert "DTSTART;VALUE=DATE:20260720" in out and "DTEND;VALUE=DATE:20260723" in out


def test_apple_custom_vtimezone_matched_to_iana() -> None:
    dentist, birthday = load("apple_custom_tz.ics").events
    assert dentist["timeZone"] == "America/New_York"  # same rules as the custom definition
    (o,) = expand(dentist, None, None, max_instances=1)
    assert o.start == utc(2026, 3, 9, 13)  # EDT after 2026-03-08
    assert "X-APPLE-STRUCTURED-LOCATION" in to_ics([dentist]).decode()
    alarm = next(iter(dentist["alerts"].values()))
    assert "action" not in alarm  # AUDIO has no JSCalendar counterpart: kept as a property
    assert ["action", {}, "text", "AUDIO"] in alarm["iCalendar"]["properties"]
    occ = list(expand(birthday, utc(2026, 1, 1), utc(2027, 1, 1), max_instances=5))
    assert [o.recurrence_id for o in occ] == ["2026-02-15T00:00:00"]


def test_thunderbird_rdate_exdate_override_count() -> None:
    (ev,) = load("thunderbird_rdate.ics").events
    assert ev["timeZone"] == "America/New_York"
    assert ev["keywords"] == {"Personal": True, "Books": True}
    ids = [o.recurrence_id for o in expand(ev, None, None, max_instances=20)]
    # Six first Thursdays from March, April's excluded, an extra date on March 20.
    assert ids == ["2026-03-05T19:00:00", "2026-03-20T19:00:00", "2026-05-07T19:00:00",
                   "2026-06-04T19:00:00", "2026-07-02T19:00:00", "2026-08-06T19:00:00"]  # fmt: skip
    may = next(o for o in expand(ev, utc(2026, 5, 1), utc(2026, 6, 1), max_instances=5))
    assert may.event["title"] == "Book club (at Ann's)" and may.start == utc(2026, 5, 8, 0)
    assert "keywords" not in may.event  # the override had no CATEGORIES


def test_bad_components_are_reported_by_line_and_the_rest_imports() -> None:
    res = load("broken_components.ics")
    assert [e["uid"] for e in res.events] == ["good-1", "good-2"]
    lines = [n for n, _ in res.errors]
    assert lines == sorted(lines) and len(res.errors) == 5
    reasons = dict(res.errors)
    assert "DTSTART" in reasons[13] and "Nowhere/Atlantis" in reasons[19] and "FREQ" in reasons[26]
    assert "UID" in reasons[29] and 28 in reasons


def test_garbage_input_never_raises() -> None:
    for data in (
        b"",
        b"\xff\xfe\x00garbage",
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n",
        b"END:VEVENT\r\n",
    ):
        res = parse_ics(data)
        assert res.events == [] or res.events[0]["uid"] == "x"
    res = parse_ics(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260101T000000Z\r\n")
    assert [e["uid"] for e in res.events] == ["x"] and res.errors  # unterminated but readable


def test_lone_recurrence_instance_stays_an_instance() -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:s\r\nDTSTAMP:20260101T000000Z\r\n"
        "RECURRENCE-ID;TZID=Europe/Berlin:20240202T140000\r\nDTSTART;TZID=Europe/Berlin:20240202T160000\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (ev,) = parse_ics(ics).events
    assert (
        ev["recurrenceId"] == "2024-02-02T14:00:00"
        and ev["recurrenceIdTimeZone"] == "Europe/Berlin"
    )


def test_itip_request_reply_cancel() -> None:
    (ev,) = load("google_recurring.ics").events
    method, events = parse_itip(itip_message("REQUEST", ev, sequence=2))
    assert method == "REQUEST" and events[0]["sequence"] == 2 and "alerts" not in events[0]
    assert len(events[0]["participants"]) == 2
    reply_ev = dict(ev)
    bob = next(
        k for k, p in ev["participants"].items() if p["calendarAddress"] == "mailto:bob@example.org"
    )
    reply_ev["participants"] = {
        **ev["participants"],
        bob: {**ev["participants"][bob], "participationStatus": "accepted"},
    }
    method, (got,) = parse_itip(itip_message("REPLY", reply_ev, attendee="mailto:bob@example.org"))
    assert method == "REPLY"
    addrs = {p["calendarAddress"]: p for p in got["participants"].values()}
    assert addrs["mailto:bob@example.org"]["participationStatus"] == "accepted"
    assert set(addrs) == {"mailto:bob@example.org", "mailto:alice@example.com"}
    # Bob's own answer for the moved occurrence travels; nothing else of the overrides.
    assert got["recurrenceOverrides"]["2026-01-12T10:00:00"] == {
        f"participants/{bob}/participationStatus": "declined"
    }
    method, (c,) = parse_itip(itip_message("CANCEL", ev, recurrence_id="2026-01-26T10:00:00"))
    assert (
        method == "CANCEL"
        and c["recurrenceId"] == "2026-01-26T10:00:00"
        and c["status"] == "cancelled"
    )
    method, (whole,) = parse_itip(itip_message("CANCEL", ev))
    assert whole["status"] == "cancelled" and whole["recurrenceOverrides"] == {
        "2026-01-19T10:00:00": {"excluded": True}
    }
    with pytest.raises(ITipError):
        itip_message("REPLY", ev, attendee="mailto:nobody@example.com")
    with pytest.raises(ITipError):
        itip_message("REQUEST", {k: v for k, v in ev.items() if k != "organizerCalendarAddress"})
    with pytest.raises(ITipError):
        itip_message("CANCEL", ev, recurrence_id="2026-01-19T10:00:00")  # excluded: no occurrence
    with pytest.raises(ITipError):
        parse_itip(to_ics([ev]).replace(b"METHOD:PUBLISH\r\n", b""))


def test_jmap_created_events_export_and_read_back_the_same_occurrences() -> None:
    # The JSCalendar 2.0 examples, as a JMAP client would create them.
    examples = json.loads((DATA / "jscalendar_examples.json").read_text())["examples"]
    for original in examples:
        ev = {**original, "id": "E1", "calendarIds": {"c1": True}, "useDefaultAlerts": False}
        text = to_ics([ev]).decode()
        assert "calendarIds" not in text and "useDefaultAlerts" not in text  # JMAP-only
        (back,) = parse_ics(text).events
        assert validate_event(back) == []
        window = (utc(2019, 12, 1), utc(2021, 1, 1))
        want = [
            (o.recurrence_id, o.start, o.end, o.event.get("title"))
            for o in expand(original, *window, max_instances=500)
        ]
        got = [
            (o.recurrence_id, o.start, o.end, o.event.get("title"))
            for o in expand(back, *window, max_instances=500)
        ]
        assert got == want, original["title"]
        for pid, p in (original.get("participants") or {}).items():
            assert back["participants"][pid]["calendarAddress"] == p["calendarAddress"]
            assert back["participants"][pid].get("participationStatus") == p.get(
                "participationStatus"
            )
