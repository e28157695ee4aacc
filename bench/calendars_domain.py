"""Micro-benchmark of the calendars domain layer (no server): .ics import, index ranges, expansion.

Run: ``python bench/calendars_domain.py [--events 10000] [--recurring 500] [--repeat 5]``

Prints medians over ``--repeat`` runs of:

- parse_ics of one .ics file holding N events (events/s), shaped like real
  producers' output (attendees, alarms, TZIDs, recurring series with
  overrides and EXDATEs, all-day events);
- to_ics of the same events (events/s);
- series_range over all events (µs/event) — what an occurrence index pays per write;
- a one-month and a one-week window expanded over only the events whose
  series_range overlaps it (as a stored index would select them), ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from jmapd_calendars.domain.ical import parse_ics, to_ics  # noqa: E402
from jmapd_calendars.domain.recurrence import expand, series_range  # noqa: E402

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Europe/London"]


def make_ics(n: int, recurring: int, seed: int = 1) -> bytes:
    rnd = random.Random(seed)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//jmapd//EN"]
    base = datetime(2026, 1, 1)
    for i in range(n):
        tz = rnd.choice(ZONES)
        start = base + timedelta(
            days=rnd.randrange(0, 365), hours=rnd.randrange(7, 19), minutes=rnd.choice((0, 30))
        )
        uid = f"bench-{i}@example.com"
        all_day = i % 10 == 0
        ev = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", "SEQUENCE:0",
              f"SUMMARY:Event {i} with a realistic title", "DESCRIPTION:Agenda\\n1. one\\n2. two"]  # fmt: skip
        if all_day:
            ev += [
                f"DTSTART;VALUE=DATE:{start:%Y%m%d}",
                f"DTEND;VALUE=DATE:{start + timedelta(days=1):%Y%m%d}",
            ]
        else:
            ev += [
                f"DTSTART;TZID={tz}:{start:%Y%m%dT%H%M%S}",
                f"DTEND;TZID={tz}:{start + timedelta(hours=1):%Y%m%dT%H%M%S}",
            ]
        ev += ["ORGANIZER;CN=Org:mailto:org@example.com",
               "ATTENDEE;PARTSTAT=ACCEPTED;CN=Org:mailto:org@example.com",
               f"ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION;CN=Guest {i}:mailto:g{i}@example.org",
               "LOCATION:Room 4", "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder", "TRIGGER:-PT15M", "END:VALARM"]  # fmt: skip
        over: list[str] = []
        if i < recurring:
            if i % 5 == 0:
                ev.append("RRULE:FREQ=WEEKLY")  # infinite
            else:
                ev.append(f"RRULE:FREQ=DAILY;INTERVAL={1 + i % 3};COUNT={10 + i % 50}")
            if not all_day:
                ex = start + timedelta(days=7)
                ev.append(
                    f"EXDATE;TZID={tz}:{ex:%Y%m%dT%H%M%S}"
                    if i % 5 == 0
                    else f"EXDATE;TZID={tz}:{start + timedelta(days=1 + i % 3):%Y%m%dT%H%M%S}"
                )
                rid = start + timedelta(days=14 if i % 5 == 0 else 2 * (1 + i % 3))
                over = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"RECURRENCE-ID;TZID={tz}:{rid:%Y%m%dT%H%M%S}",
                        f"DTSTART;TZID={tz}:{rid + timedelta(hours=1):%Y%m%dT%H%M%S}",
                        f"DTEND;TZID={tz}:{rid + timedelta(hours=2):%Y%m%dT%H%M%S}",
                        f"SUMMARY:Event {i} (moved)", "END:VEVENT"]  # fmt: skip
        ev.append("END:VEVENT")
        lines += ev + over
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def timed(fn, repeat: int) -> tuple[float, object]:
    samples = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10000)
    ap.add_argument("--recurring", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    data = make_ics(args.events, args.recurring)
    print(
        f"{args.events} events ({args.recurring} recurring, every 5th of them infinite), {len(data) / 1e6:.1f} MB of .ics"
    )
    t, res = timed(lambda: parse_ics(data), args.repeat)
    events = res.events  # type: ignore[attr-defined]
    assert len(events) == args.events and not res.errors, res.errors[:3]  # type: ignore[attr-defined]
    print(f"parse_ics      median {t * 1000:8.1f} ms  = {args.events / t:8.0f} events/s")
    t, out = timed(lambda: to_ics(events), args.repeat)
    print(f"to_ics         median {t * 1000:8.1f} ms  = {args.events / t:8.0f} events/s")
    t, ranges = timed(lambda: [series_range(e) for e in events], args.repeat)
    print(f"series_range   median {t * 1000:8.1f} ms  = {t / args.events * 1e6:8.1f} µs/event")
    far = datetime.max.replace(tzinfo=UTC)
    index = [(s, e or far, ev) for (s, e), ev in zip(ranges, events, strict=True)]  # type: ignore[arg-type]
    for label, after, before in (("month", datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)),
                                 ("week", datetime(2026, 6, 8, tzinfo=UTC), datetime(2026, 6, 15, tzinfo=UTC))):  # fmt: skip

        def run(after: datetime = after, before: datetime = before) -> int:
            n = 0
            for s, e, ev in index:
                if s < before and e > after:
                    n += sum(1 for _ in expand(ev, after, before, max_instances=10000))
            return n

        t, n = timed(run, args.repeat)
        print(
            f"expand {label:5s}   median {t * 1000:8.1f} ms  ({n} instances, candidates from series_range)"
        )


if __name__ == "__main__":
    main()
