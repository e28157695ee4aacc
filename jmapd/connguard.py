"""Connection guard for ``jmapd serve``: header deadline and connection caps (#16).

Uvicorn's HTTP/1.1 protocol only times out a connection that is idle
*after* a response; a client that connects and never sends, or trickles a
request head a byte at a time (slowloris), keeps its socket forever, and a
few thousand such sockets exhaust the worker's descriptors, after which
every accept fails and real users get errors. This protocol adds:

- a **header deadline**: a request head must be complete within
  ``connections.header_timeout`` seconds of the connection opening (or of
  its first byte after an idle keep-alive pause), else the socket is closed
  (408 if part of a head arrived);
- a **cap per client address** (IPv6 per /64, as the login throttle
  counts), answered ``429`` with ``Retry-After`` and closed;
- a **cap per worker**, kept below the descriptor limit, answered ``503``
  with ``Retry-After`` and closed instead of failing accepts;
- **rate-limited logging**: one warning per kind per 10 s with a count.

Once the head is in, the deadline is off, so long-lived EventSource
responses and upgraded WebSockets are not cut (they have their own
per-user caps and keepalives in the events plugin). Counts are per worker
process: the event loop is single-threaded, so no lock is needed.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import Counter
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from .auth import address_keys
from .ratelog import RateLimitedLog

log = logging.getLogger("jmapd.connections")

#: Descriptors kept free below the limit for the database, blobs and logs.
DESCRIPTOR_RESERVE = 128


def _response(status: str, retry_after: int | None, text: str) -> bytes:
    body = text.encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
    if retry_after is not None:
        head += f"Retry-After: {retry_after}\r\n"
    return (head + "Connection: close\r\n\r\n").encode() + body


class _ConnectionGuard:
    """The guard, for either of uvicorn's HTTP/1.1 protocols (mixed in before it).

    The protocols differ in when a request head is complete: h11 makes the
    request's scope once the whole head is parsed (:class:`GuardedH11Protocol`
    watches for it in ``data_received``), httptools calls
    ``on_headers_complete`` (:class:`GuardedHttpToolsProtocol`).
    """

    header_timeout: float = 10.0
    max_per_address: int = 128
    max_connections: int = 1000
    #: Addresses never capped (the reverse proxies every client comes through).
    exempt: frozenset[str] = frozenset()
    #: Shared by both protocol classes: one worker serves with one of them.
    _per_address: Counter[str] = Counter()
    _log = RateLimitedLog(log)
    # what the uvicorn protocol provides
    client: Any
    connections: set[Any]
    transport: Any
    loop: asyncio.AbstractEventLoop
    cycle: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard_key: str | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        self._bytes_in_head = 0

    def shutdown(self) -> None:
        """uvicorn asks each connection to finish as the worker stops; a
        streaming response (EventSource) never would by itself, so the
        plugins that hold such streams are told first."""
        from .services import begin_draining

        begin_draining()
        super().shutdown()  # type: ignore[misc]

    # -- accounting ---------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        host = self.client[0] if self.client else ""
        key = address_keys(host)[0]
        if len(self.connections) > self.max_connections:
            self._log.warning("full", f"connection cap of {self.max_connections} per worker reached; refusing")
            self._refuse("503 Service Unavailable", "The server is at its connection limit; retry shortly.")
            return
        if host not in self.exempt and _ConnectionGuard._per_address[key] >= self.max_per_address:
            self._log.warning("address", f"{key} holds {self.max_per_address} connections; refusing more")
            self._refuse("429 Too Many Requests", "Too many open connections from this address.")
            return
        _ConnectionGuard._per_address[key] += 1
        self._guard_key = key
        self._arm_head_timer()

    def _refuse(self, status: str, text: str) -> None:
        self.transport.write(_response(status, 1, text))
        self.transport.close()

    def _uncount(self) -> None:
        if self._guard_key is not None:
            counts = _ConnectionGuard._per_address
            counts[self._guard_key] -= 1
            if counts[self._guard_key] <= 0:
                del counts[self._guard_key]
            self._guard_key = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        self._uncount()
        super().connection_lost(exc)  # type: ignore[misc]

    def handle_websocket_upgrade(self, *event: Any) -> None:
        # the WebSocket protocol takes the transport (and its connection_lost);
        # the events plugin caps WebSockets per user from here on (h11 passes the event, httptools nothing)
        self._disarm_head_timer()
        self._uncount()
        super().handle_websocket_upgrade(*event)  # type: ignore[misc]

    # -- the header deadline ------------------------------------------------
    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._bytes_in_head = 0
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        self._log.warning("slow", f"closing connections that sent no complete request head in {self.header_timeout} s")
        if self._bytes_in_head:
            self.transport.write(_response("408 Request Timeout", None, "The request head took too long."))
        self.transport.close()

    def _bytes_arrived(self, data: bytes) -> None:
        """Before the protocol parses ``data``: the first byte after an idle
        keep-alive pause starts the next head's deadline."""
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and self._head_timer is None and not self.transport.is_closing():
            self._arm_head_timer()
        self._bytes_in_head += len(data)


class GuardedH11Protocol(_ConnectionGuard, H11Protocol):  # type: ignore[misc]  # connection_made's Transport
    """Uvicorn's h11 protocol (pure Python, strict) with the guard: ``connections.http_parser: h11``."""

    scope: Any

    def data_received(self, data: bytes) -> None:
        self._bytes_arrived(data)
        scope = self.scope
        super().data_received(data)
        if self.scope is not scope:  # a whole request head arrived
            self._disarm_head_timer()


class GuardedHttpToolsProtocol(_ConnectionGuard, HttpToolsProtocol):  # type: ignore[misc]  # as above
    """Uvicorn's httptools protocol (llhttp, in C) with the guard: the default.

    NOTE(perf): h11 parses in Python; llhttp (Node.js's parser) in C, some
    0.05-0.1 ms less CPU a request, 6-8 % of an upload's (issue #14).
    """

    def data_received(self, data: bytes) -> None:
        self._bytes_arrived(data)
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()  # the head is in: the deadline is off until the next one
        super().on_headers_complete()


#: ``connections.http_parser`` -> the protocol jmapd serves HTTP/1.1 with.
PROTOCOLS: dict[str, type[_ConnectionGuard]] = {"h11": GuardedH11Protocol, "httptools": GuardedHttpToolsProtocol}


def configure(config: Any) -> None:
    """Apply the ``connections`` settings and raise the descriptor limit (in each worker)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    section = config.connections
    ceiling = max(16, int(soft) - DESCRIPTOR_RESERVE) if soft != resource.RLIM_INFINITY else 65536
    _ConnectionGuard.header_timeout = section.header_timeout
    _ConnectionGuard.max_per_address = section.max_per_address
    _ConnectionGuard.max_connections = min(section.max_per_worker or ceiling, ceiling)
    _ConnectionGuard.exempt = frozenset(config.server.trusted_proxies)


class JmapdWorker(UvicornWorker):  # type: ignore[misc]
    """The uvicorn worker with the guarded HTTP/1.1 protocol (``connections.http_parser``)."""

    CONFIG_KWARGS = {"loop": "auto", "http": "jmapd.connguard:GuardedHttpToolsProtocol"}

    def init_process(self) -> None:
        from .app import load_config

        cfg, _ = load_config()
        configure(cfg)
        # uvicorn imports the protocol when the worker starts serving, after this
        self.config.http = PROTOCOLS[cfg.connections.http_parser]
        super().init_process()
