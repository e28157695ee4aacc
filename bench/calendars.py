"""Calendars benchmark at N events in one account (default 10,000, 500 recurring).

    python bench/calendars.py [--events 10000] [--recurring 500] [--database URL] [--requests 100] [--reuse DIR]

Against `jmapd serve` (2 workers) over loopback HTTP (SQLite in a temporary
directory unless --database names PostgreSQL), it prints:

- import: `jmapd calendars import` of a generated .ics (zoned, floating and
  all-day events over two years; a fifth of the recurring ones infinite),
  in events/s, process start-up included;
- a one-month CalendarEvent/query with expandRecurrences plus a
  back-referenced /get of the instances — p50/p95;
- a one-week query (not expanded) — p50/p95;
- Principal/getAvailability of the user for a month — p50/p95, and the
  number of busy periods, checked against the union of the month's
  expanded instances computed here (all of them count: the generated
  events are busy, public, confirmed and without participants).

``--reuse DIR`` measures an earlier run's data directory (printed at the
end; the same --database for PostgreSQL) without importing: migrations
apply as an upgrade would, so two builds can be compared in alternating
runs over the same data.

The issue's targets (#13): import >= 500 events/s; month expand + get p50
<= 20 ms; week query <= 10 ms; availability for a month <= 30 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, percentile  # noqa: E402

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:calendars", "urn:ietf:params:jmap:principals",
         "urn:ietf:params:jmap:principals:availability"]
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Europe/London"]
TITLES = ["Standup", "Review", "Lunch", "1:1", "Planning", "Retro", "Dentist", "Gym", "Call", "Workshop"]


def ics(count: int, recurring: int) -> str:
    rnd = random.Random(13)
    out = ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//jmapd//bench//EN\r\n"]
    for i in range(count):
        day = rnd.randrange(730)
        month, dom = 1 + (day // 28) % 12, 1 + day % 28
        year = 2025 + day // 365
        hour = rnd.randrange(7, 19)
        stamp = f"{year}{month:02d}{dom:02d}"
        lines = [f"UID:bench-{i:06d}@example.com", "DTSTAMP:20250101T000000Z", f"SUMMARY:{rnd.choice(TITLES)} {i}"]
        kind = rnd.random()
        if kind < 0.1:
            lines += [f"DTSTART;VALUE=DATE:{stamp}", "DURATION:P1D"]
        elif kind < 0.2:
            lines += [f"DTSTART:{stamp}T{hour:02d}0000", "DURATION:PT1H"]
        else:
            lines += [f"DTSTART;TZID={rnd.choice(ZONES)}:{stamp}T{hour:02d}0000", "DURATION:PT45M"]
        if i < recurring:
            if i % 5 == 0:
                lines.append("RRULE:FREQ=WEEKLY")
            elif i % 5 == 1:
                lines.append("RRULE:FREQ=DAILY;COUNT=30")
            else:
                lines.append("RRULE:FREQ=WEEKLY;COUNT=20")
        out.append("BEGIN:VEVENT\r\n" + "\r\n".join(lines) + "\r\nEND:VEVENT\r\n")
    out.append("END:VCALENDAR\r\n")
    return "".join(out)


def post(http: httpx.Client, calls: list) -> list:
    resp = http.post("/jmap/api", json={"using": USING, "methodCalls": calls})
    resp.raise_for_status()
    responses = resp.json()["methodResponses"]
    for name, out, _ in responses:
        if name == "error":
            raise RuntimeError(str(out))
    return responses


def timed(fn, times: int) -> tuple[float, float]:
    lat = []
    for _ in range(times):
        started = time.perf_counter()
        fn()
        lat.append((time.perf_counter() - started) * 1000)
    return statistics.median(lat), percentile(lat, 0.95)


def _utc(value: str):
    import datetime

    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_availability(http: httpx.Client, account: str, principal: str, start: str, end: str) -> None:
    """getAvailability's periods against the union of the same window's
    instances (utcStart/utcEnd of each, floating ones in UTC as the
    Principal has no time zone), merged here."""
    out = post(http, [
        ["CalendarEvent/query", {"accountId": account, "filter": {"after": start, "before": end},
                                 "expandRecurrences": True}, "q"],
        ["CalendarEvent/get", {"accountId": account, "properties": ["utcStart", "utcEnd"],
                               "#ids": {"resultOf": "q", "name": "CalendarEvent/query", "path": "/ids"}}, "g"],
        ["Principal/getAvailability", {"accountId": account, "id": principal, "utcStart": start + "Z",
                                       "utcEnd": end + "Z"}, "a"]])
    lo, hi = _utc(start + "Z"), _utc(end + "Z")
    spans = sorted((max(_utc(e["utcStart"]), lo), min(_utc(e["utcEnd"]), hi)) for e in out[1][1]["list"])
    merged: list[list] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        elif e > s:
            merged.append([s, e])
    got = [(_utc(p["utcStart"]), _utc(p["utcEnd"])) for p in out[2][1]["list"]]
    want = [(s, e) for s, e in merged]
    verdict = "agree" if got == want else f"DIFFER: server {got[:3]}... union {want[:3]}..."
    print(f"{'availability check ' + start[:10] + ' +7d':<44} {len(got)} periods from the server, "
          f"{len(want)} in the union of {len(spans)} instances: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--recurring", type=int, default=500)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="measure an earlier run's data directory without importing")
    opts = parser.parse_args()
    server = Server(workers=2, database=opts.database, directory=opts.reuse, keep=True)
    if opts.reuse:
        server.cli("migrate")
    server.start()
    try:
        if opts.reuse:
            user, password = "bench", "bench-password"
            print(f"{'import':<44} skipped (reusing {opts.reuse})")
        else:
            user, password = server.user()
            path = server.dir / "bench.ics"
            path.write_text(ics(opts.events, opts.recurring))
            started = time.perf_counter()
            server.cli("calendars", "import", str(path), "--user", user)
            elapsed = time.perf_counter() - started
            print(f"{'import (jmapd calendars import)':<44} {opts.events / elapsed:>9.0f} events/s  "
                  f"({opts.events} in {elapsed:.1f} s)")
        http = httpx.Client(base_url=server.url, auth=(user, password), timeout=120)
        session = http.get("/.well-known/jmap").json()
        account = next(i for i, a in session["accounts"].items() if a["isPersonal"])
        total = post(http, [["CalendarEvent/query", {"accountId": account, "calculateTotal": True, "limit": 1}, "0"]])
        assert total[0][1]["total"] == opts.events, total
        rnd = random.Random(1)
        sizes: list[int] = []

        def month() -> None:
            m = rnd.randrange(1, 13)
            window = {"after": f"2025-{m:02d}-01T00:00:00", "before": f"2025-{m:02d}-28T00:00:00"}
            out = post(http, [
                ["CalendarEvent/query", {"accountId": account, "filter": window, "expandRecurrences": True,
                                         "timeZone": "Europe/Berlin", "sort": [{"property": "start"}]}, "q"],
                ["CalendarEvent/get", {"accountId": account, "properties": ["title", "start", "duration", "timeZone"],
                                       "#ids": {"resultOf": "q", "name": "CalendarEvent/query", "path": "/ids"}}, "g"]])
            sizes.append(len(out[1][1]["list"]))

        def week() -> None:
            d = rnd.randrange(1, 22)
            m = rnd.randrange(1, 13)
            window = {"after": f"2025-{m:02d}-{d:02d}T00:00:00", "before": f"2025-{m:02d}-{d + 7:02d}T00:00:00"}
            post(http, [["CalendarEvent/query", {"accountId": account, "filter": window}, "q"]])

        p50, p95 = timed(month, opts.requests)
        print(f"{'month expandRecurrences query + /get':<44} p50 {p50:>7.2f} ms   p95 {p95:>7.2f} ms"
              f"   ({statistics.median(sizes):.0f} instances)")
        p50, p95 = timed(week, opts.requests)
        print(f"{'week query (not expanded)':<44} p50 {p50:>7.2f} ms   p95 {p95:>7.2f} ms")

        principal = session["accounts"][account]["accountCapabilities"]["urn:ietf:params:jmap:principals"][
            "currentUserPrincipalId"]
        found: list[int] = []

        def availability() -> None:
            m = rnd.randrange(1, 13)
            out = post(http, [["Principal/getAvailability", {
                "accountId": account, "id": principal, "utcStart": f"2025-{m:02d}-01T00:00:00Z",
                "utcEnd": f"2025-{m:02d}-28T00:00:00Z"}, "a"]])
            found.append(len(out[0][1]["list"]))

        p50, p95 = timed(availability, opts.requests)
        print(f"{'month Principal/getAvailability':<44} p50 {p50:>7.2f} ms   p95 {p95:>7.2f} ms"
              f"   ({statistics.median(found):.0f} busy periods)")
        for start, end in (("2025-03-01T00:00:00", "2025-03-08T00:00:00"),  # busy: all-day events every day
                           ("2028-03-01T00:00:00", "2028-03-08T00:00:00")):  # only the infinite weekly series
            check_availability(http, account, principal, start, end)
        http.close()
    finally:
        server.stop()
    print(f"data directory: {server.dir}")


if __name__ == "__main__":
    main()
