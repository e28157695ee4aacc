"""How long the parsers take on hostile input (no server).

Run: ``python bench/hostile_input.py [--repeat 5]``

The unit tests check that these inputs are handled correctly; how fast is a
figure, printed here as the median over ``--repeat`` runs, so a quadratic
regression shows up without a wall-clock assertion that flakes on a loaded
machine. Targets: each case well under a second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from jmapd_calendars.domain.recurrence import expand  # noqa: E402
from jmapd_mail.domain.headers import as_addresses  # noqa: E402
from jmapd_mail.domain.parse import parse_message  # noqa: E402
from jmapd_mail.domain.thread import base_subject  # noqa: E402


def nested(depth: int) -> bytes:
    parts = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth))
    tail = b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    return b"Subject: deep\r\n" + parts + b"Content-Type: text/plain\r\n\r\nbottom\r\n" + tail


def parse_all(raw: bytes) -> None:
    msg = parse_message(raw)
    msg.to_json()
    msg.search_text()


def cases() -> dict[str, Callable[[], object]]:
    addresses = " " + ", ".join(f'"User {i}" <user{i}@example.com>' for i in range(16000)) + " " + "x" * 500_000
    headers = (b"Subject: " + b"x" * 1_500_000 + b"\r\nTo: " + b"<a@b>, " * 150_000 + b"\r\nCc: " + b"<>" * 500_000
               + b"\r\nContent-Type: text/plain; " + b"p=1;" * 200_000 + b"\r\n\r\nhi\r\n")
    parts = b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + b"".join(
        b"--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(5000)) + b"--b--\r\n"
    daily = {"@type": "Event", "uid": "u1", "start": "2000-01-01T00:00:00", "timeZone": "Europe/Paris", "duration": "PT1H",
             "recurrenceRule": {"@type": "RecurrenceRule", "frequency": "daily"}}
    never = {"@type": "Event", "uid": "u1", "start": "2026-03-02T09:30:00", "timeZone": "UTC", "duration": "PT1H",
             "recurrenceRule": {"@type": "RecurrenceRule", "frequency": "yearly", "byMonth": ["2"], "byMonthDay": [31]}}
    june = (datetime(2030, 6, 1, tzinfo=UTC), datetime(2030, 7, 1, tzinfo=UTC))
    return {
        "as_addresses, 16,000 recipients (0.9 MB)": lambda: as_addresses(addresses),
        "base_subject, 50,000 '[' + 'Re: '": lambda: base_subject("[" * 50000 + "Re: " * 50000),
        "parse, 1,000 nested multiparts": lambda: parse_all(nested(1000)),
        "parse, 5,000 parts": lambda: parse_all(parts),
        "parse, megabyte header lines": lambda: parse_all(headers),
        "expand, daily from 2000, June 2030 window": lambda: list(expand(daily, *june, max_instances=10_000)),
        "expand, a rule matching nothing": lambda: list(expand(never, None, None, max_instances=10_000)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for name, run in cases().items():
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        print(f"{name:50s} median {statistics.median(times) * 1000:9.1f} ms  max {max(times) * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
