"""Stopping a real `jmapd serve` ends its EventSource streams at once
instead of waiting out gunicorn's 10 s graceful timeout."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest

from jmapd.testing import ServeProcess


@pytest.mark.slow
def test_shutdown_closes_push_streams_promptly(tmp_path, jmapd_database):
    server = ServeProcess(tmp_path, jmapd_database, workers=1).start()
    try:
        user = "streamer@example.com"
        server.cli("user", "add", user, "--password-stdin", stdin="pw\n")
        ended: dict[str, object] = {}
        opened = threading.Event()

        def listen() -> None:
            with httpx.Client(base_url=server.url, auth=(user, "pw"), timeout=30) as http:
                try:
                    with http.stream("GET", "/jmap/eventsource?types=*&closeafter=no&ping=0") as resp:
                        for line in resp.iter_lines():
                            if line.startswith(":"):
                                opened.set()
                    ended["how"] = "closed"
                except httpx.HTTPError as exc:
                    ended["how"] = f"error: {exc!r}"
                ended["at"] = time.monotonic()

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        assert opened.wait(15), "the stream did not open"
        stopped_at = time.monotonic()
        os.kill(server.proc.pid, signal.SIGTERM)
        server.proc.wait(30)
        thread.join(30)
    finally:
        server.stop()
    log = server.proc.stderr.read().decode()
    assert ended.get("how") == "closed", ended  # ended by the server, cleanly, not cut
    took = float(ended["at"]) - stopped_at  # type: ignore[arg-type]
    print(f"stream ended {took:.2f} s after SIGTERM")
    assert "graceful shutdown exceeded" not in log and "SIGKILL" not in log, log[-2000:]
    assert took < 8, took  # well inside the 10 s graceful timeout it used to wait out
