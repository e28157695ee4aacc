"""LMTP delivery benchmark (issue #17): messages per second into one mailbox store.

    python bench/lmtp.py [--count 1000] [--parallel 4] [--database URL]

Starts ``jmapd serve --workers 2`` with the LMTP listener, makes four users,
and delivers --count messages of bench/mail.py's corpus (median about
8.7 KB) each way:

  * sequential: one LMTP connection after another, one message each (what a
    Postfix with a small ``lmtp_destination_concurrency_limit`` does);
  * one connection, many transactions (connection caching);
  * --parallel connections at once, each a message at a time.

Every 250 reply is only given once the message is durable, so the figure is
what the server can safely take. Prints messages/s for each, the median
and p95 of one transaction, and the CPU time per message of the LMTP
listener process and of the whole server (listener, HTTP workers, master):
steadier than wall time on a loaded machine.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import smtplib
import socket
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, free_port, percentile, process_tree  # noqa: E402
from mail import USING, Corpus  # noqa: E402


def fold(data: bytes) -> bytes:
    """Lines cut to 998 octets, as an MTA's LMTP client does (Postfix's smtp_line_length_limit)."""
    lines = data.split(b"\r\n")
    if all(len(line) <= 998 for line in lines):
        return data
    out = []
    for line in lines:
        while len(line) > 998:
            out.append(line[:900])
            line = line[900:]
        out.append(line)
    return b"\r\n".join(out)


def listening_pid(root: int, port: int) -> int:
    """The process of ``root``'s tree with the listening socket on ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for pid in process_tree(root):
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    return pid
            except OSError:
                continue
    raise SystemExit(f"no process listens on {port}")


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU time of ``pids`` so far (children they reaped included)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / tick


def deliver_one(port: int, sender: str, rcpt: str, data: bytes) -> float:
    started = time.perf_counter()
    with smtplib.LMTP("127.0.0.1", port, local_hostname="bench.client") as lmtp:
        lmtp.sendmail(sender, [rcpt], data)
    return time.perf_counter() - started


def total(server: Server, user: str, password: str) -> int:
    with httpx.Client(base_url=server.url, auth=(user, password), timeout=60) as http:
        session = http.get("/.well-known/jmap").json()
        account = next(a for a, v in session["accounts"].items() if v["isPersonal"])
        resp = http.post("/jmap/api", json={"using": USING, "methodCalls": [
            ["Email/query", {"accountId": account, "calculateTotal": True, "limit": 1}, "0"]]}).json()
        return int(resp["methodResponses"][0][1]["total"])


class Meter:
    """CPU per message of the listener and of the whole server over one run."""

    def __init__(self, server: Server, port: int) -> None:
        assert server.proc is not None
        self.listener = {listening_pid(server.proc.pid, port)}
        self.tree = process_tree(server.proc.pid)
        self.start()

    def start(self) -> None:
        self.started = time.perf_counter()
        self.cpu = (cpu_seconds(self.listener), cpu_seconds(self.tree))

    def summary(self, name: str, count: int, latencies: list[float]) -> None:
        seconds = time.perf_counter() - self.started
        listener = (cpu_seconds(self.listener) - self.cpu[0]) / count * 1000
        whole = (cpu_seconds(self.tree) - self.cpu[1]) / count * 1000
        print(f"{name:<34} {count / seconds:7.1f} msg/s  p50 {statistics.median(latencies) * 1000:6.1f} ms"
              f"  p95 {percentile(latencies, 0.95) * 1000:6.1f} ms  CPU/msg listener {listener:5.2f} ms"
              f"  server {whole:5.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--database")
    args = parser.parse_args()

    port = free_port()
    server = Server(database=args.database, extra_yaml=(
        f"delivery:\n  lmtp: true\n  lmtp_port: {port}\n  domains: [bench.example]\n"))
    users = [server.user(f"user{i}", f"password-{i}") for i in range(4)]
    server.start()
    deadline = time.monotonic() + 60
    while True:  # the LMTP listener is its own process, up shortly after HTTP
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("the LMTP listener did not come up") from None
            time.sleep(0.2)
    corpus = Corpus()
    messages = [fold(corpus.message(i, args.count)) for i in range(args.count)]
    sizes = sorted(len(m) for m in messages)
    print(f"corpus: {args.count} messages, median {sizes[len(sizes) // 2] / 1000:.1f} KB;"
          f" {'PostgreSQL' if args.database else 'SQLite'}, 2 workers")
    sender = "sender@example.com"
    try:
        # A warm-up so the first figure does not include the server's own start-up.
        for i in range(5):
            deliver_one(port, sender, "user3@bench.example", messages[i])

        meter = Meter(server, port)
        latencies = []
        for data in messages:
            latencies.append(deliver_one(port, sender, "user0@bench.example", data))
        meter.summary("sequential, a connection each", len(messages), latencies)

        latencies = []
        meter.start()
        with smtplib.LMTP("127.0.0.1", port, local_hostname="bench.client") as lmtp:
            for data in messages:
                t = time.perf_counter()
                lmtp.sendmail(sender, ["user1@bench.example"], data)
                latencies.append(time.perf_counter() - t)
        meter.summary("one connection, many transactions", len(messages), latencies)

        meter.start()
        with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
            latencies = list(pool.map(lambda d: deliver_one(port, sender, "user2@bench.example", d), messages))
        meter.summary(f"{args.parallel} parallel connections", len(messages), latencies)

        for n, (user, password) in enumerate(users[:3]):
            got = total(server, user, password)
            assert got == len(messages), f"user{n} has {got} of {len(messages)}"
    finally:
        server.stop()


if __name__ == "__main__":
    main()
