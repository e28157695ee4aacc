"""Database connections are bounded per worker (#10): at most
``server.threads`` + 3 per worker (the thread pool, the event loop, and the
LISTEN connections of the push notifier and the outbound queue), whatever the load — the sizing rule of
the operator guide (hosts x workers x (threads + 3) + 2 <= max_connections)."""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import pytest

from jmapd.testing import ServeProcess


def test_connections_stay_within_the_documented_bound(tmp_path, jmapd_database):
    if not jmapd_database.startswith("postgres"):
        pytest.skip("PostgreSQL only: SQLite has no server-side connections to count")
    import psycopg2

    threads, workers = 3, 2
    server = ServeProcess(tmp_path, jmapd_database, workers=workers, server_yaml="")
    server.config.write_text(server.config.read_text().replace("  threads: 8\n", f"  threads: {threads}\n"))
    users = [f"load{n}" for n in range(4)]  # 5 requests each in flight: under maxConcurrentRequests
    for user in users:
        server.cli("user", "add", user, "--password-stdin", stdin="load-password\n")
    name = jmapd_database.rsplit("/", 1)[1]

    def connections() -> int:
        conn = psycopg2.connect(jmapd_database)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) - 1 FROM pg_stat_activity WHERE datname = %s", (name,))
                return int(cur.fetchone()[0])
        finally:
            conn.close()

    before = connections()  # the suite's own connections to this database
    server.start()

    def load(n: int) -> None:
        with httpx.Client(auth=(users[n % len(users)], "load-password"), timeout=30) as http:
            for _ in range(15):
                for _ in range(100):  # a first login may meet "verification busy" (503): real Argon2
                    resp = http.post(server.url + "/jmap/api", json={
                        "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
                        "methodCalls": [["Mailbox/get", {}, "0"]]})
                    if resp.status_code != 503:
                        break
                    time.sleep(0.1)
                assert resp.status_code == 200, resp.text

    peak = 0
    try:
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            futures = [pool.submit(load, i) for i in range(20)]
            while not all(f.done() for f in futures):
                peak = max(peak, connections() - before)
            for f in futures:
                f.result()
        peak = max(peak, connections() - before)
    finally:
        server.stop()
    assert peak > workers  # the load reached the database through the workers
    assert peak <= workers * (threads + 3) + 2, peak
