"""JSCalendar 2.0 RecurrenceRule expansion in local (wall-clock) time.

A rule is expanded period by period as the JSCalendar "Interpreting
Recurrence Rules" section describes: every candidate of a period is
filtered by the byX properties, then bySetPosition picks from what is left.
Candidates are generated day by day rather than second by second, and
periods with no possible match are skipped cheaply, so a rule that matches
nothing (``BYMONTH=2;BYMONTHDAY=31``) or a ``secondly`` rule finishes in
bounded time. dateutil's rrule was not used because it loops for minutes on
such rules and knows neither ``skip`` nor JSCalendar's implicit byX rules.

Public API:

- :class:`Rule` — a parsed, normalised rule (``Rule.from_json``).
- :func:`iter_rule` — naive local occurrence datetimes in order.
- :func:`last_occurrence` — the last occurrence of a ``count`` rule, counted
  day by day (or period by period) rather than occurrence by occurrence.
- :func:`count_before` — how many occurrences start before a given time.
- :func:`bounded` — a ``count`` rule as the equivalent ``until`` rule, which
  expansion can start anywhere instead of counting from the first occurrence.
- :class:`RuleError` — a rule that cannot be expanded (malformed).
- :class:`TooMuchWork` — the work budget ran out (the caller decides what that means).

Only the gregorian ``rscale`` is computed; other calendar systems are
expanded as gregorian (NOTE: documented limitation).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from .dates import MAX_YEAR, parse_local

FREQUENCIES = ("yearly", "monthly", "weekly", "daily", "hourly", "minutely", "secondly")
WEEKDAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")

# Consecutive empty periods after which a rule is taken to match nothing more.
# 400 Gregorian years repeat exactly, so a day-level pattern absent for that
# long never comes back.
_EMPTY_LIMIT = {"yearly": 400, "monthly": 4800, "weekly": 20872, "daily": 146097}
_EMPTY_DAYS = 146097
_UNIT = {"hourly": 3600, "minutely": 60, "secondly": 1}
_EPOCH = datetime(1, 1, 1)
#: Periods (days for sub-daily rules) :func:`last_occurrence` may look at.
LAST_WORK = 50_000


class RuleError(ValueError):
    """The rule is malformed (wrong types, unknown frequency, ...)."""


class TooMuchWork(Exception):
    """More candidate occurrences than the caller's budget were generated."""


@dataclass(slots=True, frozen=True)
class Rule:
    """A RecurrenceRule with the implicit byX properties added (for a given start)."""

    frequency: str
    interval: int
    skip: str
    wkst: int
    by_day: tuple[tuple[int, int | None], ...]
    by_month: frozenset[int] | None
    by_month_day: tuple[int, ...] | None
    by_year_day: frozenset[int] | None
    by_week_no: frozenset[int] | None
    by_hour: tuple[int, ...] | None
    by_minute: tuple[int, ...] | None
    by_second: tuple[int, ...] | None
    by_set_pos: tuple[int, ...] | None
    count: int | None
    until: datetime | None
    leap_only_months: bool = False
    #: ``until`` is the last occurrence itself (set by :func:`bounded`).
    until_is_last: bool = False

    @classmethod
    def from_json(cls, rule: dict[str, Any], start: datetime) -> Rule:
        """Parse a RecurrenceRule object relative to its event's local ``start``."""
        if not isinstance(rule, dict):
            raise RuleError("recurrenceRule is not an object")
        freq = rule.get("frequency")
        if freq not in FREQUENCIES:
            raise RuleError(f"unknown frequency {freq!r}")
        interval = rule.get("interval", 1)
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise RuleError("interval")
        skip = rule.get("skip", "omit")
        wkst_s = rule.get("firstDayOfWeek", "mo")
        if wkst_s not in WEEKDAYS:
            raise RuleError("firstDayOfWeek")

        def ints(name: str, lo: int, hi: int, nonzero: bool = False) -> tuple[int, ...] | None:
            v = rule.get(name)
            if v is None:
                return None
            if not isinstance(v, list) or not v:
                raise RuleError(name)
            for x in v:
                if (
                    not isinstance(x, int)
                    or isinstance(x, bool)
                    or not lo <= x <= hi
                    or (nonzero and x == 0)
                ):
                    raise RuleError(name)
            return tuple(sorted(set(v)))

        by_day: list[tuple[int, int | None]] = []
        raw_by_day = rule.get("byDay")
        if raw_by_day is not None:
            if not isinstance(raw_by_day, list) or not raw_by_day:
                raise RuleError("byDay")
            for nd in raw_by_day:
                if not isinstance(nd, dict) or nd.get("day") not in WEEKDAYS:
                    raise RuleError("byDay")
                nth = nd.get("nthOfPeriod")
                if nth is not None and (
                    not isinstance(nth, int) or isinstance(nth, bool) or nth == 0 or abs(nth) > 53
                ):
                    raise RuleError("byDay")
                by_day.append((WEEKDAYS.index(nd["day"]), nth))
        by_month: set[int] | None = None
        leap_only = False
        raw_month = rule.get("byMonth")
        if raw_month is not None:
            if not isinstance(raw_month, list) or not raw_month:
                raise RuleError("byMonth")
            by_month = set()
            for m in raw_month:
                if (
                    not isinstance(m, str)
                    or not m.rstrip("L").isdigit()
                    or not 1 <= int(m.rstrip("L")) <= 13
                ):
                    raise RuleError("byMonth")
                if not m.endswith("L") and int(m) <= 12:
                    by_month.add(int(m))
            # Leap months ("5L") never occur in the gregorian calendar.
            leap_only = not by_month
        by_month_day = ints("byMonthDay", -31, 31, nonzero=True)
        by_year_day = ints("byYearDay", -366, 366, nonzero=True)
        by_week_no = ints("byWeekNo", -53, 53, nonzero=True)
        by_hour = ints("byHour", 0, 23)
        by_minute = ints("byMinute", 0, 59)
        by_second = ints("bySecond", 0, 60)
        by_set_pos = ints("bySetPosition", -(2**31), 2**31, nonzero=True)
        count = rule.get("count")
        if count is not None and (
            not isinstance(count, int) or isinstance(count, bool) or count < 0
        ):
            raise RuleError("count")
        until_raw = rule.get("until")
        until = None
        if until_raw is not None:
            try:
                until = parse_local(until_raw)
            except ValueError as exc:
                raise RuleError("until") from exc

        # Implicit byX properties (JSCalendar 2.0, "Interpreting Recurrence Rules").
        if freq != "secondly" and by_second is None:
            by_second = (min(start.second, 59),)
        if freq not in ("secondly", "minutely") and by_minute is None:
            by_minute = (start.minute,)
        if freq not in ("secondly", "minutely", "hourly") and by_hour is None:
            by_hour = (start.hour,)
        if freq == "weekly" and not by_day:
            by_day = [(start.weekday(), None)]
        if freq == "monthly" and not by_day and by_month_day is None:
            by_month_day = (start.day,)
        if freq == "yearly" and by_year_day is None:
            if (
                by_month is None
                and not leap_only
                and by_week_no is None
                and (by_month_day is not None or not by_day)
            ):
                by_month = {start.month}
            if by_month_day is None and by_week_no is None and not by_day:
                by_month_day = (start.day,)
            if by_week_no is not None and by_month_day is None and not by_day:
                by_day = [(start.weekday(), None)]
        return cls(
            frequency=freq,
            interval=interval,
            skip=skip if skip in ("omit", "backward", "forward") else "omit",
            wkst=WEEKDAYS.index(wkst_s),
            by_day=tuple(by_day),
            by_month=frozenset(by_month) if by_month is not None else None,
            by_month_day=by_month_day,
            by_year_day=frozenset(by_year_day) if by_year_day is not None else None,
            by_week_no=frozenset(by_week_no) if by_week_no is not None else None,
            by_hour=by_hour,
            by_minute=by_minute,
            by_second=by_second,
            by_set_pos=by_set_pos,
            count=count,
            until=until,
            leap_only_months=leap_only,
        )

    @property
    def is_finite(self) -> bool:
        return self.count is not None or self.until is not None

    def impossible(self) -> bool:
        """Whether no date can ever match the day-level filters (cheap static check)."""
        if self.leap_only_months:
            return True
        if self.by_month_day and self.skip == "omit":
            months = self.by_month or frozenset(range(1, 13))
            longest = max(29 if m == 2 else (30 if m in (4, 6, 9, 11) else 31) for m in months)
            if all(abs(d) > longest for d in self.by_month_day):
                return True
        return False


# -- day-level filters -----------------------------------------------------


def _month_len(y: int, m: int) -> int:
    return calendar.monthrange(y, m)[1]


def _year_len(y: int) -> int:
    return 366 if calendar.isleap(y) else 365


def _week_info(d: date, wkst: int) -> tuple[int, int, int]:
    """(week-numbering year, week number, weeks in that year) with weeks starting on ``wkst``."""

    def week1_start(y: int) -> date:
        jan1 = date(y, 1, 1)
        wd = (jan1.weekday() - wkst) % 7
        return jan1 - timedelta(days=wd) if wd <= 3 else jan1 + timedelta(days=7 - wd)

    y = d.year
    s = week1_start(y)
    if d < s:
        y -= 1
        s = week1_start(y)
    else:
        nxt = week1_start(y + 1) if y < MAX_YEAR else date.max
        if d >= nxt:
            y += 1
            s = nxt
    end = week1_start(y + 1) if y < MAX_YEAR else date(MAX_YEAR, 12, 31)
    return y, (d - s).days // 7 + 1, (end - s).days // 7


class _Filter:
    """The day-level byX tests of one rule, precomputed."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.by_month = rule.by_month
        self.md = set(rule.by_month_day) if rule.by_month_day else None
        self.yd = rule.by_year_day
        self.wn = rule.by_week_no
        self.plain_days = frozenset(wd for wd, n in rule.by_day if n is None)
        self.nth_days = tuple((wd, n) for wd, n in rule.by_day if n is not None)
        self.has_day = bool(rule.by_day)
        # nthOfPeriod counts within the year only for yearly rules without byMonth.
        self.nth_in_year = rule.frequency == "yearly" and rule.by_month is None

    def day_ok(self, d: date, *, check_month_day: bool = True) -> bool:
        if self.by_month is not None and d.month not in self.by_month:
            return False
        if self.wn is not None:
            _, no, total = _week_info(d, self.rule.wkst)
            if no not in self.wn and (no - total - 1) not in self.wn:
                return False
        if self.yd is not None:
            yday = d.timetuple().tm_yday
            if yday not in self.yd and (yday - _year_len(d.year) - 1) not in self.yd:
                return False
        if check_month_day and self.md is not None:
            if d.day not in self.md and (d.day - _month_len(d.year, d.month) - 1) not in self.md:
                return False
        if self.has_day:
            wd = d.weekday()
            if wd in self.plain_days:
                return True
            for nwd, n in self.nth_days:
                if nwd != wd:
                    continue
                if self.nth_in_year:
                    yday = d.timetuple().tm_yday
                    pos, neg = (yday - 1) // 7 + 1, -((_year_len(d.year) - yday) // 7 + 1)
                else:
                    pos, neg = (
                        (d.day - 1) // 7 + 1,
                        -((_month_len(d.year, d.month) - d.day) // 7 + 1),
                    )
                if n in (pos, neg):
                    return True
            return False
        return True


def _month_days(f: _Filter, y: int, m: int) -> list[date]:
    """Dates of a month passing the filters, with ``skip`` applied to invalid month days."""
    rule = f.rule
    mlen = _month_len(y, m)
    if f.md is None:
        return [
            date(y, m, d)
            for d in range(1, mlen + 1)
            if f.day_ok(date(y, m, d), check_month_day=False)
        ]
    out: set[date] = set()
    for md in rule.by_month_day or ():
        day = md if md > 0 else mlen + md + 1
        if 1 <= day <= mlen:
            cand = date(y, m, day)
        elif rule.skip == "omit" or day < 1:
            continue
        elif rule.skip == "backward":
            cand = date(y, m, mlen)
        else:
            if y == MAX_YEAR and m == 12:
                continue
            cand = date(y + (m == 12), m % 12 + 1, 1)
        if f.day_ok(cand, check_month_day=False):
            out.add(cand)
    return sorted(out)


def _times(rule: Rule) -> list[tuple[int, int, int]]:
    return [
        (h, mi, s)
        for h in rule.by_hour or ()
        for mi in rule.by_minute or ()
        for s in rule.by_second or ()
    ]


def _apply_setpos(items: list[datetime], setpos: tuple[int, ...] | None) -> list[datetime]:
    if not setpos:
        return items
    n = len(items)
    picked = {
        items[p - 1 if p > 0 else n + p] for p in setpos if (0 < p <= n) or (p < 0 and -p <= n)
    }
    return sorted(picked)


# -- period iteration ----------------------------------------------------------


def _combine(days: list[date], times: list[tuple[int, int, int]]) -> list[datetime]:
    out = []
    for d in days:
        for h, mi, s in times:
            if s == 60:  # a leap second candidate is the next minute's 0th second
                out.append(datetime(d.year, d.month, d.day, h, mi, 59) + timedelta(seconds=1))
            else:
                out.append(datetime(d.year, d.month, d.day, h, mi, s))
    return out


def _periods_calendar(
    rule: Rule, f: _Filter, start: datetime, from_local: datetime | None
) -> Iterator[list[datetime]]:
    """Candidate lists of yearly, monthly, weekly or daily periods, in order."""
    n = rule.interval
    times = _times(rule)
    freq = rule.frequency
    if freq == "yearly":
        y0 = start.year
        k = max(0, (from_local.year - y0) // n) if from_local else 0
        y = y0 + k * n
        while y <= MAX_YEAR:
            if rule.by_month is not None:
                months = sorted(rule.by_month)
            else:
                months = list(range(1, 13))
            days: list[date] = []
            if (
                rule.by_month_day is None
                and f.yd is not None
                and rule.by_month is None
                and not f.wn
            ):
                # byYearDay alone: compute the days directly instead of scanning the year.
                ylen = _year_len(y)
                for yd in sorted(f.yd):
                    day = yd if yd > 0 else ylen + yd + 1
                    if 1 <= day <= ylen:
                        cand = date(y, 1, 1) + timedelta(days=day - 1)
                        if f.day_ok(cand):
                            days.append(cand)
                days.sort()
            else:
                for m in months:
                    days.extend(_month_days(f, y, m))
            yield _combine(days, times)
            y += n
    elif freq == "monthly":
        m0 = start.year * 12 + start.month - 1
        k = max(0, ((from_local.year * 12 + from_local.month - 1) - m0) // n) if from_local else 0
        idx = m0 + k * n
        while idx // 12 <= MAX_YEAR:
            y, m = divmod(idx, 12)
            m += 1
            if rule.by_month is not None and m not in rule.by_month:
                yield []
            else:
                yield _combine(_month_days(f, y, m), times)
            idx += n
    elif freq == "weekly":
        w0 = start.date() - timedelta(days=(start.weekday() - rule.wkst) % 7)
        k = max(0, (from_local.date() - w0).days // 7 // n) if from_local else 0
        w = w0 + timedelta(days=7 * k * n)
        step = timedelta(days=7 * n)
        limit = date(MAX_YEAR, 12, 24)
        if f.has_day and not f.nth_days and f.by_month is None and f.wn is None and f.yd is None and f.md is None:
            # NOTE(perf): only weekdays filter the week (the common weekly
            # rule): its days are fixed offsets from the week's start, no
            # need to test all seven (a tenth of an availability month)
            offsets = sorted({(wd - rule.wkst) % 7 for wd in f.plain_days})
            while w <= limit:
                yield _combine([w + timedelta(days=o) for o in offsets], times)
                w += step
            return
        while w <= limit:
            days = [w + timedelta(days=i) for i in range(7)]
            yield _combine([d for d in days if f.day_ok(d)], times)
            w += step
    else:  # daily
        d0 = start.date()
        k = max(0, (from_local.date() - d0).days // n) if from_local else 0
        d = d0 + timedelta(days=k * n)
        step = timedelta(days=n)
        limit = date(MAX_YEAR, 12, 31) - step
        while d <= limit:
            if rule.by_month is not None and d.month not in rule.by_month:
                # Jump to the first aligned day of a later month.
                nxt = (
                    date(d.year + (d.month == 12), d.month % 12 + 1, 1)
                    if d < date(MAX_YEAR, 12, 1)
                    else None
                )
                if nxt is None:
                    return
                skipped = -(-(nxt - d).days // n)
                for _ in range(min(skipped, 1)):
                    yield []
                d += timedelta(days=skipped * n)
                continue
            yield _combine([d], times) if f.day_ok(d) else []
            d += step


class _Subdaily:
    """The alignment and time filters of an hourly, minutely or secondly rule.

    A day's candidates depend only on where the first aligned period falls
    in it (its phase) and on whether the day passes the day-level filters,
    so :func:`last_occurrence` can count a day by its phase alone.
    """

    def __init__(self, rule: Rule, start: datetime) -> None:
        self.rule = rule
        self.unit = _UNIT[rule.frequency]
        self.n = rule.interval
        self.step = self.unit * self.n
        self.p0 = int((start - _EPOCH).total_seconds()) // self.unit
        self.hours = set(rule.by_hour) if rule.by_hour else None
        self.minutes = set(rule.by_minute) if rule.by_minute else None
        self.seconds = set(rule.by_second) if rule.by_second else None

    def first_period(self, day_start: int) -> int:
        """The first aligned period starting in or after ``day_start`` (seconds since year 1)."""
        return self.p0 + max(0, -(-(day_start // self.unit - self.p0) // self.n)) * self.n

    def groups(self, day_start: int, first_p: int) -> Iterator[list[datetime]]:
        """The candidate list of every aligned period starting in the day."""
        rule, unit, n = self.rule, self.unit, self.n
        hours, minutes, seconds = self.hours, self.minutes, self.seconds
        day_end = day_start + 86400
        p = first_p
        while p * unit < day_end:
            base = p * unit
            group: list[datetime] = []
            if unit == 3600:
                h = (base - day_start) // 3600
                if hours is None or h in hours:
                    for mi in rule.by_minute or ():
                        for s in rule.by_second or ():
                            group.append(_EPOCH + timedelta(seconds=base + mi * 60 + min(s, 59)))
            elif unit == 60:
                rel = base - day_start
                h, mi = rel // 3600, (rel % 3600) // 60
                if (hours is None or h in hours) and (minutes is None or mi in minutes):
                    for s in rule.by_second or ():
                        group.append(_EPOCH + timedelta(seconds=base + min(s, 59)))
            else:
                rel = base - day_start
                h, mi, s = rel // 3600, (rel % 3600) // 60, rel % 60
                if (
                    (hours is None or h in hours)
                    and (minutes is None or mi in minutes)
                    and (seconds is None or s in seconds)
                ):
                    group.append(_EPOCH + timedelta(seconds=base))
            yield group
            p += n
            if self.step < 86400 and hours is not None and unit < 3600 and not group:
                # Skip quickly to the next allowed hour within the day.
                rel = p * unit - day_start
                h = rel // 3600
                if h < 24 and h not in hours:
                    nxt_h = next((x for x in sorted(hours) if x > h), None)
                    if nxt_h is None:
                        break
                    p = self.first_period(day_start + nxt_h * 3600)

    def days(self, f: _Filter, start: datetime, from_local: datetime | None) -> Iterator[tuple[date, int, int]]:
        """(day, its start in seconds, its first aligned period) of every day
        that has an aligned period and passes the day-level filters; ends
        after :data:`_EMPTY_DAYS` days in a row fail them."""
        day = start.date()
        if from_local is not None and from_local.date() > day:
            day = from_local.date()
        empty_days = 0
        last_day = date(MAX_YEAR, 12, 30)
        while day <= last_day:
            day_start = (day.toordinal() - 1) * 86400
            first_p = self.first_period(day_start)
            if first_p * self.unit >= day_start + 86400:
                # No aligned period today: jump straight to the day that has one.
                day = date.fromordinal(first_p * self.unit // 86400 + 1)
                continue
            if not f.day_ok(day):
                empty_days += 1
                if empty_days > _EMPTY_DAYS:
                    return
                yield day, day_start, -1
                day += timedelta(days=1)
                continue
            empty_days = 0
            yield day, day_start, first_p
            day += timedelta(days=1)


def _periods_subdaily(
    rule: Rule, f: _Filter, start: datetime, from_local: datetime | None
) -> Iterator[list[datetime]]:
    """Candidate lists of hourly, minutely or secondly periods, day by day."""
    sub = _Subdaily(rule, start)
    for _day, day_start, first_p in sub.days(f, start, from_local):
        if first_p < 0:
            yield []
        else:
            yield from sub.groups(day_start, first_p)


def iter_rule(
    rule: Rule,
    start: datetime,
    *,
    from_local: datetime | None = None,
    budget: int | None = None,
) -> Iterator[datetime]:
    """Naive local occurrence start times of ``rule`` applied to ``start``, in order.

    The start itself always comes first (and counts towards ``count``).

    :param from_local: a hint that the caller only needs occurrences on or
        after this local time; honoured (periods before it skipped) only when
        the rule has no ``count``, which needs every earlier occurrence.
    :param budget: raise :class:`TooMuchWork` after this many candidate
        occurrences were produced without the caller stopping.
    """
    yield start
    if rule.count is not None and rule.count <= 1:
        return
    if rule.until is not None and rule.until < start:
        return
    if rule.impossible():
        return
    f = _Filter(rule)
    ff = (
        from_local
        if (rule.count is None and from_local is not None and from_local > start)
        else None
    )
    if rule.frequency in _UNIT:
        periods = _periods_subdaily(rule, f, start, ff)
        empty_limit = None  # the day loop bounds itself
    else:
        periods = _periods_calendar(rule, f, start, ff)
        empty_limit = _EMPTY_LIMIT[rule.frequency]
    produced = 1
    empty = 0
    try:
        for cands in periods:
            if rule.by_set_pos:
                cands = _apply_setpos(sorted(cands), rule.by_set_pos)
            hit = False
            for c in cands:
                if c <= start:
                    continue
                if rule.until is not None and c > rule.until:
                    return
                hit = True
                produced += 1
                if budget is not None and produced > budget:
                    raise TooMuchWork(produced)
                yield c
                if rule.count is not None and produced >= rule.count:
                    return
            if hit:
                empty = 0
            else:
                empty += 1
                if empty_limit is not None and empty > empty_limit:
                    return
    except (OverflowError, ValueError):
        # Arithmetic ran past year 9999: nothing representable is left.
        return


def _in_order(cands: list[datetime], rule: Rule) -> list[datetime]:
    return _apply_setpos(sorted(cands), rule.by_set_pos) if rule.by_set_pos else cands


def last_occurrence(rule: Rule, start: datetime, *, work: int = LAST_WORK) -> datetime | None:
    """The local start of the last occurrence of a ``count`` rule, the one
    :func:`iter_rule` yields last; ``None`` when finding it would take more
    than ``work`` periods (days for sub-daily rules).

    An every-second rule with a count of millions is finite, and an index
    or a window query must know where it ends; enumerating every occurrence
    would take seconds, so whole days are counted instead: a day's count
    depends only on its phase (see :class:`_Subdaily`) and is computed once.
    """
    if rule.count is None:
        raise ValueError("not a count rule")
    found = _walk(rule, start, work)
    return found[0] if found is not None else None


def count_before(rule: Rule, start: datetime, target: datetime, *, work: int = LAST_WORK) -> int | None:
    """How many occurrences start before ``target`` (the start included),
    counted as :func:`last_occurrence` counts; ``None`` past ``work``."""
    if target <= start:
        return 0
    cut = target - timedelta(seconds=1)  # candidates are whole seconds
    found = _walk(replace(rule, until=min(rule.until, cut) if rule.until is not None else cut), start, work)
    return found[1] if found is not None else None


def _walk(rule: Rule, start: datetime, work: int) -> tuple[datetime, int] | None:
    """(last occurrence, number of occurrences) of a finite rule."""
    if (rule.count is not None and rule.count <= 1) or (rule.until is not None and rule.until < start) \
            or rule.impossible():
        return start, 1
    total = rule.count if rule.count is not None else None
    needed = total - 1 if total is not None else -1  # after the start, which always comes first; -1: no count
    until = rule.until
    f = _Filter(rule)
    last, seen = start, 1

    def take(cands: list[datetime]) -> list[datetime]:
        return [c for c in _in_order(cands, rule) if c > start and (until is None or c <= until)]

    try:
        if rule.frequency in _UNIT:
            sub = _Subdaily(rule, start)
            per_phase: dict[int, int] = {}
            last_day: tuple[int, int] | None = None
            for steps, (day, day_start, first_p) in enumerate(sub.days(f, start, None)):
                if steps > work:
                    return None
                if until is not None and day > until.date():
                    break
                if first_p < 0:
                    continue
                exact = day == start.date() or (until is not None and day == until.date())
                phase = first_p * sub.unit - day_start
                size = None if exact else per_phase.get(phase)
                if size is None:
                    found = [c for g in sub.groups(day_start, first_p) for c in take(g)]
                    size = len(found)
                    if not exact:
                        per_phase[phase] = size
                    if 0 < needed <= size:
                        return found[needed - 1], seen + needed
                elif 0 < needed <= size:
                    found = [c for g in sub.groups(day_start, first_p) for c in take(g)]
                    return found[needed - 1], seen + needed
                if size:
                    needed -= size if needed >= 0 else 0
                    seen += size
                    last_day = (day_start, first_p)
            if last_day is not None:
                last = [c for g in sub.groups(*last_day) for c in take(g)][-1]
            return last, seen
        empty = 0
        for steps, cands in enumerate(_periods_calendar(rule, f, start, None)):
            if steps > work:
                return None
            found = take(cands)
            if 0 < needed <= len(found):
                return found[needed - 1], seen + needed
            if found:
                needed -= len(found) if needed >= 0 else 0
                seen += len(found)
                last = found[-1]
                empty = 0
            else:
                if until is not None and any(c > until for c in cands):
                    break
                empty += 1
                if empty > _EMPTY_LIMIT[rule.frequency]:
                    break
    except (OverflowError, ValueError):
        pass  # past year 9999, as in iter_rule
    return last, seen


@lru_cache(maxsize=4096)
def bounded(rule: Rule, start: datetime) -> Rule:
    """``rule`` with its ``count`` replaced by the ``until`` of its last
    occurrence: the same occurrences, but expansion may skip to a window
    instead of counting from ``start``. The rule itself when the last
    occurrence is too far to find (or it has no count)."""
    if rule.count is None:
        return rule
    last = last_occurrence(rule, start)
    if last is None:
        return rule
    return replace(rule, count=None, until=last, until_is_last=True)
