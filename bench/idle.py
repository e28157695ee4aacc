"""Idle benchmark: what `jmapd serve --workers 2` costs while nobody uses it.

    python bench/idle.py [--seconds 60] [--database postgresql://...]

Starts the server with every plugin (and a smarthost, so the outbound queue
runner is on), waits until it is ready and has settled, then over
``--seconds`` adds up:

- CPU seconds (user + system, from /proc/PID/stat) of the master and every
  process under it (workers, the LMTP listener);
- on PostgreSQL, transactions committed in the server's database per second
  (pg_stat_database; with autocommit every lone statement is one).

Background work that polls shows up here: an idle server should cost close
to nothing. Other load on the machine inflates CPU figures slightly (cache
misses, scheduling), so compare runs taken in the same conditions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, process_tree  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: set[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return out


def transactions(url: str) -> int:
    from urllib.parse import urlparse

    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                (urlparse(url).path.lstrip("/"),),
            )
            row = cur.fetchone()
            return int(row[0]) if row else 0
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait after /readyz before measuring")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite in a temp dir)")
    args = parser.parse_args()

    db = args.database
    if db:
        from mail import _fresh_pg

        db = _fresh_pg(db, "_idle")
    # A relay that is never contacted: the queue runner runs as with a real smarthost.
    server = Server(workers=args.workers, database=db,
                    extra_yaml="submission:\n  smarthost:\n    host: 127.0.0.1\n    port: 9\n    security: none\n")
    server.start()
    try:
        assert server.proc is not None
        time.sleep(args.settle)
        pids = process_tree(server.proc.pid)
        before = cpu_seconds(pids)
        tx_before = transactions(db) if db else 0
        started = time.monotonic()
        time.sleep(args.seconds)
        elapsed = time.monotonic() - started
        tx_after = transactions(db) if db else 0
        after = cpu_seconds(pids)
    finally:
        server.stop()
    used = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
    total = sum(used.values())
    print(f"jmapd idle benchmark: {args.workers} workers, {'PostgreSQL' if db else 'SQLite'}, {elapsed:.0f} s")
    print(f"{'CPU seconds, all processes':<40} {total:8.2f} s  ({100 * total / elapsed:.2f}% of one core)")
    print(f"{'  per process':<40} {', '.join(f'{v:.2f}' for v in sorted(used.values(), reverse=True))}")
    if db:
        print(f"{'PostgreSQL transactions per second':<40} {(tx_after - tx_before) / elapsed:8.2f}")


if __name__ == "__main__":
    main()
