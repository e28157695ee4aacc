"""CalendarEvent/query with ``expandRecurrences`` (draft §5.9).

The filter is one FilterCondition with ``after`` and ``before``; every
occurrence overlapping the window is an instance, and all the other
conditions must match that same instance (an override's title, not the
master's). Floating events (no ``timeZone``, which is how all-day events
with ``showWithoutTime`` are stored) are placed in the query's
``timeZone``, as the draft says of after/before.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from jmapd.methods.collation import sort_key
from jmapd.protocol.errors import MethodError

from .domain.dates import parse_duration
from .domain.recurrence import ExpansionTooLarge, expand_series
from .event_query import PREDICATES
from .instances import instance_id
from .parsed import Parsed

#: Occurrences one query may produce before it is refused (cannotCalculateOccurrences).
MAX_INSTANCES = 100_000


def check_expand(args: dict[str, Any], max_duration: str) -> None:
    """The draft's preconditions: a single condition with both bounds, a
    window no longer than maxExpandedQueryDuration."""
    if not args.get("expandRecurrences"):
        return
    if not isinstance(args["expandRecurrences"], bool):
        raise MethodError("invalidArguments", "expandRecurrences must be a boolean")
    node = args.get("filter")
    if not isinstance(node, dict) or "operator" in node or "after" not in node or "before" not in node:
        raise MethodError("invalidArguments",
                          "expandRecurrences needs a FilterCondition with both after and before")
    after = datetime.datetime.fromisoformat(node["after"])
    before = datetime.datetime.fromisoformat(node["before"])
    days, seconds = parse_duration(max_duration)
    if before - after > datetime.timedelta(days=days, seconds=seconds):
        raise MethodError("expandDurationTooLarge",
                          f"the window is longer than maxExpandedQueryDuration {max_duration}")


def expanded_ids(events: list[Parsed], node: dict[str, Any], zone_name: str,
                 sort: list[dict[str, Any]], fixed: Sequence[tuple[str, datetime.datetime]] = ()) -> list[str]:
    """Ids of every matching occurrence in ``sort`` order; a non-recurring
    event keeps its own id. ``fixed`` are (id, UTC start) of single
    occurrences already known to match (exact index rows, when nothing but
    the window is asked)."""
    after, before = node["after"], node["before"]
    others = {k: v for k, v in node.items() if k not in ("after", "before")}
    rows: list[tuple[str, dict[str, Any], datetime.datetime, str | None]] = [
        (object_id, {}, start, None) for object_id, start in fixed]
    for parsed in events:
        event = parsed.event
        try:
            series = parsed.series(zone_name)
            occurrences = expand_series(series, after, before, max_instances=MAX_INSTANCES)
        except ExpansionTooLarge:
            raise MethodError("cannotCalculateOccurrences", f"event {event['id']} has too many occurrences") from None
        except (ValueError, KeyError, TypeError):
            continue
        parsed.learn(series, occurrences)
        recurring = bool(event.get("recurrenceRule") or event.get("recurrenceOverrides"))
        for occ in occurrences:
            inst = occ.event if others else event
            if others:
                inst = {**inst, "calendarIds": event.get("calendarIds")}
            if not all(PREDICATES[name](inst, value) for name, value in others.items()):
                continue
            rid = occ.recurrence_id if recurring else None
            oid = instance_id(event["id"], rid) if rid is not None else event["id"]
            rows.append((oid, event, occ.start, rid))

    def value(row: tuple[str, dict[str, Any], datetime.datetime, str | None], prop: str) -> Any:
        if prop == "start":
            # the UTC start to the second, as the LocalDateTime text would sort
            return row[2].replace(microsecond=0)
        if prop == "recurrenceId":
            return row[3] or ""
        return row[1].get(prop)

    rows.sort(key=lambda r: (r[2], r[0]))
    for comparator in reversed(sort):
        prop, collation = comparator["property"], comparator.get("collation")

        def by(row: tuple[str, dict[str, Any], datetime.datetime, str | None],
               prop: str = prop, collation: Any = collation) -> Any:
            found = value(row, prop)
            return found if prop == "start" else sort_key(found, collation)

        rows.sort(key=by, reverse=not comparator.get("isAscending", True))
    return [r[0] for r in rows]
