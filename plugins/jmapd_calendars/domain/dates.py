"""JSCalendar date-time and duration values (LocalDateTime, UTCDateTime, Duration, SignedDuration).

Shared by validation, expansion and the iCalendar mapping so that one
parser decides what a valid value is.

Public API:

- :data:`LOCAL_RE`, :data:`UTC_RE`, :data:`DURATION_RE`
- :func:`parse_local` / :func:`format_local` — LocalDateTime ⇄ naive ``datetime``.
- :func:`parse_utc` / :func:`format_utc` — UTCDateTime ⇄ aware UTC ``datetime``.
- :func:`parse_duration` — Duration/SignedDuration → ``(days, seconds)`` (nominal days, exact seconds).
- :func:`format_duration` — the inverse.
- :func:`local_to_utc` — LocalDateTime semantics (offset before a discontinuity).
- :func:`add_duration` — JSCalendar's "add a duration to a LocalDateTime" (days nominal, time exact).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

LOCAL_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DURATION_RE = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)

# Python's datetime covers years 1..9999; JSCalendar's four-digit years fit.
MIN_YEAR = 1
MAX_YEAR = 9999


def parse_local(value: str) -> datetime:
    """A LocalDateTime as a naive datetime; ``ValueError`` if malformed."""
    if not isinstance(value, str) or not LOCAL_RE.match(value):
        raise ValueError(f"not a LocalDateTime: {value!r}")
    return datetime.fromisoformat(value)


def format_local(value: datetime) -> str:
    """A naive (or aware, offset dropped) datetime as a LocalDateTime."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )


def parse_utc(value: str) -> datetime:
    """A UTCDateTime as an aware UTC datetime; ``ValueError`` if malformed."""
    if not isinstance(value, str) or not UTC_RE.match(value):
        raise ValueError(f"not a UTCDateTime: {value!r}")
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)


def format_utc(value: datetime) -> str:
    """An aware datetime as a UTCDateTime (seconds precision)."""
    return format_local(value.astimezone(UTC)) + "Z"


def parse_duration(value: str, *, signed: bool = False) -> tuple[int, int]:
    """A Duration (or SignedDuration) as ``(days, seconds)``.

    Days stay separate because they are nominal: a day across a DST change
    is 23 or 25 hours, so they are added to the local date, not the instant.
    """
    if not isinstance(value, str):
        raise ValueError("not a Duration")
    sign = 1
    text = value
    if signed and text[:1] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    m = DURATION_RE.match(text)
    if not m or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not a Duration: {value!r}")
    w, d, h, mi, se = (int(x) if x is not None else None for x in m.groups())
    if h is not None and se is not None and mi is None:
        # The ABNF has no dur-hour followed directly by dur-second.
        raise ValueError(f"not a Duration: {value!r}")
    days = (w or 0) * 7 + (d or 0)
    seconds = (h or 0) * 3600 + (mi or 0) * 60 + (se or 0)
    return sign * days, sign * seconds


def format_duration(days: int, seconds: int, *, signed: bool = False) -> str:
    """``(days, seconds)`` as a Duration; a negative total gets "-" when ``signed``."""
    neg = days < 0 or seconds < 0
    days, seconds = abs(days), abs(seconds)
    out = "P"
    if days:
        out += f"{days // 7}W" if days % 7 == 0 and not seconds else f"{days}D"
    if seconds or not days:
        h, rest = divmod(seconds, 3600)
        m, s = divmod(rest, 60)
        out += "T"
        if h:
            out += f"{h}H"
        if m:
            out += f"{m}M"
        if s or (not h and not m):
            out += f"{s}S"
    return ("-" if neg and signed else "") + out


def local_to_utc(local: datetime, zone: tzinfo | None) -> datetime:
    """The UTC instant of a naive local time in ``zone`` (``None`` = UTC).

    ``fold=0`` makes zoneinfo use the offset before a transition for both
    gaps and repeated hours, which is what JSCalendar's LocalDateTime requires.
    """
    if zone is None:
        return local.replace(tzinfo=UTC)
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def add_duration(local: datetime, zone: tzinfo | None, days: int, seconds: int) -> datetime:
    """The UTC instant of ``local`` plus a duration, days nominal and time exact."""
    if days:
        local = local + timedelta(days=days)
    return local_to_utc(local, zone) + timedelta(seconds=seconds)
