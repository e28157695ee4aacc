"""Occurrences of JSCalendar 2.0 events: expansion, single instances, index ranges, splits.

The JMAP layer needs three things from a recurring event: the instances in a
time window (``CalendarEvent/query`` with ``expandRecurrences``), one
instance by recurrence id (``/get`` and ``/set`` of an instance id), and a
cheap UTC range to index so that a window query only expands the events
that can overlap it. Everything here is pure: plain dicts in, plain dicts out.

Public API:

- :class:`Occurrence` — ``recurrence_id`` (LocalDateTime, ``None`` for a
  non-recurring event), ``start``/``end`` (aware UTC), ``event`` (the
  instance as a standalone dict: overrides applied, ``recurrenceId`` and
  ``recurrenceIdTimeZone`` set, recurrence properties removed).
- :func:`expand` — occurrences overlapping ``[after, before)`` sorted by
  start; raises :class:`ExpansionTooLarge` past ``max_instances``.
- :func:`get_occurrence` — one instance by recurrence id, ``None`` if the
  id is no occurrence (or an excluded one).
- :func:`get_occurrences` — several instances of one event at once.
- :func:`parse_series`, :func:`expand_series`, :func:`override_of` — the same
  with the event parsed once and kept (a query, then a /get of its instances).
- :func:`reaches` — the query's separate after/before conditions at once.
- :func:`is_occurrence` — whether a recurrence id is an (unexcluded) occurrence.
- :func:`series_range` — ``(first start, last end or None)`` in UTC for an index.
- :func:`out_of_range` — the paths of dates outside a server's supported range.
- :func:`split_series` — a "this and future" split at a recurrence id.
- :func:`apply_patch` — a JSCalendar PatchObject applied to a copy.
- :func:`event_times` — UTC start and end of a (non-expanded) event dict.
- :class:`ExpansionTooLarge`, :class:`PatchError`.

Time semantics: LocalDateTimes are in the event's ``timeZone``; a missing
``timeZone`` (floating, typical for ``showWithoutTime`` events) uses
``floating_tz``. Overlap follows JMAP Calendars' filter: an occurrence is in
the window if its end is after ``after`` and its start is before ``before``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import orjson

from .dates import format_local, local_to_utc, parse_duration, parse_local
from .rrule import Rule, RuleError, TooMuchWork, bounded, count_before, iter_rule
from .timezones import get_zone

# Properties an instance never carries and a patch may never touch
# (JSCalendar 2.0, recurrenceOverrides).
RECURRENCE_PROPS = (
    "recurrenceRule",
    "recurrenceOverrides",
    "recurrenceRules",
    "excludedRecurrenceRules",
)
IGNORED_PATCH_KEYS = frozenset(
    {
        "@type",
        "method",
        "organizerCalendarAddress",
        "privacy",
        "prodId",
        "recurrenceId",
        "recurrenceIdTimeZone",
        "sentBy",
        "uid",
    }
)
IGNORED_PATCH_ROOTS = frozenset({"recurrenceOverrides", "recurrenceRule", "relatedTo"})

# Work allowed before the window is reached (count rules cannot skip ahead).
DEFAULT_WORK_BUDGET = 500_000
# series_range enumerates finite rules up to this many occurrences exactly.
RANGE_EXACT_LIMIT = 5000


class ExpansionTooLarge(Exception):
    """More instances than allowed (JMAP: expandDurationTooLarge / tooLarge)."""


class PatchError(ValueError):
    """A PatchObject that cannot be applied (a missing parent, a bad pointer)."""


class Occurrence:
    """One instance; ``event`` is built on first access.

    A window query needs only ids and times for most instances (the JMAP
    layer answers ``/query`` from them), so the standalone instance dict —
    a deep copy with the override patch applied — is not paid for until
    someone reads it.
    """

    __slots__ = ("recurrence_id", "start", "end", "_event", "_master", "_patch")

    def __init__(
        self,
        recurrence_id: str | None,
        start: datetime,
        end: datetime,
        event: dict[str, Any] | None = None,
        *,
        master: dict[str, Any] | None = None,
        patch: dict[str, Any] | None = None,
    ) -> None:
        self.recurrence_id = recurrence_id
        self.start = start
        self.end = end
        self._event = event
        self._master = master
        self._patch = patch

    @property
    def event(self) -> dict[str, Any]:
        if self._event is None:
            assert self._master is not None
            if self.recurrence_id is None:
                self._event = _copy(self._master)
            else:
                self._event = _instance(self._master, self.recurrence_id, self._patch)
            self._master = self._patch = None
        return self._event

    def __repr__(self) -> str:
        return (
            f"Occurrence({self.recurrence_id!r}, {self.start.isoformat()}, {self.end.isoformat()})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Occurrence):
            return NotImplemented
        return (self.recurrence_id, self.start, self.end, self.event) == (
            other.recurrence_id,
            other.start,
            other.end,
            other.event,
        )


def _copy(obj: Any) -> Any:
    # orjson round-trips plain JSON data several times faster than deepcopy.
    return orjson.loads(orjson.dumps(obj))


def _zone(event: dict[str, Any], floating_tz: str | None) -> tzinfo | None:
    tz = event.get("timeZone")
    if tz:
        zone = get_zone(tz)
        if zone is None:
            raise ValueError(f"unknown time zone {tz!r}")
        return zone
    return get_zone(floating_tz) if floating_tz and floating_tz != "UTC" else None


def _duration(event: dict[str, Any]) -> tuple[int, int]:
    d = event.get("duration")
    if not d:
        return 0, 0
    return parse_duration(d)


def event_times(event: dict[str, Any], floating_tz: str = "UTC") -> tuple[datetime, datetime]:
    """UTC start and end of one event dict as written (no expansion)."""
    zone = _zone(event, floating_tz)
    local = parse_local(event["start"])
    days, secs = _duration(event)
    start = local_to_utc(local, zone)
    end = (
        local_to_utc(local + timedelta(days=days), zone) + timedelta(seconds=secs)
        if (days or secs)
        else start
    )
    return start, end


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def apply_patch(obj: dict[str, Any], patch: dict[str, Any], *, ignore_protected: bool = True) -> dict[str, Any]:
    """A copy of ``obj`` with a PatchObject applied (copy-on-write, ``obj`` untouched).

    :raises PatchError: when a pointer's parent does not exist, one pointer is
        a prefix of another, or an array index is invalid — the whole patch is
        rejected, never half applied.
    """
    keys = sorted(patch)
    for a, b in zip(keys, keys[1:], strict=False):
        if b.startswith(a + "/"):
            raise PatchError(f"{a} is a prefix of {b}")
    result = dict(obj)
    copied: set[int] = {id(result)}
    for path in keys:
        tokens = [_unescape(t) for t in path.split("/")]
        if any(t == "" for t in tokens):
            raise PatchError(f"empty reference token in {path!r}")
        if ignore_protected and (
            path in IGNORED_PATCH_KEYS
            or tokens[0] in IGNORED_PATCH_ROOTS
            or (len(tokens) == 3 and tokens[0] == "participants" and tokens[2] == "calendarAddress")
        ):
            continue
        value = patch[path]
        cur: Any = result
        for i, tok in enumerate(tokens[:-1]):
            nxt = _child(cur, tok, path)
            if not isinstance(nxt, dict | list):
                raise PatchError(f"{'/'.join(tokens[: i + 1])} is not an object")
            if id(nxt) not in copied:
                nxt = dict(nxt) if isinstance(nxt, dict) else list(nxt)
                copied.add(id(nxt))
                _set(cur, tok, nxt, path)
            cur = nxt
        last = tokens[-1]
        if isinstance(cur, list):
            idx = _index(cur, last, path)
            if value is None:
                raise PatchError(f"{path}: cannot remove an array member")
            cur[idx] = _copy(value)
        elif value is None:
            cur.pop(last, None)
        else:
            cur[last] = _copy(value) if isinstance(value, dict | list) else value
    return result


def _index(arr: list[Any], tok: str, path: str) -> int:
    if not tok.isdigit() or (len(tok) > 1 and tok[0] == "0") or int(tok) >= len(arr):
        raise PatchError(f"{path}: bad array index {tok!r}")
    return int(tok)


def _child(cur: Any, tok: str, path: str) -> Any:
    if isinstance(cur, list):
        return cur[_index(cur, tok, path)]
    if tok not in cur:
        raise PatchError(f"{path}: {tok!r} does not exist")
    return cur[tok]


def _set(cur: Any, tok: str, value: Any, path: str) -> None:
    if isinstance(cur, list):
        cur[_index(cur, tok, path)] = value
    else:
        cur[tok] = value


def _override_occurrences(series: _Series) -> Iterator[Occurrence]:
    """The occurrences the overrides of ``series`` make (excluded ones and
    keys that are no local date-time left out), each with its patch applied."""
    for rid, patch in series.overrides.items():
        if _is_excluded(patch):
            continue
        try:
            parse_local(rid)
        except ValueError:
            continue
        yield series.override_occurrence(rid, patch if isinstance(patch, dict) else {})


def _is_excluded(patch: Any) -> bool:
    return isinstance(patch, dict) and patch.get("excluded") is True


def _instance(master: dict[str, Any], rid: str, patch: dict[str, Any] | None, *,
              shared: bool = False) -> dict[str, Any]:
    """The occurrence at ``rid``; ``shared`` (and no patch) leaves the
    master's values in it uncopied, for a caller that only reads it."""
    inst = {k: v for k, v in master.items() if k not in RECURRENCE_PROPS}
    inst["start"] = rid
    inst["recurrenceId"] = rid
    if master.get("timeZone"):
        inst["recurrenceIdTimeZone"] = master["timeZone"]
    if patch:
        inst = apply_patch(inst, patch)
    elif shared:
        return inst
    copied: dict[str, Any] = _copy(inst)
    return copied


_RULES: dict[tuple[bytes, datetime], Rule] = {}
#: Parsed rules kept (a window query or a /get of many instances parses
#: the same few hundred rules again and again).
_RULES_KEPT = 4096


def _parse_rule(rule_json: Any, start: datetime) -> Rule:
    try:
        key = (orjson.dumps(rule_json, option=orjson.OPT_SORT_KEYS), start)
    except TypeError:
        return Rule.from_json(rule_json, start)
    rule = _RULES.get(key)
    if rule is None:
        rule = Rule.from_json(rule_json, start)
        if len(_RULES) >= _RULES_KEPT:
            _RULES.clear()
        _RULES[key] = rule
    return rule


class _Series:
    """What every entry point needs from a master event, parsed once.
    Read-only once built, so one may serve many calls (:func:`parse_series`)."""

    def __init__(self, event: dict[str, Any], floating_tz: str | None) -> None:
        self.event = event
        self.zone = _zone(event, floating_tz)
        self.floating_tz = floating_tz
        self.start = parse_local(event["start"])
        self.days, self.secs = _duration(event)
        rule_json = event.get("recurrenceRule")
        if (
            rule_json is None
            and isinstance(event.get("recurrenceRules"), list)
            and event["recurrenceRules"]
        ):
            rule_json = event["recurrenceRules"][0]  # RFC 8984 form, one rule
        try:
            #: The rule as written (split_series keeps its count).
            self.source_rule = _parse_rule(rule_json, self.start) if rule_json is not None else None
        except RuleError as exc:
            raise ValueError(f"recurrenceRule: {exc}") from exc
        # A count rule is expanded as the until rule of its last occurrence,
        # so a window far from the start is reached without counting up to it.
        self.rule = bounded(self.source_rule, self.start) if self.source_rule is not None else None
        ov = event.get("recurrenceOverrides") or {}
        self.overrides: dict[str, Any] = ov if isinstance(ov, dict) else {}
        self.recurring = self.rule is not None or bool(self.overrides)
        self._exact = timedelta(seconds=self.secs)
        self._longest: timedelta | None = None

    def utc(self, local: datetime) -> datetime:
        return local_to_utc(local, self.zone)

    def span(self, local: datetime) -> tuple[datetime, datetime]:
        start = local_to_utc(local, self.zone)
        if not self.days:
            # no nominal days: the end is the start's instant plus exact time
            return start, start + self._exact if self.secs else start
        end = local_to_utc(local + timedelta(days=self.days), self.zone) + self._exact
        return start, end

    def rule_dates(
        self, from_local: datetime | None = None, budget: int | None = None
    ) -> Iterator[datetime]:
        if self.rule is None:
            yield self.start
            return
        yield from iter_rule(self.rule, self.start, from_local=from_local, budget=budget)

    def override_occurrence(self, rid: str, patch: dict[str, Any]) -> Occurrence:
        inst = _instance(self.event, rid, patch)
        if patch and any(k in patch for k in ("start", "duration", "timeZone")):
            s, e = event_times(inst, self.floating_tz or "UTC")
        else:
            s, e = self.span(parse_local(rid))
        return Occurrence(rid, s, e, inst)

    def max_duration(self) -> timedelta:
        """The longest duration of any instance (overrides may lengthen one), plus DST slack."""
        if self._longest is None:
            self._longest = self._max_duration()  # the same value whichever thread sets it first
        return self._longest

    def _max_duration(self) -> timedelta:
        longest = timedelta(days=self.days, seconds=self.secs)
        for patch in self.overrides.values():
            if isinstance(patch, dict) and isinstance(patch.get("duration"), str):
                try:
                    d, s = parse_duration(patch["duration"])
                except ValueError:
                    continue
                longest = max(longest, timedelta(days=d, seconds=s))
        return longest + timedelta(hours=3)


#: The public name of a parsed event (see :func:`parse_series`).
Series = _Series


def expand(
    event: dict[str, Any],
    after: datetime | None,
    before: datetime | None,
    *,
    max_instances: int,
    floating_tz: str = "UTC",
    work_budget: int = DEFAULT_WORK_BUDGET,
) -> Iterator[Occurrence]:
    """The occurrences of ``event`` overlapping ``[after, before)``, sorted by start.

    A non-recurring event yields itself once (``recurrence_id`` ``None``) if
    it overlaps. Excluded overrides are skipped, override keys the rule does
    not produce are added (iCalendar RDATE), and overrides that move an
    instance are placed where they moved to.

    :param after: aware datetime or ``None`` (unbounded).
    :param before: aware datetime or ``None`` (unbounded): an infinite rule
        without ``before`` raises :class:`ExpansionTooLarge` at ``max_instances``.
    :raises ExpansionTooLarge: more than ``max_instances`` occurrences
        overlap, or reaching the window took more than ``work_budget`` rule
        steps (a ``count`` rule from the distant past).
    :raises ValueError: an unknown time zone or a malformed start/rule.
    """
    try:
        found = _expand_list(event, after, before, max_instances, floating_tz, work_budget)
    except OverflowError as exc:
        raise ValueError("date out of the supported range") from exc
    yield from found


def _overlaps(s: datetime, e: datetime, after: datetime | None, before: datetime | None) -> bool:
    return (after is None or e > after) and (before is None or s < before)


def reaches(
    event: dict[str, Any], after: datetime | None, before: datetime | None, floating_tz: str = "UTC",
    *, series: Series | None = None,
) -> bool:
    """Whether some occurrence ends after ``after`` and some (maybe another)
    starts before ``before`` — CalendarEvent/query's after and before
    conditions without expandRecurrences — with the event parsed once.

    :raises ValueError: an unknown time zone or a malformed start/rule.
    """
    try:
        series = series or _Series(event, floating_tz)
        if after is not None and before is not None and _meets(series, after, before):
            # one occurrence inside the window satisfies both conditions
            return True

        def any_in(a: datetime | None, b: datetime | None) -> bool:
            try:
                return bool(_expand_series(series, a, b, 1, DEFAULT_WORK_BUDGET))
            except ExpansionTooLarge:
                return True  # more than one occurrence, or too far to walk: over-cover

        return (after is None or any_in(after, None)) and (before is None or any_in(None, before))
    except OverflowError as exc:
        raise ValueError("date out of the supported range") from exc


def _meets(series: _Series, after: datetime, before: datetime) -> bool:
    """Whether some occurrence overlaps ``[after, before)``, stopping at the
    first (:func:`_expand_series`'s walk, without building the rest); False
    also when the walk is too long or fails to tell, so the caller asks
    again its own way and answers as it always did."""
    try:
        return _meets_walk(series, after, before)
    except (TooMuchWork, ValueError, KeyError, TypeError, OverflowError):
        return False


def _meets_walk(series: _Series, after: datetime, before: datetime) -> bool:
    if not series.recurring:
        return _overlaps(*series.span(series.start), after, before)
    lead = after.astimezone(series.zone or UTC).replace(tzinfo=None) - series.max_duration()
    stop_local = before.astimezone(series.zone or UTC).replace(tzinfo=None) + timedelta(hours=3)
    for local in series.rule_dates(lead, budget=DEFAULT_WORK_BUDGET):
        if local > stop_local:
            break
        if series.overrides and format_local(local) in series.overrides:
            continue  # judged below with its patch
        if _overlaps(*series.span(local), after, before):
            return True
    for occ in _override_occurrences(series):
        if _overlaps(occ.start, occ.end, after, before):
            return True
    return False


def _expand_list(
    event: dict[str, Any],
    after: datetime | None,
    before: datetime | None,
    max_instances: int,
    floating_tz: str,
    work_budget: int,
) -> list[Occurrence]:
    return _expand_series(_Series(event, floating_tz), after, before, max_instances, work_budget)


def _expand_series(
    series: _Series,
    after: datetime | None,
    before: datetime | None,
    max_instances: int,
    work_budget: int,
) -> list[Occurrence]:
    event = series.event
    if not series.recurring:
        s, e = series.span(series.start)
        return [Occurrence(None, s, e, master=event)] if _overlaps(s, e, after, before) else []
    out: list[Occurrence] = []

    def add(occ: Occurrence) -> None:
        out.append(occ)
        if len(out) > max_instances:
            raise ExpansionTooLarge(f"more than {max_instances} instances")

    from_local = None
    if after is not None:
        # The window edge in the event's own wall-clock time; the longest
        # instance may start before it and still reach into the window, and
        # a DST shift moves wall-clock time by up to a few hours.
        lead = after.astimezone(series.zone or UTC).replace(tzinfo=None)
        from_local = lead - series.max_duration()
    stop_local = None
    if before is not None:
        stop_local = before.astimezone(series.zone or UTC).replace(tzinfo=None) + timedelta(hours=3)
    try:
        for local in series.rule_dates(from_local, budget=work_budget):
            if stop_local is not None and local > stop_local:
                break
            rid = format_local(local)
            if rid in series.overrides:
                continue  # handled below with its patch
            s, e = series.span(local)
            if _overlaps(s, e, after, before):
                add(Occurrence(rid, s, e, master=event))
    except TooMuchWork as exc:
        raise ExpansionTooLarge(
            "the recurrence rule needs too many steps to reach the window"
        ) from exc
    for occ in _override_occurrences(series):
        if _overlaps(occ.start, occ.end, after, before):
            add(occ)
    out.sort(key=lambda o: (o.start, o.recurrence_id or ""))
    return out


def is_occurrence(event: dict[str, Any], recurrence_id: str, floating_tz: str = "UTC") -> bool:
    """Whether ``recurrence_id`` names an occurrence (rule, start or RDATE), not excluded."""
    return _lookup(_Series(event, floating_tz), recurrence_id) is not None


def _lookup(series: _Series, recurrence_id: str) -> dict[str, Any] | None:
    try:
        target = parse_local(recurrence_id)
    except ValueError:
        return None
    patch = series.overrides.get(recurrence_id)
    if patch is not None:
        return None if _is_excluded(patch) else (patch if isinstance(patch, dict) else {})
    if not series.recurring:
        return None
    try:
        for local in series.rule_dates(target, budget=DEFAULT_WORK_BUDGET):
            if local == target:
                return {}
            if local > target:
                return None
    except TooMuchWork:
        return None
    return None


def get_occurrences(
    event: dict[str, Any], recurrence_ids: list[str], floating_tz: str = "UTC", *,
    series: Series | None = None, known: dict[str, dict[str, Any]] | None = None, shared: bool = False,
) -> dict[str, dict[str, Any] | None]:
    """:func:`get_occurrence` of several recurrence ids of one event, the
    event parsed once (a /get of a month's instances of a daily series).

    ``series`` is the event already parsed; ``known`` maps recurrence ids
    already found to be occurrences (by :func:`expand_series`) to their
    override patch, so they are not looked up again. ``shared``: an
    occurrence without an override shares the event's values (nested
    dicts and lists) instead of copying them — for a caller that only
    serializes the result and never changes anything below its top level.
    """
    series = series or _Series(event, floating_tz)
    out: dict[str, dict[str, Any] | None] = {}
    for rid in recurrence_ids:
        patch = known.get(rid) if known is not None else None
        if patch is None:
            patch = _lookup(series, rid)
        out[rid] = None if patch is None else _instance(event, rid, patch or None, shared=shared)
    return out


def parse_series(event: dict[str, Any], floating_tz: str = "UTC") -> Series:
    """The event parsed for :func:`expand_series` and :func:`get_occurrences`
    (zone, duration, rule); worth keeping while the event is unchanged.

    :raises ValueError: an unknown time zone or a malformed start/rule.
    """
    try:
        return _Series(event, floating_tz)
    except OverflowError as exc:
        raise ValueError("date out of the supported range") from exc


def expand_series(
    series: Series, after: datetime | None, before: datetime | None, *, max_instances: int,
    work_budget: int = DEFAULT_WORK_BUDGET,
) -> list[Occurrence]:
    """:func:`expand` of an event parsed by :func:`parse_series`."""
    try:
        return _expand_series(series, after, before, max_instances, work_budget)
    except OverflowError as exc:
        raise ValueError("date out of the supported range") from exc


def override_of(series: Series, recurrence_id: str) -> dict[str, Any]:
    """The patch an occurrence :func:`expand_series` produced carries (``{}`` for none)."""
    patch = series.overrides.get(recurrence_id)
    return patch if isinstance(patch, dict) else {}


def get_occurrence(event: dict[str, Any], recurrence_id: str, floating_tz: str = "UTC") -> dict[str, Any] | None:
    """The instance of ``event`` at ``recurrence_id``, or ``None`` if there is none.

    ``None`` for a recurrence id the rule does not produce and no override
    adds, for an excluded one, and for a non-recurring event.
    """
    series = _Series(event, floating_tz)
    patch = _lookup(series, recurrence_id)
    if patch is None:
        return None
    return _instance(event, recurrence_id, patch or None)


def series_range(event: dict[str, Any], floating_tz: str = "UTC") -> tuple[datetime, datetime | None]:
    """UTC start of the first and end of the last occurrence; end ``None`` when unbounded.

    Meant for a stored index, so it is cheap and may over-cover but never
    under-cover: a ``count`` rule ends at its last occurrence (counted by
    :func:`~.rrule.last_occurrence`; unbounded only when that is too far to
    find), an ``until`` rule with more than ``RANGE_EXACT_LIMIT``
    occurrences a day after its ``until``.
    """
    try:
        return _series_range(event, floating_tz)
    except OverflowError as exc:
        raise ValueError("date out of the supported range") from exc


def _series_range(event: dict[str, Any], floating_tz: str) -> tuple[datetime, datetime | None]:
    series = _Series(event, floating_tz)
    first, last = series.span(series.start)
    end: datetime | None = last
    if series.rule is not None:
        rule = series.rule
        if not rule.is_finite:
            end = None
        elif rule.until_is_last:
            assert rule.until is not None
            end = max(last, series.span(rule.until)[1])
        else:
            n = 0
            last_local = series.start
            exhausted = True
            try:
                for local in iter_rule(rule, series.start):
                    last_local = local
                    n += 1
                    if n > RANGE_EXACT_LIMIT:
                        exhausted = False
                        break
            except TooMuchWork:
                exhausted = False
            if exhausted:
                end = max(last, series.span(last_local)[1])
            elif rule.until is not None:
                end = max(last, series.span(rule.until)[1] + timedelta(days=1))
            else:
                end = None
    for rid, patch in series.overrides.items():
        if _is_excluded(patch):
            continue
        try:
            occ = series.override_occurrence(rid, patch if isinstance(patch, dict) else {})
        except (ValueError, PatchError):
            continue
        first = min(first, occ.start)
        if end is not None:
            end = max(end, occ.end)
    return first, end


def out_of_range(event: dict[str, Any], low: datetime, high: datetime, floating_tz: str = "UTC") -> list[str]:
    """Paths of the dates of ``event`` outside ``[low, high]`` (JMAP
    Calendars' minDateTime/maxDateTime: "any date stored in a CalendarEvent").

    Checked: the first occurrence (``start``), the end of a finite series
    (``recurrenceRule``; ``duration`` without a rule) and its ``until``, and
    every override on its own — its key, and where the patch moves or
    stretches it (``recurrenceOverrides/<id>/start`` or ``/duration``,
    ``recurrenceOverrides/<id>`` when the key itself is the bad date). An
    override is judged even when the rule is infinite.

    :raises ValueError: a malformed start, rule or unknown zone.
    """
    try:
        return _out_of_range(event, low, high, floating_tz)
    except OverflowError as exc:
        raise ValueError("date out of the supported range") from exc


def _out_of_range(event: dict[str, Any], low: datetime, high: datetime, floating_tz: str) -> list[str]:
    series = _Series(event, floating_tz)
    bad: list[str] = []
    first, last = series.span(series.start)
    if not low <= first <= high:
        return ["start"]
    rule = series.source_rule
    if rule is not None and rule.until is not None and series.utc(rule.until) > high:
        bad.append("recurrenceRule/until")
    plain = {k: v for k, v in event.items() if k != "recurrenceOverrides"}
    _, end = _series_range(plain, floating_tz) if rule is not None else (first, last)
    if end is not None and end > high and not bad:
        bad.append("recurrenceRule" if rule is not None else "duration")
    for rid, patch in series.overrides.items():
        path = f"recurrenceOverrides/{rid}"
        try:
            key_time = series.utc(parse_local(rid))
        except ValueError:
            continue  # the validator names a malformed key
        if not low <= key_time <= high:
            bad.append(path)
            continue
        if _is_excluded(patch) or not isinstance(patch, dict):
            continue
        try:
            occ = series.override_occurrence(rid, patch)
        except (ValueError, PatchError):
            continue
        if not low <= occ.start <= high:
            bad.append(f"{path}/start" if "start" in patch else path)
        elif occ.end > high:
            bad.append(f"{path}/duration" if "duration" in patch else f"{path}/start" if "start" in patch else path)
    return bad


def split_series(
    event: dict[str, Any], recurrence_id: str, *, new_uid: str | None = None, floating_tz: str = "UTC"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a series at ``recurrence_id`` into (before, this-and-future).

    The first keeps the uid and ends just before the split (``until`` one
    second earlier, or a reduced ``count``); the second starts at the split
    occurrence (its override patch folded in), has ``new_uid`` (or
    ``<uid>-<recurrence id>`` when not given), and the two are linked with
    the "next"/"first" relations of the JSCalendar "This and Future" example.

    :raises ValueError: the recurrence id is not an occurrence, or it is the
        first one (nothing would be left before the split).
    """
    series = _Series(event, floating_tz)
    patch = _lookup(series, recurrence_id)
    if patch is None:
        raise ValueError("recurrenceId matches no occurrence")
    target = parse_local(recurrence_id)
    if target <= series.start:
        raise ValueError("cannot split at the first occurrence")
    uid = event.get("uid", "")
    new_uid = new_uid or f"{uid}-{recurrence_id.replace(':', '')}"
    head = _copy(event)
    tail = _copy(event)
    rule_key = "recurrenceRule" if "recurrenceRule" in event else None
    if rule_key and series.source_rule is not None:
        head_rule = head[rule_key]
        tail_rule = tail[rule_key]
        if series.source_rule.count is not None and series.rule is not None:
            counted = count_before(series.source_rule, series.start, target)
            done = counted if counted is not None else sum(
                1 for local in iter_rule(series.rule, series.start) if local < target)
            head_rule["count"] = done
            tail_rule["count"] = max(series.source_rule.count - done, 1)
        else:
            head_rule.pop("count", None)
            head_rule["until"] = format_local(target - timedelta(seconds=1))
    head_ov = {k: v for k, v in series.overrides.items() if k < recurrence_id}
    tail_ov = {k: v for k, v in series.overrides.items() if k > recurrence_id}
    for obj, ov in ((head, head_ov), (tail, tail_ov)):
        if ov:
            obj["recurrenceOverrides"] = _copy(ov)
        else:
            obj.pop("recurrenceOverrides", None)
    if patch:
        base = {k: v for k, v in tail.items() if k not in RECURRENCE_PROPS}
        patched = apply_patch(base, patch)
        for k in list(tail):
            if k not in RECURRENCE_PROPS and k not in patched:
                del tail[k]
        tail.update(patched)
    tail["start"] = tail["start"] if patch and "start" in patch else recurrence_id
    tail["uid"] = new_uid
    head.setdefault("relatedTo", {})[new_uid] = {"@type": "Relation", "relation": {"next": True}}
    tail_rel = {k: v for k, v in (tail.get("relatedTo") or {}).items() if k != new_uid}
    tail_rel[uid] = {"@type": "Relation", "relation": {"first": True}}
    tail["relatedTo"] = tail_rel
    return head, tail
