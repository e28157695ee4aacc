"""Date parts of RFC 5260 §4.2 and the ``:zone`` rules of §4.1."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime

_WEEKDAY = ("1", "2", "3", "4", "5", "6", "0")  # Python Monday=0; Sieve Sunday=0


def parse_header_date(value: str) -> datetime | None:
    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


def parse_zone(zone: str) -> timezone | None:
    m = re.fullmatch(r"([+-])([0-9]{2})([0-9]{2})", zone)
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    if minutes >= 24 * 60:
        return None
    return timezone(timedelta(minutes=minutes if m.group(1) == "+" else -minutes))


def _zone_text(dt: datetime) -> str:
    off = dt.utcoffset() or timedelta(0)
    total = int(off.total_seconds() // 60)
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{sign}{total // 60:02d}{total % 60:02d}"


def date_part(dt: datetime, part: str) -> str:
    part = part.lower()
    if part == "year":
        return f"{dt.year:04d}"
    if part == "month":
        return f"{dt.month:02d}"
    if part == "day":
        return f"{dt.day:02d}"
    if part == "date":
        return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"
    if part == "julian":
        return str((dt.date() - datetime(1858, 11, 17).date()).days)
    if part == "hour":
        return f"{dt.hour:02d}"
    if part == "minute":
        return f"{dt.minute:02d}"
    if part == "second":
        return f"{dt.second:02d}"
    if part == "time":
        return f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    if part == "iso8601":
        z = _zone_text(dt)
        return dt.strftime("%Y-%m-%dT%H:%M:%S") + z[:3] + ":" + z[3:]
    if part == "std11":
        return format_datetime(dt)
    if part == "zone":
        return _zone_text(dt)
    return _WEEKDAY[dt.weekday()]
