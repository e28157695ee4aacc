"""Recurrence expansion: DST, all-day, floating, overrides, exclusions, bounding.

Expected instants are written out by hand from the zone rules (e.g. US DST
began 2026-03-08, Europe's 2026-03-29), not computed by the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jmapd_calendars.domain.recurrence import (
    ExpansionTooLarge,
    PatchError,
    apply_patch,
    expand,
    get_occurrence,
    is_occurrence,
    series_range,
    split_series,
)


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def ev(**kw: object) -> dict:
    base = {
        "@type": "Event",
        "uid": "u1",
        "title": "T",
        "start": "2026-03-02T09:30:00",
        "duration": "PT1H",
    }
    base.update(kw)
    return base


def rids(
    event: dict, after: datetime | None, before: datetime | None, n: int = 1000, **kw: object
) -> list[str | None]:
    return [o.recurrence_id for o in expand(event, after, before, max_instances=n, **kw)]


def test_weekly_across_us_dst_keeps_wall_clock() -> None:
    e = ev(timeZone="America/New_York", recurrenceRule={"frequency": "weekly"})
    occ = list(expand(e, utc(2026, 3, 1), utc(2026, 3, 17), max_instances=10))
    assert [o.recurrence_id for o in occ] == [
        "2026-03-02T09:30:00",
        "2026-03-09T09:30:00",
        "2026-03-16T09:30:00",
    ]
    # EST (-5) before 2026-03-08, EDT (-4) after.
    assert [o.start for o in occ] == [
        utc(2026, 3, 2, 14, 30),
        utc(2026, 3, 9, 13, 30),
        utc(2026, 3, 16, 13, 30),
    ]
    assert all((o.end - o.start).total_seconds() == 3600 for o in occ)
    inst = occ[1].event
    assert inst["recurrenceId"] == "2026-03-09T09:30:00"
    assert inst["recurrenceIdTimeZone"] == "America/New_York"
    assert inst["start"] == "2026-03-09T09:30:00"
    assert "recurrenceRule" not in inst and "recurrenceOverrides" not in inst
    assert "recurrenceId" not in e  # master untouched


def test_daily_nominal_day_duration_across_dst() -> None:
    # P1D spans 23 hours on the spring-forward day in Berlin.
    e = ev(
        start="2026-03-28T12:00:00",
        timeZone="Europe/Berlin",
        duration="P1D",
        recurrenceRule={"frequency": "daily", "count": 2},
    )
    occ = list(expand(e, None, None, max_instances=10))
    assert [(o.start, o.end) for o in occ] == [
        (utc(2026, 3, 28, 11), utc(2026, 3, 29, 10)),
        (utc(2026, 3, 29, 10), utc(2026, 3, 30, 10)),
    ]


def test_time_in_dst_gap_and_repeated_hour_use_offset_before_transition() -> None:
    # JSCalendar's LocalDateTime examples: Melbourne gap, Los Angeles repeated hour.
    gap = ev(start="2020-10-04T02:30:00", timeZone="Australia/Melbourne", duration="PT0S")
    assert next(iter(expand(gap, None, None, max_instances=1))).start == utc(2020, 10, 3, 16, 30)
    rep = ev(start="2020-11-01T01:30:00", timeZone="America/Los_Angeles", duration="PT0S")
    assert next(iter(expand(rep, None, None, max_instances=1))).start == utc(2020, 11, 1, 8, 30)


def test_all_day_floating_uses_floating_tz() -> None:
    e = ev(
        start="2026-12-24T00:00:00",
        duration="P2D",
        showWithoutTime=True,
        recurrenceRule={"frequency": "yearly"},
    )
    occ = list(
        expand(
            e, utc(2027, 1, 1), utc(2028, 12, 31), max_instances=10, floating_tz="Pacific/Auckland"
        )
    )
    assert [o.recurrence_id for o in occ] == ["2027-12-24T00:00:00", "2028-12-24T00:00:00"]
    assert occ[0].start == utc(2027, 12, 23, 11)  # NZDT +13
    assert occ[0].end == utc(2027, 12, 25, 11)
    assert "recurrenceIdTimeZone" not in occ[0].event
    # The same floating event in UTC.
    assert next(iter(expand(e, utc(2027, 1, 1), utc(2028, 1, 1), max_instances=5))).start == utc(
        2027, 12, 24
    )


def test_overrides_patch_exclude_and_rdate_from_jscalendar_example() -> None:
    # JSCalendar 2.0 "Recurring Event with Overrides" (Calculus I).
    e = {
        "@type": "Event",
        "uid": "calc",
        "title": "Calculus I",
        "start": "2020-01-08T09:00:00",
        "timeZone": "Europe/London",
        "duration": "PT1H30M",
        "locations": {"mlab": {"name": "Math lab room 1"}},
        "recurrenceRule": {"frequency": "weekly", "until": "2020-06-24T09:00:00"},
        "recurrenceOverrides": {
            "2020-01-07T14:00:00": {"title": "Introduction to Calculus I (optional)"},
            "2020-04-01T09:00:00": {"excluded": True},
            "2020-06-25T09:00:00": {
                "title": "Calculus I Exam",
                "start": "2020-06-25T10:00:00",
                "duration": "PT2H",
                "locations": {"auditorium": {"name": "Big Auditorium"}},
            },
        },
    }
    occ = list(expand(e, None, None, max_instances=100))
    ids = [o.recurrence_id for o in occ]
    assert ids[0] == "2020-01-07T14:00:00" and ids[1] == "2020-01-08T09:00:00"
    assert "2020-04-01T09:00:00" not in ids and "2020-03-25T09:00:00" in ids
    assert ids[-2:] == ["2020-06-24T09:00:00", "2020-06-25T09:00:00"]
    assert len(occ) == 25 + 2 - 1  # 25 weekly lectures, intro and exam added, 1 excluded
    exam = occ[-1]
    assert exam.event["title"] == "Calculus I Exam"
    assert exam.event["locations"] == {"auditorium": {"name": "Big Auditorium"}}
    assert exam.start == utc(2020, 6, 25, 9) and exam.end == utc(2020, 6, 25, 11)  # BST
    assert occ[0].event["title"].startswith("Introduction")
    assert get_occurrence(e, "2020-04-01T09:00:00") is None
    assert get_occurrence(e, "2020-04-02T09:00:00") is None
    assert get_occurrence(e, "2020-04-08T09:00:00")["start"] == "2020-04-08T09:00:00"
    assert is_occurrence(e, "2020-01-07T14:00:00") and not is_occurrence(e, "bogus")
    first, last = series_range(e)
    assert first == utc(2020, 1, 7, 14) and last == utc(2020, 6, 25, 11)


def test_override_moved_into_window_is_found_and_out_of_window_is_not() -> None:
    e = ev(
        timeZone="UTC",
        recurrenceRule={"frequency": "daily"},
        recurrenceOverrides={"2026-03-05T09:30:00": {"start": "2026-04-01T08:00:00"}},
    )
    got = list(expand(e, utc(2026, 4, 1), utc(2026, 4, 1, 9), max_instances=10))
    assert [(o.recurrence_id, o.start) for o in got] == [
        ("2026-03-05T09:30:00", utc(2026, 4, 1, 8))
    ]
    assert rids(e, utc(2026, 3, 5), utc(2026, 3, 7)) == ["2026-03-06T09:30:00"]


def test_participant_patch_from_jscalendar_example() -> None:
    e = ev(
        start="2020-01-08T09:00:00",
        timeZone="Africa/Johannesburg",
        recurrenceRule={"frequency": "weekly"},
        participants={
            "tom": {
                "name": "Tom",
                "participationStatus": "accepted",
                "calendarAddress": "mailto:tom@x",
            }
        },
        recurrenceOverrides={
            "2020-03-04T09:00:00": {
                "participants/tom/participationStatus": "declined",
                "uid": "evil",
            }
        },
    )
    inst = get_occurrence(e, "2020-03-04T09:00:00")
    assert inst["participants"]["tom"]["participationStatus"] == "declined"
    assert inst["uid"] == "u1"  # uid is an ignored patch pointer
    assert e["participants"]["tom"]["participationStatus"] == "accepted"
    assert (
        get_occurrence(e, "2020-03-11T09:00:00")["participants"]["tom"]["participationStatus"]
        == "accepted"
    )


def test_apply_patch_rejects_bad_patches_whole() -> None:
    obj = {"a": {"b": 1}, "l": [1, 2]}
    assert apply_patch(obj, {"a/c": 2, "l/1": 5}) == {"a": {"b": 1, "c": 2}, "l": [1, 5]}
    assert obj == {"a": {"b": 1}, "l": [1, 2]}
    for bad in ({"x/y": 1}, {"a": 1, "a/b": 2}, {"l/2": 1}, {"l/-": 1}, {"l/0": None}):
        with pytest.raises(PatchError):
            apply_patch(obj, bad)
    assert apply_patch({"a~b": {"c/d": 1}}, {"a~0b/c~1d": 2}) == {"a~b": {"c/d": 2}}


@pytest.mark.parametrize(
    ("rule", "start", "expected"),
    [
        # RFC 5545 examples, translated to JSCalendar rules.
        ({"frequency": "monthly", "byDay": [{"day": "fr", "nthOfPeriod": 1}], "count": 4}, "1997-09-05T09:00:00",
         ["1997-09-05", "1997-10-03", "1997-11-07", "1997-12-05"]),
        ({"frequency": "monthly", "byDay": [{"day": "mo"}, {"day": "tu"}, {"day": "we"}, {"day": "th"}, {"day": "fr"}],
          "bySetPosition": [-2], "count": 3}, "1997-09-29T09:00:00", ["1997-09-29", "1997-10-30", "1997-11-27"]),
        ({"frequency": "yearly", "byMonth": ["2"], "byMonthDay": [29], "count": 3}, "2024-02-29T09:00:00",
         ["2024-02-29", "2028-02-29", "2032-02-29"]),
        ({"frequency": "monthly", "byMonthDay": [31], "count": 3}, "2026-01-31T09:00:00",
         ["2026-01-31", "2026-03-31", "2026-05-31"]),
        ({"frequency": "monthly", "byMonthDay": [31], "skip": "backward", "count": 3}, "2026-01-31T09:00:00",
         ["2026-01-31", "2026-02-28", "2026-03-31"]),
        ({"frequency": "monthly", "byMonthDay": [31], "skip": "forward", "count": 3}, "2026-01-31T09:00:00",
         ["2026-01-31", "2026-03-01", "2026-03-31"]),
        ({"frequency": "yearly", "byWeekNo": [20], "byDay": [{"day": "mo"}], "count": 3}, "1997-05-12T09:00:00",
         ["1997-05-12", "1998-05-11", "1999-05-17"]),
        ({"frequency": "yearly", "byYearDay": [1, 100, 200], "count": 4}, "1997-01-01T09:00:00",
         ["1997-01-01", "1997-04-10", "1997-07-19", "1998-01-01"]),
        ({"frequency": "weekly", "interval": 2, "byDay": [{"day": "tu"}, {"day": "th"}], "firstDayOfWeek": "su",
          "count": 4}, "1997-09-02T09:00:00", ["1997-09-02", "1997-09-04", "1997-09-16", "1997-09-18"]),
        # RFC 5545 §3.8.5.3: WKST changes which weeks an interval of 2 keeps
        ({"frequency": "weekly", "interval": 2, "byDay": [{"day": "tu"}, {"day": "su"}], "firstDayOfWeek": "mo",
          "count": 4}, "1997-08-05T09:00:00", ["1997-08-05", "1997-08-10", "1997-08-19", "1997-08-24"]),
        ({"frequency": "weekly", "interval": 2, "byDay": [{"day": "tu"}, {"day": "su"}], "firstDayOfWeek": "su",
          "count": 4}, "1997-08-05T09:00:00", ["1997-08-05", "1997-08-17", "1997-08-19", "1997-08-31"]),
        ({"frequency": "weekly", "count": 3}, "2025-12-31T09:00:00", ["2025-12-31", "2026-01-07", "2026-01-14"]),
        ({"frequency": "daily", "interval": 10, "count": 3}, "1997-09-02T09:00:00", ["1997-09-02", "1997-09-12", "1997-09-22"]),
        ({"frequency": "monthly", "byDay": [{"day": "fr"}], "byMonthDay": [13], "count": 3}, "1997-09-02T09:00:00",
         ["1997-09-02", "1998-02-13", "1998-03-13"]),
        ({"frequency": "yearly", "byMonth": ["11"], "byDay": [{"day": "tu"}], "byMonthDay": [2, 3, 4, 5, 6, 7, 8],
          "interval": 4, "count": 3}, "1996-11-05T09:00:00", ["1996-11-05", "2000-11-07", "2004-11-02"]),
        ({"frequency": "weekly", "until": "1997-09-16T09:00:00"}, "1997-09-02T09:00:00", ["1997-09-02", "1997-09-09", "1997-09-16"]),
    ],
)  # fmt: skip
def test_rule_patterns(rule: dict, start: str, expected: list[str]) -> None:
    e = ev(start=start, timeZone="America/New_York", recurrenceRule=rule)
    got = [r[:10] for r in rids(e, None, None)]
    assert got == expected


def test_hourly_interval_and_minutely_byhour() -> None:
    e = ev(
        start="1997-09-02T09:00:00",
        timeZone="UTC",
        recurrenceRule={"frequency": "hourly", "interval": 3, "until": "1997-09-02T17:00:00"},
    )
    assert [r[11:16] for r in rids(e, None, None)] == ["09:00", "12:00", "15:00"]
    e = ev(start="1997-09-02T09:00:00", timeZone="UTC", duration="PT0S",
           recurrenceRule={"frequency": "minutely", "interval": 20, "byHour": [9, 10]})  # fmt: skip
    got = rids(e, utc(1997, 9, 2), utc(1997, 9, 3, 12))
    assert [r[11:16] for r in got] == ["09:00", "09:20", "09:40", "10:00", "10:20", "10:40"] * 2


def test_infinite_rules_are_bounded_by_the_window() -> None:
    e = ev(
        start="2000-01-01T00:00:00", timeZone="Europe/Paris", recurrenceRule={"frequency": "daily"}
    )
    got = rids(e, utc(2030, 6, 1), utc(2030, 7, 1))
    # Paris midnight is 22:00Z the day before (CEST): June 1 ends before the window.
    assert len(got) == 30 and got[0] == "2030-06-02T00:00:00" and got[-1] == "2030-07-01T00:00:00"
    assert series_range(e)[1] is None
    with pytest.raises(ExpansionTooLarge):
        list(expand(e, utc(2030, 6, 1), None, max_instances=50))
    secondly = ev(
        start="2026-01-01T00:00:00",
        timeZone="UTC",
        duration="PT1S",
        recurrenceRule={"frequency": "secondly"},
    )
    with pytest.raises(ExpansionTooLarge):
        list(expand(secondly, utc(2026, 1, 1), utc(2026, 1, 2), max_instances=1000))
    assert len(rids(secondly, utc(2026, 1, 1, 12), utc(2026, 1, 1, 12, 1))) == 60


@pytest.mark.parametrize(
    "rule",
    [
        {"frequency": "yearly", "byMonth": ["2"], "byMonthDay": [31]},
        {"frequency": "daily", "byMonth": ["2"], "byMonthDay": [30]},
        {"frequency": "secondly", "byMonth": ["4"], "byMonthDay": [31]},
        {"frequency": "daily", "interval": 7, "byDay": [{"day": "tu"}]},  # start is a Monday
        {
            "frequency": "yearly",
            "interval": 4,
            "byMonth": ["2"],
            "byMonthDay": [29],
        },  # 2026 + 4k: never leap
        {"frequency": "monthly", "byMonth": ["5L"]},
        {"frequency": "weekly", "byMonth": ["2"], "byMonthDay": [30]},
    ],
)
def test_rules_matching_nothing_terminate(rule: dict) -> None:
    e = ev(timeZone="UTC", recurrenceRule=rule)
    got = rids(e, None, None)
    assert got[0] == "2026-03-02T09:30:00"
    assert got == ["2026-03-02T09:30:00"]
    assert series_range(e)[1] is None  # no count/until: unbounded for the index


def test_count_rule_from_the_past_is_counted_not_skipped() -> None:
    e = ev(
        start="2020-01-01T10:00:00",
        timeZone="UTC",
        recurrenceRule={"frequency": "daily", "count": 400},
    )
    got = rids(e, utc(2021, 1, 1), utc(2022, 1, 1))
    assert got[0] == "2021-01-01T10:00:00" and got[-1] == "2021-02-03T10:00:00"  # 400th
    first, last = series_range(e)
    assert first == utc(2020, 1, 1, 10) and last == utc(2021, 2, 3, 11)
    huge = ev(
        start="2020-01-01T10:00:00",
        timeZone="UTC",
        recurrenceRule={"frequency": "secondly", "count": 10**12},
    )
    with pytest.raises(ExpansionTooLarge):
        list(expand(huge, utc(2030, 1, 1), utc(2030, 1, 2), max_instances=10, work_budget=10000))
    assert series_range(huge)[1] is None


def test_until_bound_series_range_and_start_first_even_if_unmatched() -> None:
    e = ev(start="2026-03-01T09:30:00", timeZone="America/New_York",
           recurrenceRule={"frequency": "weekly", "byDay": [{"day": "mo"}], "until": "2026-03-16T23:59:59"})  # fmt: skip
    assert rids(e, None, None) == [
        "2026-03-01T09:30:00",
        "2026-03-02T09:30:00",
        "2026-03-09T09:30:00",
        "2026-03-16T09:30:00",
    ]
    assert series_range(e) == (utc(2026, 3, 1, 14, 30), utc(2026, 3, 16, 14, 30))


def test_non_recurring_event_yields_itself() -> None:
    e = ev(timeZone="Europe/London")
    (o,) = expand(e, utc(2026, 3, 2), utc(2026, 3, 3), max_instances=1)
    assert o.recurrence_id is None and o.event == e and o.start == utc(2026, 3, 2, 9, 30)
    assert (
        list(expand(e, utc(2026, 3, 2, 10, 30), None, max_instances=1)) == []
    )  # end must be after 'after'
    assert get_occurrence(e, "2026-03-02T09:30:00") is None
    assert series_range(e) == (utc(2026, 3, 2, 9, 30), utc(2026, 3, 2, 10, 30))


def test_unknown_time_zone_raises_value_error() -> None:
    with pytest.raises(ValueError):
        list(expand(ev(timeZone="Mars/Olympus"), None, None, max_instances=1))


def test_split_series_until_and_count() -> None:
    e = ev(start="2025-01-07T14:00:00", timeZone="Australia/Melbourne", recurrenceRule={"frequency": "weekly"},
           recurrenceOverrides={"2025-01-14T14:00:00": {"title": "early"}, "2025-03-11T14:00:00": {"title": "late"},
                                "2025-03-04T14:00:00": {"start": "2025-03-05T15:00:00"}})  # fmt: skip
    head, tail = split_series(e, "2025-03-04T14:00:00", new_uid="new")
    assert head["recurrenceRule"] == {"frequency": "weekly", "until": "2025-03-04T13:59:59"}
    assert rids(head, None, None)[-1] == "2025-02-25T14:00:00"
    assert list(head["recurrenceOverrides"]) == ["2025-01-14T14:00:00"]
    assert head["relatedTo"] == {"new": {"@type": "Relation", "relation": {"next": True}}}
    assert tail["uid"] == "new" and tail["start"] == "2025-03-05T15:00:00"
    assert tail["relatedTo"] == {"u1": {"@type": "Relation", "relation": {"first": True}}}
    assert list(tail["recurrenceOverrides"]) == ["2025-03-11T14:00:00"]
    c = ev(
        start="2026-01-01T09:00:00",
        timeZone="UTC",
        recurrenceRule={"frequency": "daily", "count": 10},
    )
    h, t = split_series(c, "2026-01-04T09:00:00")
    assert h["recurrenceRule"]["count"] == 3 and t["recurrenceRule"]["count"] == 7
    assert len(rids(h, None, None)) + len(rids(t, None, None)) == 10
    with pytest.raises(ValueError):
        split_series(c, "2026-01-04T10:00:00")
    with pytest.raises(ValueError):
        split_series(c, "2026-01-01T09:00:00")


def test_rfc8984_recurrence_rules_array_expands() -> None:
    e = ev(
        timeZone="UTC",
        recurrenceRules=[{"@type": "RecurrenceRule", "frequency": "daily", "count": 2}],
    )
    assert rids(e, None, None) == ["2026-03-02T09:30:00", "2026-03-03T09:30:00"]


def test_out_of_range_dates_raise_value_error_not_overflow() -> None:
    e = ev(start="9999-12-31T23:00:00", duration="P2D", timeZone="Pacific/Kiritimati")
    with pytest.raises(ValueError):
        series_range(e)
    with pytest.raises(ValueError):
        list(expand(e, None, None, max_instances=1))
    # A daily rule near the end of time stops at the last representable day.
    end = ev(
        start="9999-12-27T00:00:00",
        timeZone="UTC",
        duration="PT1H",
        recurrenceRule={"frequency": "daily"},
    )
    assert rids(end, None, None)[-1] == "9999-12-30T00:00:00"


def test_occurrence_event_is_built_lazily_and_independent() -> None:
    e = ev(
        timeZone="UTC",
        recurrenceRule={"frequency": "daily", "count": 3},
        participants={"p": {"name": "A"}},
    )
    occ = list(expand(e, None, None, max_instances=5))
    occ[1].event["participants"]["p"]["name"] = "changed"
    assert e["participants"]["p"]["name"] == "A"
    assert occ[2].event["participants"]["p"]["name"] == "A"
    assert occ[1].event["recurrenceId"] == "2026-03-03T09:30:00"


@pytest.mark.parametrize(
    "rule",
    [
        {"frequency": "secondly", "interval": 7, "count": 30000},
        {"frequency": "secondly", "count": 9000, "byHour": [9, 17], "byMinute": [0, 59]},
        {"frequency": "minutely", "interval": 13, "count": 6000, "byDay": [{"day": "mo"}, {"day": "fr"}]},
        {"frequency": "minutely", "count": 4000, "byMonth": ["2"], "bySecond": [5, 50]},
        {"frequency": "hourly", "interval": 5, "count": 2500, "bySetPosition": [-1]},
        {"frequency": "hourly", "count": 3000, "byMinute": [0, 30], "bySetPosition": [2]},
        {"frequency": "hourly", "count": 100000, "until": "2026-05-01T00:00:00"},  # until comes first
        {"frequency": "daily", "interval": 3, "count": 700, "byMonthDay": [1, 15, 31]},
        {"frequency": "weekly", "count": 900, "byDay": [{"day": "tu"}, {"day": "th"}]},
        {"frequency": "monthly", "count": 300, "byDay": [{"day": "fr", "nthOfPeriod": -1}]},
        {"frequency": "yearly", "count": 40, "byMonth": ["2"], "byMonthDay": [29]},
        {"frequency": "yearly", "interval": 100, "count": 500},  # runs out at year 9999 first
        {"frequency": "daily", "count": 1},
    ],
)
def test_last_occurrence_is_the_last_one_enumerated(rule: dict) -> None:
    from jmapd_calendars.domain.rrule import Rule, iter_rule, last_occurrence

    start = datetime(2026, 3, 2, 9, 30, 12)
    parsed = Rule.from_json(rule, start)
    assert last_occurrence(parsed, start) == list(iter_rule(parsed, start))[-1]


def test_long_count_rule_is_finite_and_reachable_anywhere() -> None:
    """5,000,000 occurrences every 30 s: counted to their end (2031-03-03)
    for the index, and a window years after the start expands without
    counting up to it — inside the series it has instances, after it none."""
    e = ev(start="2026-06-01T09:00:00", timeZone="UTC", duration="PT1S",
           recurrenceRule={"frequency": "secondly", "interval": 30, "count": 5_000_000})  # fmt: skip
    assert series_range(e) == (utc(2026, 6, 1, 9), utc(2031, 3, 3, 11, 39, 31))
    assert rids(e, utc(2031, 3, 3, 11, 39), utc(2031, 3, 3, 11, 41)) == [
        "2031-03-03T11:39:00",
        "2031-03-03T11:39:30",
    ]
    assert rids(e, utc(2099, 1, 1), utc(2099, 1, 1, 0, 0, 10)) == []
    assert rids(e, utc(2029, 1, 1), utc(2029, 1, 1, 0, 1)) == ["2029-01-01T00:00:00", "2029-01-01T00:00:30"]
    assert is_occurrence(e, "2031-03-03T11:39:30") and not is_occurrence(e, "2031-03-03T11:40:00")
    head, tail = split_series(e, "2031-03-03T11:39:00")
    assert (head["recurrenceRule"]["count"], tail["recurrenceRule"]["count"]) == (4_999_998, 2)
