"""Fixtures of the events plugin tests: an EventSource client over a real
socket, a loopback push receiver, and a server with test-friendly timings."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

FAST = {
    "events": {
        "ping_min": 1,
        "keepalive": 1,
        "poll_interval": 0.05,
        "allow_http": True,
        "push_allow": ["127.0.0.0/8", "::1"],
        "retry_base_delay": 0.2,
        "retry_max_delay": 1.0,
    }
}


class SSE:
    """An EventSource client: a thread reads the stream, parsing events per
    the WHATWG rules (an ``id:`` with no data still sets the last id)."""

    def __init__(self, http: httpx.Client, url: str, headers: dict[str, str] | None = None) -> None:
        # A client of its own, so closing the stream really closes its socket.
        http = httpx.Client(
            base_url=http.base_url, auth=http.auth, timeout=httpx.Timeout(30, read=None)
        )
        self.events: queue.Queue[tuple[str, Any, str | None]] = queue.Queue()
        self.last_id: str | None = None
        self.comments: list[str] = []
        self.status: int | None = None
        self.closed = threading.Event()
        self._opened = threading.Event()
        self._http = http
        self._cm = http.stream("GET", url, headers=headers or {})
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._opened.wait(10), "stream did not open"

    def _run(self) -> None:
        try:
            with self._cm as resp:
                self._resp = resp
                self.status = resp.status_code
                self.headers = resp.headers
                self._opened.set()
                if resp.status_code != 200:
                    resp.read()
                    self.body = resp.text
                    return
                event, data = None, []
                for line in resp.iter_lines():
                    if line == "":
                        if data:
                            payload = "\n".join(data)
                            self.events.put((event or "message", json.loads(payload), self.last_id))
                        event, data = None, []
                        continue
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                        continue
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "event":
                        event = value
                    elif name == "data":
                        data.append(value)
                    elif name == "id":
                        self.last_id = value
        except Exception:  # closed under our feet by close()
            pass
        finally:
            self._opened.set()
            self.closed.set()

    def next(self, kind: str = "state", timeout: float = 10) -> Any:
        """The next event of ``kind`` (others are skipped); fails on timeout."""
        while True:
            try:
                event, data, _ = self.events.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {kind} event within {timeout}s") from None
            if event == kind:
                return data

    def none(self, kind: str = "state", wait: float = 0.0) -> None:
        """No ``kind`` event arrived so far (or within ``wait``): call it after a
        positive control proved such an event would have come by now."""
        try:
            while True:
                event, data, _ = self.events.get(timeout=wait)
                assert event != kind, f"unexpected {kind} event {data}"
        except queue.Empty:
            pass

    def wait_id(self, timeout: float = 5) -> str:
        """The first event id (the server sends one as soon as the stream opens)."""
        deadline = time.monotonic() + timeout
        while self.last_id is None:
            assert time.monotonic() < deadline, "no event id"
            time.sleep(0.01)
        return self.last_id

    @property
    def worker(self) -> str | None:
        for text in self.comments:
            if text.startswith("jmapd-events "):
                return text.split()[1]
        return None

    def close(self) -> None:
        # Shut the socket down: closing the client alone leaves the reader
        # thread blocked in recv until the server next writes.
        resp = getattr(self, "_resp", None)
        stream = resp.extensions.get("network_stream") if resp is not None else None
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            self._http.close()
        except Exception:
            pass
        assert self.closed.wait(5), "the stream reader did not stop"


@pytest.fixture
def sse():
    opened: list[SSE] = []

    def open_stream(http: httpx.Client, url: str, headers: dict[str, str] | None = None) -> SSE:
        stream = SSE(http, url, headers)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


@pytest.fixture(scope="session")
def fast_server(jmapd_database, jmapd_data_dir):
    """A server with short pings, fast retries and loopback push allowed."""
    from jmapd.testing import start_server

    server = start_server(FAST, jmapd_data_dir, jmapd_database)
    yield server
    server.stop()


class Receiver:
    """A loopback push endpoint recording every POST; ``statuses`` scripts replies."""

    def __init__(self) -> None:
        self.posts: queue.Queue[tuple[str, dict[str, str], bytes]] = queue.Queue()
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.statuses.pop(0) if receiver.statuses else 201
                receiver.posts.put((self.path, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/push/device?x=1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout: float = 10) -> tuple[str, dict[str, str], bytes]:
        try:
            return self.posts.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no push within {timeout}s") from None

    def next_json(self, timeout: float = 10) -> dict[str, Any]:
        return json.loads(self.next(timeout)[2])

    def nothing(self, wait: float = 1.0) -> None:
        """No push within ``wait``: only after a positive control (see
        :meth:`until_control`) showed that a push would have come by now."""
        try:
            got = self.posts.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected push {got}")

    def until_control(self, path: str, timeout: float = 10) -> list[tuple[str, dict[str, str], bytes]]:
        """The pushes that arrive before the first one to ``path`` (the
        positive control: a live subscription told of the same change);
        the control itself is consumed."""
        before = []
        while True:
            got = self.next(timeout)
            if got[0] == path:
                return before
            before.append(got)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def make_note(client: Any, title: str = "hello") -> str:
    """A Note through the API (the example plugin's type): a committed change."""
    result = client.ok("Note/set", {"create": {"n": {"title": title}}})
    assert result["created"], result
    return str(result["created"]["n"]["id"])


@pytest.fixture
def new_note():
    return make_note
