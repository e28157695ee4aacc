"""Push benchmark: thousands of idle EventSource streams on `jmapd serve --workers 2`.

    python bench/push.py [--connections 2000] [--users 10] [--changes 20] [--database URL]

Opens the streams over loopback (spread over the users, so each user's
streams land on both workers), then:

- connections held: streams open and answered 200;
- memory per connection: growth of the workers' resident memory / streams;
- API latency while they are held: Core/echo median and p95;
- notification latency: a Note is created through the API, and for every
  stream of that user the time from sending the API request until the state
  event arrives is taken (an upper bound on commit-to-client, since the
  commit happens inside the request; the API round trip is printed too).

Everything runs on one machine, so client and server share its cores. The
whole run is bounded by --timeout seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, percentile  # noqa: E402

CORE = "urn:ietf:params:jmap:core"
NOTES = "urn:example:notes"


class Stream:
    """A minimal EventSource client on a raw asyncio connection (cheap enough
    to hold thousands from one process)."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.arrivals: dict[str, float] = {}  # Note state -> arrival time
        self.writer: asyncio.StreamWriter | None = None

    async def open(self, port: int, auth: str) -> bool:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer = writer
        writer.write(
            (
                "GET /jmap/eventsource?types=Note&closeafter=no&ping=0 HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nAuthorization: {auth}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            writer.close()
            return False
        asyncio.get_running_loop().create_task(self.read(reader))
        return True

    async def read(self, reader: asyncio.StreamReader) -> None:
        # The body is chunked; SSE lines are found inside the chunks.
        buffer = b""
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                now = time.perf_counter()
                buffer += data
                while b"data: " in buffer:
                    start = buffer.index(b"data: ") + 6
                    end = buffer.find(b"\n", start)
                    if end < 0:
                        break
                    try:
                        change = json.loads(buffer[start:end])
                    except ValueError:
                        change = None
                    buffer = buffer[end:]
                    if change and change.get("@type") == "StateChange":
                        for types in change["changed"].values():
                            if "Note" in types:
                                self.arrivals.setdefault(types["Note"], now)
        except (ConnectionError, asyncio.CancelledError):
            return

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def run(server: Server, users: list[tuple[str, str]], connections: int, changes: int) -> None:
    rss_before = sum(server.worker_rss_mb())
    streams: list[Stream] = []
    failed = 0
    started = time.perf_counter()
    batch = 100
    for first in range(0, connections, batch):
        group = [Stream(users[i % len(users)][0]) for i in range(first, min(connections, first + batch))]
        results = await asyncio.gather(
            *(s.open(server.port, basic(*next(u for u in users if u[0] == s.user))) for s in group),
            return_exceptions=True,
        )
        for stream, ok in zip(group, results, strict=True):
            if ok is True:
                streams.append(stream)
            else:
                failed += 1
    opened = time.perf_counter() - started
    await asyncio.sleep(2)
    rss_after = sum(server.worker_rss_mb())
    print(f"connections held:        {len(streams)} of {connections} ({failed} failed), opened in {opened:.1f}s")
    print(f"worker memory:           {rss_before:.0f} MB -> {rss_after:.0f} MB (2 workers)")
    if streams:
        print(f"memory per connection:   {(rss_after - rss_before) * 1024 / len(streams):.1f} KB")

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        # API latency while the streams are held.
        echo = []
        user, password = users[0]
        for _ in range(200):
            t0 = time.perf_counter()
            resp = await http.post(
                "/jmap/api",
                json={"using": [CORE], "methodCalls": [["Core/echo", {}, "c"]]},
                auth=(user, password),
            )
            resp.raise_for_status()
            echo.append((time.perf_counter() - t0) * 1000)
        print(f"API Core/echo:           p50 {statistics.median(echo):.2f} ms   p95 {percentile(echo, 0.95):.2f} ms")

        latencies: list[float] = []
        api: list[float] = []
        missing = 0
        for i in range(changes):
            user, password = users[i % len(users)]
            session = (await http.get("/jmap/session", auth=(user, password))).json()
            account = session["primaryAccounts"][NOTES]
            t0 = time.perf_counter()
            resp = await http.post(
                "/jmap/api",
                json={
                    "using": [CORE, NOTES],
                    "methodCalls": [["Note/set", {"accountId": account, "create": {"n": {"title": f"n{i}"}}}, "c"]],
                },
                auth=(user, password),
            )
            api.append((time.perf_counter() - t0) * 1000)
            state = resp.json()["methodResponses"][0][1]["newState"]
            mine = [s for s in streams if s.user == user]
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline and not all(state in s.arrivals for s in mine):
                await asyncio.sleep(0.01)
            for s in mine:
                if state in s.arrivals:
                    latencies.append((s.arrivals[state] - t0) * 1000)
                else:
                    missing += 1
        print(f"API Note/set:            p50 {statistics.median(api):.2f} ms   p95 {percentile(api, 0.95):.2f} ms")
        if latencies:
            print(
                f"notification latency:    p50 {statistics.median(latencies):.1f} ms   "
                f"p95 {percentile(latencies, 0.95):.1f} ms   ({len(latencies)} deliveries, {missing} missing)"
            )
    for s in streams:
        s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", help="postgresql://… (default: a fresh SQLite file)")
    parser.add_argument("--timeout", type=float, default=240.0, help="bound on the whole run, seconds")
    args = parser.parse_args()
    per_user = -(-args.connections // args.users)
    server = Server(
        workers=args.workers,
        database=args.database,
        extra_yaml=f"events:\n  max_connections_per_user: {per_user + 10}\n",
    )
    try:
        server.start()
        users = [server.user(f"push{i}", f"push-password-{i}") for i in range(args.users)]
        print(f"jmapd serve --workers {args.workers} on {server.url} ({args.database or 'SQLite'})")
        asyncio.run(asyncio.wait_for(run(server, users, args.connections, args.changes), args.timeout))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
