"""Recurring events parsed once per worker, keyed by their stored text.

A month's ``CalendarEvent/query`` with expandRecurrences and the /get of
its instances parse the same few hundred series in every request: decode
the document, read its zone, duration and rule, then walk the rule again
for each instance id the /get names to prove it is an occurrence. Keyed by
the document's text, a cached parse can never be stale: an edited event is
different text and a different entry (the old one ages out). Values are
shared between requests and threads, so nothing here is mutated once
built except the add-only ``occurrences`` memo.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import orjson

from .domain.recurrence import Occurrence, Series, override_of, parse_series

#: Entries kept per worker (a few KB each: the decoded event and its rule).
KEPT = 1024


class Parsed:
    """One stored event: ``event`` (decoded, with its id; read-only), its
    :class:`Series` per floating time zone, and the recurrence ids known
    to be occurrences with their override patch."""

    __slots__ = ("event", "_series", "occurrences")

    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event
        self._series: dict[str, Series] = {}
        self.occurrences: dict[str, dict[str, Any]] = {}

    def series(self, floating_tz: str) -> Series:
        """:raises ValueError: see :func:`parse_series`."""
        found = self._series.get(floating_tz)
        if found is None:
            found = self._series[floating_tz] = parse_series(self.event, floating_tz)
        return found

    def learn(self, series: Series, found: list[Occurrence]) -> None:
        """Remember that these expanded occurrences exist (a /get of their ids skips the lookup)."""
        for occ in found:
            if occ.recurrence_id is not None:
                self.occurrences[occ.recurrence_id] = override_of(series, occ.recurrence_id)


_CACHE: OrderedDict[tuple[str, str], Parsed] = OrderedDict()
_LOCK = threading.Lock()


def parsed(object_id: str, raw: Any) -> Parsed:
    """The :class:`Parsed` of a document read as text (``raw``); anything
    else (an already decoded dict) is parsed afresh and not kept."""
    if not isinstance(raw, str):
        event = dict(orjson.loads(raw) if isinstance(raw, bytes) else raw)
        event["id"] = object_id
        return Parsed(event)
    key = (object_id, raw)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    event = orjson.loads(raw)
    event["id"] = object_id
    entry = Parsed(event)
    with _LOCK:
        _CACHE[key] = entry
        while len(_CACHE) > KEPT:
            _CACHE.popitem(last=False)
    return entry


def fresh(event: dict[str, Any]) -> Parsed:
    """A :class:`Parsed` of an event not read as text (not kept)."""
    return Parsed(event)
