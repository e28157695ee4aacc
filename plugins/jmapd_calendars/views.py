"""What CalendarEvent/get's extra arguments do to an event (draft §5.7),
and ``utcStart``/``utcEnd`` on /set (draft §5.1).

- ``utcStart``/``utcEnd`` are computed at fetch time from start, timeZone
  and duration (floating events in the ``timeZone`` argument), only when
  asked for: time zone data changes are not updates of the event.
- ``recurrenceOverridesBefore``/``After`` keep the overrides whose
  recurrence id, in UTC, falls in the range.
- ``reduceParticipants`` keeps owners and the user's own participants, in
  the base event and in override patches.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from jmapd.protocol.errors import invalid_properties

from .domain.dates import (
    format_duration,
    format_local,
    format_utc,
    local_to_utc,
    parse_local,
    parse_utc,
)
from .domain.timezones import get_zone
from .identity import normalize_address

UTC_TIMES = ("utcStart", "utcEnd")


def _zone_of(obj: dict[str, Any], floating: str) -> Any:
    return get_zone(obj.get("timeZone") or floating)


def utc_times(obj: dict[str, Any], floating: str) -> tuple[str | None, str | None]:
    """(utcStart, utcEnd) of an event as written (an instance: that occurrence)."""
    from .domain.recurrence import event_times

    if not obj.get("start"):
        return None, None
    try:
        start, end = event_times(obj, floating_tz=floating)
    except ValueError:
        return None, None
    return format_utc(start), format_utc(end)


def shape(obj: dict[str, Any], properties: list[str], args: dict[str, Any], own: set[str]) -> None:
    """Apply /get's extra arguments to one loaded event, in place."""
    floating = args.get("timeZone") or "Etc/UTC"
    if any(p in properties for p in UTC_TIMES):
        obj["utcStart"], obj["utcEnd"] = utc_times(obj, floating)
    before, after = args.get("recurrenceOverridesBefore"), args.get("recurrenceOverridesAfter")
    overrides = obj.get("recurrenceOverrides")
    if (before or after) and isinstance(overrides, dict):
        zone = _zone_of(obj, floating)

        def keep(rid: str) -> bool:
            try:
                when = format_utc(local_to_utc(parse_local(rid), zone))
            except ValueError:
                return True
            return (before is None or when < before) and (after is None or when >= after)

        obj["recurrenceOverrides"] = {r: p for r, p in overrides.items() if keep(r)} or None
    if args.get("reduceParticipants"):
        _reduce(obj, own)


def _kept(pid: str, p: Any, own: set[str]) -> bool:
    if not isinstance(p, dict):
        return False
    return bool((p.get("roles") or {}).get("owner")) or normalize_address(p.get("calendarAddress")) in own


def _reduce(obj: dict[str, Any], own: set[str]) -> None:
    parts = obj.get("participants")
    dropped: set[str] = set()
    if isinstance(parts, dict):
        dropped = {pid for pid, p in parts.items() if not _kept(pid, p, own)}
        obj["participants"] = {pid: p for pid, p in parts.items() if pid not in dropped} or None
    overrides = obj.get("recurrenceOverrides")
    if not isinstance(overrides, dict):
        return
    reduced = {}
    for rid, patch in overrides.items():
        if not isinstance(patch, dict):
            reduced[rid] = patch
            continue
        out = {}
        for key, value in patch.items():
            head = key.split("/")
            if head[0] == "participants" and len(head) > 1 and head[1] in dropped:
                continue
            if key == "participants" and isinstance(value, dict):
                value = {pid: p for pid, p in value.items() if _kept(pid, p, own)}
            out[key] = value
        reduced[rid] = out
    obj["recurrenceOverrides"] = reduced


def apply_utc_times(event: dict[str, Any], old: dict[str, Any] | None,
                    calendar_zones: Callable[[], list[str | None]]) -> dict[str, Any]:
    """Translate ``utcStart``/``utcEnd`` in a /set object into start, duration
    (and timeZone when the event has none); returns what the server set.

    :raises SetError: ``invalidProperties`` for utcStart with start, utcEnd
        with duration, either in recurrenceOverrides, or a bad value.
    """
    for rid, patch in (event.get("recurrenceOverrides") or {}).items():
        for name in UTC_TIMES:
            if isinstance(patch, dict) and name in patch:
                raise invalid_properties(f"recurrenceOverrides/{rid}/{name}",
                                         description=f"{name} cannot be set in recurrenceOverrides")
    values = {k: event.pop(k) for k in UTC_TIMES if k in event}
    values = {k: v for k, v in values.items() if v is not None}
    if not values:
        return {}
    for name, other in (("utcStart", "start"), ("utcEnd", "duration")):
        given = event.get(other) is not None if old is None else event.get(other) != old.get(other)
        if name in values and given:
            raise invalid_properties(name, other, description=f"{name} and {other} cannot both be set")
    parsed = {}
    for name, value in values.items():
        try:
            parsed[name] = parse_utc(value)
        except (TypeError, ValueError):
            raise invalid_properties(name, description="expected a UTCDateTime") from None
    reported: dict[str, Any] = {}
    if not event.get("timeZone"):
        zones = set(calendar_zones())
        event["timeZone"] = reported["timeZone"] = zones.pop() if len(zones) == 1 and None not in zones else "Etc/UTC"
    zone = get_zone(event["timeZone"]) or datetime.UTC  # an unknown zone is refused by the validator next
    if "utcStart" in parsed:
        event["start"] = reported["start"] = format_local(parsed["utcStart"].astimezone(zone).replace(tzinfo=None))
    start = local_to_utc(parse_local(event["start"]), zone)
    if "utcEnd" in parsed:
        seconds = int((parsed["utcEnd"] - start).total_seconds())
        if seconds < 0:
            raise invalid_properties("utcEnd", description="utcEnd is before the start")
        event["duration"] = reported["duration"] = format_duration(0, seconds)
    return reported
