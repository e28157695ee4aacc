"""Time zone ids: IANA, Windows names, vendor prefixes, VTIMEZONE definitions matched by offsets."""

from __future__ import annotations

import zoneinfo

import icalendar
import pytest
from jmapd_calendars.domain.timezones import (
    WINDOWS_ZONES,
    get_zone,
    is_known_zone,
    match_offsets,
    resolve_tzid,
)


def test_every_windows_name_maps_to_a_zone_zoneinfo_has() -> None:
    missing = [w for w, iana in WINDOWS_ZONES.items() if get_zone(iana) is None]
    assert missing == []


@pytest.mark.parametrize(
    ("tzid", "expected"),
    [
        ("Europe/Paris", "Europe/Paris"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("pacific standard time", "America/Los_Angeles"),
        ('"Eastern Standard Time"', "America/New_York"),
        ("/mozilla.org/20050126_1/America/New_York", "America/New_York"),
        ("/softwarestudio.org/Olson_20011030_5/Europe/London", "Europe/London"),
        ("Nowhere/Atlantis", None),
        ("", None),
    ],
)
def test_resolve_tzid(tzid: str, expected: str | None) -> None:
    assert resolve_tzid(tzid) == expected


def test_unsafe_or_unknown_ids_are_not_zones() -> None:
    for bad in ("../../etc/passwd", "/etc/localtime", "Mars/Olympus", None, 5, "Europe/"):
        assert not is_known_zone(bad)
    assert is_known_zone("Etc/UTC") and is_known_zone("America/Argentina/Buenos_Aires")


def _vtimezone(std_offset: str, dst_offset: str | None) -> zoneinfo.ZoneInfo:
    # icalendar caches zones by TZID: each definition gets its own name here.
    text = f"BEGIN:VTIMEZONE\r\nTZID:Custom{std_offset}{dst_offset}\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    if dst_offset:
        text += f"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:{dst_offset}\r\n"
    else:
        text += f"TZOFFSETFROM:{std_offset}\r\n"
    text += f"TZOFFSETTO:{std_offset}\r\nEND:STANDARD\r\n"
    if dst_offset:
        text += (
            f"BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
            f"TZOFFSETFROM:{std_offset}\r\nTZOFFSETTO:{dst_offset}\r\nEND:DAYLIGHT\r\n"
        )
    text += "END:VTIMEZONE\r\n"
    return icalendar.Timezone.from_ical(text).to_tz()


def test_custom_definitions_match_the_zone_with_the_same_offsets() -> None:
    # EU rules at +01/+02: a central European zone; the canonical one first.
    assert match_offsets(_vtimezone("+0100", "+0200"), 2026) == "Europe/Berlin"
    assert match_offsets(_vtimezone("+0000", "+0100"), 2026) == "Europe/London"
    # No DST at +09: Tokyo is the canonical one.
    assert match_offsets(_vtimezone("+0900", None), 2026) == "Asia/Tokyo"
    # An offset no zone has.
    assert match_offsets(_vtimezone("+0317", None), 2026) is None
    assert resolve_tzid("My Own Zone", _vtimezone("+0100", "+0200")) == "Europe/Berlin"


def test_two_files_with_the_same_custom_tzid_do_not_share_a_definition() -> None:
    from jmapd_calendars.domain.ical import parse_ics

    def ics(std: str, dst: str) -> bytes:
        tz = (
            "BEGIN:VTIMEZONE\r\nTZID:Office\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
            f"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:{dst}\r\nTZOFFSETTO:{std}\r\nEND:STANDARD\r\n"
            "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
            f"TZOFFSETFROM:{std}\r\nTZOFFSETTO:{dst}\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
        )
        ev = "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Office:20260105T090000\r\nEND:VEVENT\r\n"
        return f"BEGIN:VCALENDAR\r\n{tz}{ev}END:VCALENDAR\r\n".encode()

    assert parse_ics(ics("+0100", "+0200")).events[0]["timeZone"] == "Europe/Berlin"
    assert parse_ics(ics("+0000", "+0100")).events[0]["timeZone"] == "Europe/London"
