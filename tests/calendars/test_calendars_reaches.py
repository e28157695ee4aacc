"""reaches() answers a window from one in-window occurrence when it finds
one; its answer must be that of the two one-sided walks it used to make."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from jmapd_calendars.domain.recurrence import ExpansionTooLarge, expand, reaches

EVENTS = [
    {"start": "2025-03-03T09:00:00", "timeZone": "America/New_York", "duration": "PT45M",
     "recurrenceRule": {"frequency": "weekly"}},
    {"start": "2025-03-01T23:30:00", "timeZone": "Europe/Berlin", "duration": "PT1H",
     "recurrenceRule": {"frequency": "daily", "count": 30},
     "recurrenceOverrides": {"2025-03-10T23:30:00": {"excluded": True},
                             "2025-03-12T23:30:00": {"start": "2025-05-01T10:00:00"}}},
    {"start": "2025-03-05T10:00:00", "duration": "P1D", "recurrenceRule": {"frequency": "weekly", "count": 3}},
    {"start": "2025-03-04T08:00:00", "timeZone": "Asia/Tokyo",
     "recurrenceOverrides": {"2025-03-20T08:00:00": {}}},
]


def _one_sided(event: dict, after: datetime | None, before: datetime | None, tz: str) -> bool:
    try:
        return bool(list(expand(event, after, before, max_instances=1, floating_tz=tz)))
    except ExpansionTooLarge:
        return True


@pytest.mark.parametrize("event", EVENTS)
@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York"])
def test_reaches_agrees_with_both_walks(event: dict, tz: str) -> None:
    zone = ZoneInfo(tz)
    for day in range(0, 70):
        for hours in (1, 24, 24 * 7):
            after = datetime(2025, 2, 25, tzinfo=zone) + timedelta(hours=12 * day)
            before = after + timedelta(hours=hours)
            want = _one_sided(event, after, None, tz) and _one_sided(event, None, before, tz)
            assert reaches(event, after, before, tz) == want, (event["start"], after, before)
