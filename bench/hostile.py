"""What an attack costs *another* user (issue #16).

    python bench/hostile.py [--database URL] [--seconds 8] [--only NAME ...]

Starts `jmapd serve` (2 workers, the real login throttle: 5 failures), makes a
victim with 60 messages, and measures the victim's "open inbox" request
(Email/query inMailbox=inbox, receivedAt desc, limit 50 + back-referenced
Email/get of the list properties) on ONE keep-alive connection from
127.0.0.1: quiet, then while each attack runs from other loopback addresses
(all of 127/8 is loopback on Linux), each bounded to --seconds:

  * guessers:  32 threads guessing passwords, each from its own address, a
               fresh user name per guess (so only the address lock stops them);
  * idle:      2,000 idle connections (20 addresses x 100; a connection the
               server refuses or closes is re-opened);
  * slowloris: 500 sockets trickling a request head, one header line a second;
  * queries:   4 threads of another user running a 300-term full-text OR
               Email/query.

Prints the victim's median and p95 per phase, the ratio to quiet, failed
victim requests, what the attackers got back, and worker memory (RSS).
Loopback only; bounded in time and count.
"""

from __future__ import annotations

import argparse
import base64
import resource
import secrets
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, percentile  # noqa: E402

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"]
LIST_PROPS = ["threadId", "mailboxIds", "keywords", "from", "subject", "receivedAt", "preview"]


def message(i: int) -> bytes:
    return (
        f"From: Sender {i} <s{i}@example.com>\r\nTo: victim@example.com\r\nSubject: message {i} quarterly report\r\n"
        f"Date: Mon, 1 Jun 2026 10:{i % 60:02d}:00 +0000\r\nMessage-ID: <m{i}@example.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + "budget review agenda minutes\r\n" * 20
    ).encode()


def setup_mail(http: httpx.Client, count: int = 60) -> tuple[str, str]:
    session = http.get("/.well-known/jmap").json()
    account = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
    boxes = api(http, [["Mailbox/get", {"accountId": account, "ids": None}, "0"]])[0][1]["list"]
    inbox = next(b["id"] for b in boxes if b.get("role") == "inbox")
    uploads = {f"b{i}": {"data": [{"data:asBase64": base64.b64encode(message(i)).decode()}], "type": "message/rfc822"}
               for i in range(count)}
    emails = {f"e{i}": {"blobId": f"#b{i}", "mailboxIds": {inbox: True}} for i in range(count)}
    out = api(http, [["Blob/upload", {"accountId": account, "create": uploads}, "u"],
                     ["Email/import", {"accountId": account, "emails": emails}, "0"]],
              using=[*USING, "urn:ietf:params:jmap:blob"])
    assert not out[-1][1].get("notCreated"), out
    return account, inbox


def api(http: httpx.Client, calls: list[Any], using: list[str] = USING) -> list[Any]:
    resp = http.post("/jmap/api", json={"using": using, "methodCalls": calls})
    resp.raise_for_status()
    return list(resp.json()["methodResponses"])


def open_inbox_calls(account: str, inbox: str) -> list[Any]:
    return [
        ["Email/query", {"accountId": account, "filter": {"inMailbox": inbox},
                         "sort": [{"property": "receivedAt", "isAscending": False}], "limit": 50}, "q"],
        ["Email/get", {"accountId": account, "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                       "properties": LIST_PROPS}, "g"],
    ]


class Attack:
    """Threads that run ``step`` until stopped, counting what they got back."""

    def __init__(self, threads: int, step: Callable[[int, threading.Event, Counter[str]], None]) -> None:
        self.stop = threading.Event()
        self.outcomes: Counter[str] = Counter()
        self.threads = [threading.Thread(target=self._run, args=(i, step), daemon=True) for i in range(threads)]

    def _run(self, i: int, step: Callable[[int, threading.Event, Counter[str]], None]) -> None:
        while not self.stop.is_set():
            try:
                step(i, self.stop, self.outcomes)
            except (OSError, httpx.HTTPError) as exc:
                self.outcomes[type(exc).__name__] += 1
                time.sleep(0.05)

    def __enter__(self) -> Attack:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)


def guessers(url: str) -> Attack:
    def step(i: int, stop: threading.Event, out: Counter[str]) -> None:
        transport = httpx.HTTPTransport(local_address=f"127.0.1.{i + 1}")
        with httpx.Client(base_url=url, transport=transport, timeout=30) as http:
            while not stop.is_set():
                resp = http.get("/.well-known/jmap", auth=(f"guess{secrets.token_hex(4)}", "wrong"))
                out[str(resp.status_code)] += 1
                if resp.status_code == 429:
                    time.sleep(0.01)  # a real guesser would keep hammering; a tiny pause keeps the bench's CPU for the server

    return Attack(32, step)


def _sockets(port: int, count: int, addresses: int, head: bytes | None, trickle: bool) -> Attack:
    per = count // addresses

    def step(i: int, stop: threading.Event, out: Counter[str]) -> None:
        socks: list[socket.socket] = []
        source = f"127.0.{2 + trickle}.{i + 1}"

        def fill() -> None:
            while len(socks) < per and not stop.is_set():
                s = socket.create_connection(("127.0.0.1", port), source_address=(source, 0), timeout=5)
                s.setblocking(False)
                if head:
                    s.sendall(head)
                socks.append(s)
                out["opened"] += 1

        try:
            while not stop.is_set():
                fill()
                time.sleep(1.0)
                for s in list(socks):
                    try:
                        if trickle:
                            s.sendall(b"X-Slow: 1\r\n")
                        data = s.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    out[data.split(b"\r\n")[0].decode(errors="replace") or "closed by server"] += 1
                    s.close()
                    socks.remove(s)
        finally:
            for s in socks:
                s.close()

    return Attack(addresses, step)


def idle(port: int) -> Attack:
    return _sockets(port, 2000, 20, None, trickle=False)


def slowloris(port: int) -> Attack:
    return _sockets(port, 500, 5, b"GET /.well-known/jmap HTTP/1.1\r\nHost: x\r\n", trickle=True)


def queries(url: str, auth: tuple[str, str]) -> Attack:
    http_setup = httpx.Client(base_url=url, auth=auth, timeout=120)
    account, _ = setup_mail(http_setup, 200)
    words = ["budget", "review", "agenda", "minutes", "quarterly", "nothing"]
    big = {"operator": "OR", "conditions": [{"text": f"{words[n % 6]}{n // 6 or ''}"} for n in range(300)]}

    def step(i: int, stop: threading.Event, out: Counter[str]) -> None:
        with httpx.Client(base_url=url, auth=auth, timeout=120) as http:
            while not stop.is_set():
                resp = http.post("/jmap/api", json={"using": USING, "methodCalls": [
                    ["Email/query", {"accountId": account, "filter": big, "limit": 10}, "0"]]})
                kind = resp.json()["methodResponses"][0][1].get("type", "ok") if resp.status_code == 200 else ""
                out[f"{resp.status_code} {kind}".strip()] += 1

    return Attack(4, step)


def measure(victim: Callable[[], None], seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            victim()
            latencies.append(time.perf_counter() - started)
        except (httpx.HTTPError, AssertionError):
            failures += 1
        time.sleep(0.05)
    return latencies, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="postgresql://... of an empty database the bench may fill"
                        " (default: SQLite in a temporary directory)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--only", nargs="*", choices=["guessers", "idle", "slowloris", "queries"])
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))  # the attacker's own sockets

    server = Server(workers=2, database=args.database, extra_yaml="auth:\n  failure_threshold: 5\n").start()
    try:
        victim_auth = server.user("victim", "victim-password")
        attacker_auth = server.user("heavy", "heavy-password")
        http = httpx.Client(base_url=server.url, auth=victim_auth, timeout=30)
        account, inbox = setup_mail(http)
        calls = open_inbox_calls(account, inbox)

        def victim() -> None:
            out = api(http, calls)
            assert out[1][0] == "Email/get" and len(out[1][1]["list"]) == 50, out

        victim()
        attacks: dict[str, Callable[[], Attack]] = {
            "guessers": lambda: guessers(server.url),
            "idle": lambda: idle(server.port),
            "slowloris": lambda: slowloris(server.port),
            "queries": lambda: queries(server.url, attacker_auth),
        }
        rows = []
        quiet, quiet_fail = measure(victim, args.seconds)
        quiet_rss = server.worker_rss_mb()
        q50 = statistics.median(quiet)
        rows.append(("quiet", quiet, quiet_fail, quiet_rss, Counter()))
        for name, make in attacks.items():
            if args.only and name not in args.only:
                continue
            attack = make()
            with attack:
                time.sleep(min(2.0, args.seconds / 4))  # let the attack build up
                lat, fail = measure(victim, args.seconds)
                rss = server.worker_rss_mb()
            rows.append((name, lat, fail, rss, attack.outcomes))
            time.sleep(1.0)
        print(f"victim: open inbox (Email/query + Email/get of 50), {args.seconds:.0f} s per phase, "
              f"{'PostgreSQL' if args.database else 'SQLite'}, 2 workers")
        print(f"{'phase':<10} {'n':>4} {'median ms':>10} {'p95 ms':>8} {'x quiet':>8} {'failed':>6} "
              f"{'max RSS MB':>10}  attackers got")
        for name, lat, fail, rss, outcomes in rows:
            med = statistics.median(lat) if lat else float("nan")
            p95 = percentile(lat, 0.95) if lat else float("nan")
            got = ", ".join(f"{k}: {v}" for k, v in outcomes.most_common(4))
            print(f"{name:<10} {len(lat):>4} {med * 1000:>10.1f} {p95 * 1000:>8.1f} {med / q50:>8.2f} {fail:>6} "
                  f"{max(rss, default=0):>10.0f}  {got}")
        print(f"quiet RSS per worker: {', '.join(f'{r:.0f}' for r in quiet_rss)} MB")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
