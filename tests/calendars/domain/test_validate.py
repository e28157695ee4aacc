"""JSCalendar 2.0 validation (every bad path) and RFC 8984 normalisation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jmapd_calendars.domain.validate import LimitExceeded, Limits, normalize_event, validate_event

# JSCalendar 2.0 examples (the "..." placeholders replaced by uid/updated).
SPEC_EXAMPLES = json.loads(
    (Path(__file__).parent / "data" / "jscalendar_examples.json").read_text()
)["examples"]


@pytest.mark.parametrize("event", SPEC_EXAMPLES, ids=lambda e: e["title"])
def test_spec_examples_are_valid(event: dict) -> None:
    assert validate_event(event, mandatory=("uid", "start", "updated")) == []


def test_every_invalid_path_is_reported() -> None:
    bad = {
        "@type": "Task",
        "uid": 5,
        "start": "2026-03-01 09:30:00",
        "timeZone": "Europe/Nowhere",
        "duration": "PT1H30S",
        "created": "2026-01-01T00:00:00.5Z",
        "sequence": -1,
        "priority": 10,
        "privacy": "Private",
        "showWithoutTime": "yes",
        "keywords": {"a": False},
        "Title": "case differs from title",
        "extra": 1,
        "requestStatus": "2.0",
        "example.com:vendor": {"anything": True},
        "someFutureProperty": 1,
        "recurrenceRule": {"@type": "Rule", "frequency": "Weekly", "interval": 0, "count": 3,
                           "until": "2026-01-01T00:00:00", "byDay": [{"day": "xx"}], "byMonth": ["14"],
                           "byHour": [24], "bySetPosition": [0]},
        "recurrenceOverrides": {"2026-03-08T09:30:00": {"excluded": True, "title": "x"}, "nope": {},
                                "2026-03-09T09:30:00": {"duration": "1 hour"}},
        "participants": {"p1": {"@type": "Participant", "roles": {"boss": True}, "participationStatus": "maybe",
                                "kind": "example.com:robot", "scheduleAgent": "client", "expectReply": 1},
                         "bad id!": {}},
        "alerts": {"a": {"trigger": {"offset": "-PT15M"}}, "b": {"trigger": {"@type": "AbsoluteTrigger", "when": "x"}},
                   "c": {"trigger": {"@type": "example.com:trigger"}}, "d": {}},
        "locations": {"l1": {"@type": "Location", "name": 3}},
        "mainLocationId": "l2",
        "links": {"k": {"@type": "Link"}},
        "virtualLocations": {"v": {"name": "no uri"}},
        "recurrenceIdTimeZone": "Europe/Paris",
    }  # fmt: skip
    assert sorted(validate_event(bad)) == sorted(
        [
            "@type", "uid", "start", "timeZone", "duration", "created", "sequence", "priority", "privacy",
            "showWithoutTime", "keywords", "Title", "extra", "requestStatus",
            "recurrenceRule/@type", "recurrenceRule/frequency", "recurrenceRule/interval", "recurrenceRule/until",
            "recurrenceRule/byDay/0/day", "recurrenceRule/byMonth/0", "recurrenceRule/byHour/0",
            "recurrenceRule/bySetPosition/0",
            "recurrenceOverrides/2026-03-08T09:30:00/excluded", "recurrenceOverrides/nope",
            "recurrenceOverrides/2026-03-09T09:30:00/duration",
            "participants/p1/roles", "participants/p1/participationStatus", "participants/p1/scheduleAgent",
            "participants/p1/expectReply", "participants/bad id!",
            "alerts/b/trigger/when", "alerts/d/trigger",
            "locations/l1/name", "mainLocationId", "links/k/href", "virtualLocations/v/uri",
            "recurrenceIdTimeZone",
        ]
    )  # fmt: skip


def test_recurrence_id_excludes_rule_and_dates_are_real() -> None:
    inst = {
        "start": "2026-02-29T10:00:00",
        "recurrenceId": "2026-02-28T10:00:00",
        "recurrenceRule": {"frequency": "daily"},
    }
    assert sorted(validate_event(inst)) == ["recurrenceId", "start"]  # 2026 is no leap year
    assert validate_event([]) == [""]
    assert validate_event({}) == ["start"]
    assert (
        validate_event({"start": "2026-01-01T00:00:00", "timeZone": None}, nullable_top_level=True)
        == []
    )
    assert validate_event({"start": "2026-01-01T00:00:00", "timeZone": None}) == ["timeZone"]


def test_jmap_properties_pass_through() -> None:
    e = {
        "start": "2026-01-01T00:00:00",
        "id": "E1",
        "calendarIds": {"c": True},
        "useDefaultAlerts": True,
    }
    assert validate_event(e) == []
    # Outside JMAP, useDefaultAlerts is a property JSCalendar 2.0 reserves;
    # id and calendarIds are merely unknown, so they are kept.
    assert validate_event(e, jmap=False) == ["useDefaultAlerts"]


def test_normalize_rfc8984_names() -> None:
    old = {
        "@type": "Event",
        "start": "2026-01-01T10:00:00",
        "recurrenceRules": [{"@type": "RecurrenceRule", "frequency": "weekly"}],
        "excludedRecurrenceRules": [],
        "replyTo": {"imip": "mailto:org@example.com"},
        "participants": {
            "p": {"sendTo": {"imip": "mailto:att@example.com"}, "scheduleAgent": "server"}
        },
        "recurrenceOverrides": {
            "2026-01-08T10:00:00": {"participants/p/sendTo": {"imip": "mailto:x@example.com"}}
        },
    }
    new = normalize_event(old)
    assert new == {
        "@type": "Event",
        "start": "2026-01-01T10:00:00",
        "recurrenceRule": {"@type": "RecurrenceRule", "frequency": "weekly"},
        "organizerCalendarAddress": "mailto:org@example.com",
        "participants": {"p": {"calendarAddress": "mailto:att@example.com"}},
        "recurrenceOverrides": {
            "2026-01-08T10:00:00": {"participants/p/calendarAddress": "mailto:x@example.com"}
        },
    }
    assert validate_event(new) == []
    assert "recurrenceRules" in old  # input untouched
    # Ambiguous: two rules, or two non-imip addresses, stay and are invalid.
    two = normalize_event({"start": "2026-01-01T10:00:00", "recurrenceRules": [{"frequency": "daily"}, {"frequency": "weekly"}],
                           "replyTo": {"web": "https://a", "other": "https://b"}})  # fmt: skip
    assert sorted(validate_event(two)) == ["recurrenceRules", "replyTo"]


def test_limits() -> None:
    parts = {f"p{i}": {"name": "x"} for i in range(11)}
    with pytest.raises(LimitExceeded) as exc:
        normalize_event(
            {"start": "2026-01-01T10:00:00", "participants": parts}, Limits(max_participants=10)
        )
    assert exc.value.path == "participants"
    ov = {f"2026-01-{d:02d}T10:00:00": {} for d in range(1, 12)}
    with pytest.raises(LimitExceeded) as exc:
        normalize_event(
            {"start": "2026-01-01T10:00:00", "recurrenceOverrides": ov}, Limits(max_overrides=10)
        )
    assert exc.value.path == "recurrenceOverrides"
    with pytest.raises(LimitExceeded):
        normalize_event(
            {"start": "2026-01-01T10:00:00", "description": "x" * 2000}, Limits(max_size=1000)
        )
    assert normalize_event(
        {"start": "2026-01-01T10:00:00", "description": "x" * 500}, Limits(max_size=1000)
    )


def test_dates_outside_the_supported_range() -> None:
    assert validate_event({"start": "9999-12-31T23:00:00", "timeZone": "Pacific/Kiritimati"}) == [
        "start"
    ]
    assert validate_event({"start": "0001-01-01T00:00:00"}) == ["start"]
    assert validate_event({"start": "2026-01-01T00:00:00", "duration": "P99999999D"}) == [
        "duration"
    ]
    assert validate_event(
        {"start": "2026-01-01T00:00:00", "recurrenceOverrides": {"9999-12-31T00:00:00": {}}}
    ) == ["recurrenceOverrides/9999-12-31T00:00:00"]
    assert (
        validate_event({"start": "9999-12-28T00:00:00", "recurrenceRule": {"frequency": "daily"}})
        == []
    )


def test_override_patches_are_checked_on_the_instance_they_produce() -> None:
    base = {
        "start": "2026-01-01T10:00:00",
        "timeZone": "Europe/Berlin",
        "recurrenceRule": {"frequency": "weekly"},
        "participants": {"p1": {"name": "A", "roles": {"attendee": True}}},
    }
    ok = dict(
        base,
        recurrenceOverrides={
            "2026-01-08T10:00:00": {"participants/p1/participationStatus": "declined"}
        },
    )
    assert validate_event(ok) == []
    bad = dict(
        base,
        recurrenceOverrides={
            "2026-01-08T10:00:00": {"participants/p1/roles": {"boss": True}},
            "2026-01-15T10:00:00": {"participants/p2/name": "nobody"},  # p2 does not exist
            "2026-01-22T10:00:00": {"start": None},  # start is mandatory
            "2026-01-29T10:00:00": {"participants/p1/expectReply": "yes"},
        },
    )
    assert sorted(validate_event(bad)) == [
        "recurrenceOverrides/2026-01-08T10:00:00/participants/p1/roles",
        "recurrenceOverrides/2026-01-15T10:00:00",
        "recurrenceOverrides/2026-01-22T10:00:00/start",
        "recurrenceOverrides/2026-01-29T10:00:00/participants/p1/expectReply",
    ]
