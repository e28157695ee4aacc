"""Shared benchmark plumbing: start `jmapd serve`, make a user, time calls.

Every benchmark talks to a real server over loopback HTTP, exactly as a
client would, and prints medians and 95th percentiles.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def scratch_dir(prefix: str = "jmapd-bench-", keep: bool = False) -> Path:
    """A temporary directory removed when the bench exits, so repeated runs
    don't fill /tmp with corpora and databases (``JMAPD_BENCH_KEEP=1`` keeps
    it, for looking at a server's files after a run)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if not (keep or os.environ.get("JMAPD_BENCH_KEEP")):
        atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(root: int) -> set[int]:
    """``root`` and every process below it, read from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found = {root}
    grown = True
    while grown:
        below = {pid for pid, parent in parents.items() if parent in found} - found
        found |= below
        grown = bool(below)
    return found


class Server:
    """`jmapd serve` in a process group of its own, torn down on exit."""

    def __init__(
        self, workers: int = 2, database: str | None = None, extra_yaml: str = "", directory: Path | None = None,
        keep: bool = False,
    ) -> None:
        #: ``keep``: the bench prints the directory for a later ``--reuse``.
        self.dir = directory or scratch_dir(keep=keep)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        db = database or f"sqlite:///{self.dir / 'jmapd.sqlite3'}"
        self.config = self.dir / "jmapd.yaml"
        self.config.write_text(
            f"capabilities: null\nserver:\n  data_dir: {self.dir / 'data'}\n"
            f"database:\n  url: {db}\nlog:\n  access_log: false\n  level: WARNING\n"
            "auth:\n  failure_threshold: 100000\n" + extra_yaml
        )
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, stdin: str | None = None) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
        out = subprocess.run(
            [sys.executable, "-m", "jmapd.cli", "--config", str(self.config), *args],
            input=stdin, capture_output=True, text=True, env=env, check=True,
        )
        return out.stdout

    def start(self) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jmapd.cli", "--config", str(self.config), "serve",
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def user(self, name: str = "bench", password: str = "bench-password") -> tuple[str, str]:
        self.cli("user", "add", name, "--password-stdin", stdin=password + "\n")
        return name, password

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker process, in MB."""
        assert self.proc is not None
        pids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        out = []
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    out.append(int(line.split()[1]) / 1024)
        return out

    def pss_mb(self) -> dict[int, float]:
        """Proportional set size of the master and every process under it
        (workers, the LMTP listener...), in MB: shared pages (what workers
        inherit from the master by fork) count once across them, so the sum
        is the server's real footprint, unlike a sum of RSS."""
        assert self.proc is not None
        tree = process_tree(self.proc.pid)
        out = {}
        for pid in tree:
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            out[pid] = next((int(line.split()[1]) / 1024 for line in rollup.splitlines() if line.startswith("Pss:")), 0.0)
        return out

    def sample_pss(self, interval: float = 0.5) -> Callable[[], tuple[float, float]]:
        """Sample the summed PSS in a thread until the returned function is
        called; it answers (peak, last) in MB."""
        stop = threading.Event()
        seen = [0.0, 0.0]

        def watch() -> None:
            while not stop.wait(interval):
                total = sum(self.pss_mb().values())
                seen[0], seen[1] = max(seen[0], total), total

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()

        def done() -> tuple[float, float]:
            stop.set()
            thread.join()
            return seen[0], seen[1]

        return done

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def run_load(fn: Callable[[httpx.Client], Any], clients: int, requests: int, make_client: Callable[[], httpx.Client]) -> dict[str, float]:
    """Run ``requests`` calls of ``fn`` spread over ``clients`` threads."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    per_client = max(1, requests // clients)

    def worker() -> None:
        http = make_client()
        local = []
        for _ in range(per_client):
            started = time.perf_counter()
            try:
                fn(http)
            except Exception:
                with lock:
                    errors[0] += 1
                continue
            local.append(time.perf_counter() - started)
        http.close()
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": percentile(latencies, 0.95) * 1000 if latencies else float("nan"),
    }


def report(name: str, result: dict[str, float]) -> None:
    print(
        f"{name:<42} {result['rps']:>9.1f} req/s   p50 {result['p50_ms']:>7.2f} ms   "
        f"p95 {result['p95_ms']:>7.2f} ms   ({int(result['requests'])} ok, {int(result['errors'])} errors)"
    )
