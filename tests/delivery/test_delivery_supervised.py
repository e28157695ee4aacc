"""The LMTP listener of a real `jmapd serve` is supervised: restarted after
kill -9 or a failed bind, and /readyz says when it is not answering; and
`jmapd lmtp` runs it alone."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from jmapd.testing import ServeProcess, free_port, wait_for


def lmtp_pids(master: int) -> list[int]:
    """The master's children started by the supervisor (multiprocessing spawn)."""
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    pids = []
    for pid in map(int, out.split()):
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except OSError:
            pass
    return pids


def deliver(port: int, user: str) -> dict[str, tuple[int, bytes]]:
    with smtplib.LMTP("127.0.0.1", port, timeout=10) as lmtp:
        return lmtp.sendmail("a@example.net", [user], f"Subject: {uuid.uuid4().hex}\r\n\r\nhi\r\n")


def ready(server: ServeProcess) -> httpx.Response:
    return httpx.get(server.url + "/readyz", timeout=5)


def serve_with_lmtp(tmp_path: Path, database: str, port: int) -> ServeProcess:
    return ServeProcess(tmp_path, database, workers=1,
                        extra_yaml=f"delivery:\n  lmtp: true\n  lmtp_port: {port}\n")


@pytest.mark.slow
def test_a_killed_listener_is_restarted(tmp_path, jmapd_database):
    port = free_port()
    server = serve_with_lmtp(tmp_path, jmapd_database, port).start()
    try:
        user = f"u{uuid.uuid4().hex[:8]}@example.com"
        server.cli("user", "add", user, "--password-stdin", stdin="pw\n")
        body = ready(server).json()
        assert body["checks"]["lmtp"] == "ok" and body["checks"]["task:submission"] == "ok"
        assert deliver(port, user) == {}
        [first] = wait_for(lambda: lmtp_pids(server.proc.pid), lambda p: len(p) == 1)
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: lmtp_pids(server.proc.pid), lambda p: len(p) == 1 and p[0] != first, timeout=20)
        wait_for(lambda: ready(server).status_code, lambda code: code == 200, timeout=20)
        assert deliver(port, user) == {}  # mail flows again
    finally:
        server.stop()
    log = server.proc.stderr.read().decode()
    assert f"(pid {first}) exited" in log and "restarting in 1 s" in log


@pytest.mark.slow
def test_a_listener_that_cannot_bind_is_reported_then_retried(tmp_path, jmapd_database):
    port = free_port()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", port))  # taken, and nobody answers there
    server = serve_with_lmtp(tmp_path, jmapd_database, port).start(ready_path="/healthz")
    try:
        [first] = wait_for(lambda: lmtp_pids(server.proc.pid), lambda p: len(p) == 1)
        # the listener fails to bind and exits; the supervisor starts another
        wait_for(lambda: lmtp_pids(server.proc.pid), lambda p: p and p[0] != first, timeout=30)
        resp = ready(server)
        assert resp.status_code == 503
        assert resp.json()["lmtp"].startswith(f"not answering on 127.0.0.1:{port}")
        assert resp.json()["checks"]["database"] == "ok"
        blocker.close()
        wait_for(lambda: ready(server).status_code, lambda code: code == 200, timeout=40)
        user = f"u{uuid.uuid4().hex[:8]}@example.com"
        server.cli("user", "add", user, "--password-stdin", stdin="pw\n")
        assert deliver(port, user) == {}
    finally:
        blocker.close()
        server.stop()
    log = server.proc.stderr.read().decode()
    assert f"LMTP listener cannot listen on 127.0.0.1:{port}: Address already in use" in log
    assert "Traceback" not in log


@pytest.mark.slow
def test_jmapd_lmtp_runs_the_listener_alone(tmp_path, jmapd_database):
    port = free_port()
    config = tmp_path / "jmapd.yaml"
    config.write_text(f"server:\n  data_dir: {tmp_path / 'data'}\ndatabase:\n  url: {jmapd_database}\n"
                      f"delivery:\n  lmtp_port: {port}\nlog:\n  level: INFO\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    user = f"u{uuid.uuid4().hex[:8]}@example.com"
    subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "user", "add", user, "--password-stdin"],
                   input="pw\n", text=True, env=env, check=True, capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "jmapd.cli", "--config", str(config), "lmtp"], env=env,
                            stderr=subprocess.PIPE)
    try:
        def attempt() -> dict[str, tuple[int, bytes]] | None:
            try:
                return deliver(port, user)
            except OSError:
                return None

        assert wait_for(attempt, lambda r: r is not None, timeout=30) == {}
        # a second one cannot bind: one line and exit 1, for its supervisor
        second = subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "lmtp"], env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert f"LMTP listener cannot listen on 127.0.0.1:{port}: Address already in use" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        proc.terminate()
        proc.wait(10)
    log = proc.stderr.read().decode()
    # at INFO one line per transaction; no protocol bytes, nothing about a normal QUIT
    assert len([line for line in log.splitlines() if "LMTP from=<a@example.net>" in line]) == 1, log
    assert "mail.log" not in log and ">> b'" not in log and "Connection lost" not in log, log
    assert " ERROR " not in log, log
