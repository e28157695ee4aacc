"""Core benchmark: Core/echo and a 16-call batch under `jmapd serve --workers 2`.

    python bench/core.py [--requests 2000] [--clients 8] [--database URL]

Prints requests/second and median/p95 latency, measured from client
threads on the same machine (they share its cores with the server).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, report, run_load  # noqa: E402

CORE = "urn:ietf:params:jmap:core"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", help="postgresql://… (default: a fresh SQLite file)")
    args = parser.parse_args()

    server = Server(workers=args.workers, database=args.database)
    server.cli("migrate")
    auth = server.user()
    server.start()
    try:
        def make_client() -> httpx.Client:
            return httpx.Client(base_url=server.url, auth=auth, timeout=30)

        echo = {"using": [CORE], "methodCalls": [["Core/echo", {"hello": True}, "0"]]}
        batch = {"using": [CORE], "methodCalls": [["Core/echo", {"i": i, "payload": "x" * 64}, str(i)] for i in range(16)]}

        def call(body: dict) -> object:
            def fn(http: httpx.Client) -> None:
                resp = http.post("/jmap/api", json=body)
                resp.raise_for_status()
            return fn

        run_load(call(echo), args.clients, 200, make_client)  # warm up (password cache, connections)
        print(f"jmapd core benchmark: {args.workers} workers, {args.clients} client threads, {args.requests} requests each")
        report("Core/echo", run_load(call(echo), args.clients, args.requests, make_client))
        report("16 x Core/echo in one request", run_load(call(batch), args.clients, args.requests, make_client))
        report("Core/echo, 1 client (latency)", run_load(call(echo), 1, min(500, args.requests), make_client))
        print("worker RSS (MB): " + ", ".join(f"{m:.1f}" for m in server.worker_rss_mb()))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
