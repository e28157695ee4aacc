"""CalendarEvent/query conditions and sort keys over whole events.

Each text condition matches the master or any override's value (draft
§5.9 without expandRecurrences: conditions may match different
instances); matching is a case-insensitive substring of every
whitespace-separated token — no phrase search or stemming yet.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from typing import Any


def _versions(event: dict[str, Any], prop: str) -> Iterator[Any]:
    yield event.get(prop)
    for patch in (event.get("recurrenceOverrides") or {}).values():
        if isinstance(patch, dict) and prop in patch:
            yield patch[prop]


def _tokens_in(haystack: str, needle: str) -> bool:
    low = haystack.lower()
    return all(tok in low for tok in needle.lower().split())


def _location_text(locations: Any) -> str:
    if not isinstance(locations, dict):
        return ""
    return " ".join(f"{loc.get('name') or ''} {loc.get('description') or ''}" for loc in locations.values()
                    if isinstance(loc, dict))


def _participant_text(participants: Any, role: str | None) -> str:
    if not isinstance(participants, dict):
        return ""
    out = []
    for p in participants.values():
        if not isinstance(p, dict) or (role is not None and role not in (p.get("roles") or {})):
            continue
        out.append(f"{p.get('name') or ''} {p.get('email') or ''} {p.get('calendarAddress') or ''}")
    return " ".join(out)


def _text_of(prop: str, render: Callable[[Any], str]) -> Callable[[dict[str, Any], str], bool]:
    return lambda event, value: any(_tokens_in(render(v), value) for v in _versions(event, prop))


def _as_text(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _any_text(event: dict[str, Any], value: str) -> bool:
    parts = [
        *(_as_text(v) for v in _versions(event, "title")),
        *(_as_text(v) for v in _versions(event, "description")),
        *(_location_text(v) for v in _versions(event, "locations")),
        *(_participant_text(v, None) for v in _versions(event, "participants")),
        *(" ".join(k for k in (v or {}) if isinstance(k, str)) for v in _versions(event, "keywords")),
    ]
    return _tokens_in(" ".join(parts), value)


PREDICATES: dict[str, Callable[[dict[str, Any], Any], bool]] = {
    "inCalendar": lambda event, value: value in (event.get("calendarIds") or {}),
    "uid": lambda event, value: event.get("uid") == value,
    "title": _text_of("title", _as_text),
    "description": _text_of("description", _as_text),
    "location": _text_of("locations", _location_text),
    "owner": _text_of("participants", lambda v: _participant_text(v, "owner")),
    "attendee": _text_of("participants", lambda v: _participant_text(v, "attendee")),
    "text": _any_text,
}
FILTERS = dict.fromkeys(PREDICATES, "String") | {"inCalendar": "Id"}


def start_key(event: dict[str, Any]) -> str:
    """UTC start of the first occurrence, as sortable text ("" when it cannot be computed)."""
    from .domain.recurrence import series_range

    try:
        first, _ = series_range(event)
    except (ValueError, KeyError, TypeError):
        return ""
    return first.strftime("%Y-%m-%dT%H:%M:%S")


_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def is_local_datetime(value: Any) -> bool:
    if not isinstance(value, str) or not _LOCAL.match(value):
        return False
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def resolve_window(node: Any, zone: datetime.tzinfo) -> Any:
    """The filter with ``after``/``before`` LocalDateTimes made aware in the query's time zone."""
    if not isinstance(node, dict):
        return node
    if "operator" in node:
        return {**node, "conditions": [resolve_window(c, zone) for c in node["conditions"]]}
    out = dict(node)
    for name in ("after", "before"):
        if name in out:
            out[name] = datetime.datetime.fromisoformat(out[name]).replace(tzinfo=zone)
    return out


def overlaps(event: dict[str, Any], after: datetime.datetime | None, before: datetime.datetime | None,
             series_of: Callable[[str], Any] | None = None) -> bool:
    """Whether any occurrence ends after ``after`` and any (maybe another)
    starts before ``before`` — each condition on its own, as the draft has
    them without expandRecurrences; floating times (and so all-day events)
    are read in the query's time zone. A condition with both bounds parses
    the event once (or not at all: ``series_of(floating zone)`` gives it parsed)."""
    from .domain.recurrence import event_times, reaches

    bound = after or before
    floating = str(bound.tzinfo) if bound is not None and bound.tzinfo is not None else "UTC"
    if not event.get("recurrenceRule") and not event.get("recurrenceOverrides") and not event.get("recurrenceRules"):
        # one occurrence: its own times, without the expansion machinery
        try:
            start, end = event_times(event, floating)
        except (ValueError, KeyError, TypeError, OverflowError):
            return False
        return (after is None or end > after) and (before is None or start < before)
    try:
        return reaches(event, after, before, floating, series=series_of(floating) if series_of else None)
    except (ValueError, KeyError, TypeError):
        return False


PREDICATES["after"] = lambda event, value: overlaps(event, value, None)
PREDICATES["before"] = lambda event, value: overlaps(event, None, value)
FILTERS["after"] = FILTERS["before"] = "LocalDateTime"
