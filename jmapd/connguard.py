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


class GuardedH11Protocol(H11Protocol):
    """Uvicorn's h11 protocol with a header deadline and connection caps."""

    header_timeout: float = 10.0
    max_per_address: int = 128
    max_connections: int = 1000
    #: Addresses never capped (the reverse proxies every client comes through).
    exempt: frozenset[str] = frozenset()
    _per_address: Counter[str] = Counter()
    _log = RateLimitedLog(log)

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
        super().shutdown()

    # -- accounting ---------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else ""
        key = address_keys(host)[0]
        if len(self.connections) > self.max_connections:
            self._log.warning("full", f"connection cap of {self.max_connections} per worker reached; refusing")
            self._refuse("503 Service Unavailable", "The server is at its connection limit; retry shortly.")
            return
        if host not in self.exempt and self._per_address[key] >= self.max_per_address:
            self._log.warning("address", f"{key} holds {self.max_per_address} connections; refusing more")
            self._refuse("429 Too Many Requests", "Too many open connections from this address.")
            return
        self._per_address[key] += 1
        self._guard_key = key
        self._arm_head_timer()

    def _refuse(self, status: str, text: str) -> None:
        self.transport.write(_response(status, 1, text))
        self.transport.close()

    def _uncount(self) -> None:
        if self._guard_key is not None:
            self._per_address[self._guard_key] -= 1
            if self._per_address[self._guard_key] <= 0:
                del self._per_address[self._guard_key]
            self._guard_key = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        self._uncount()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self, event: Any) -> None:
        # the WebSocket protocol takes the transport (and its connection_lost);
        # the events plugin caps WebSockets per user from here on
        self._disarm_head_timer()
        self._uncount()
        super().handle_websocket_upgrade(event)

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

    def data_received(self, data: bytes) -> None:
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and self._head_timer is None and not self.transport.is_closing():
            # first byte after an idle keep-alive pause: the next head has a deadline too
            self._arm_head_timer()
        self._bytes_in_head += len(data)
        scope = self.scope
        super().data_received(data)
        if self.scope is not scope:  # a whole request head arrived
            self._disarm_head_timer()


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
    GuardedH11Protocol.header_timeout = section.header_timeout
    GuardedH11Protocol.max_per_address = section.max_per_address
    GuardedH11Protocol.max_connections = min(section.max_per_worker or ceiling, ceiling)
    GuardedH11Protocol.exempt = frozenset(config.server.trusted_proxies)


class JmapdWorker(UvicornWorker):  # type: ignore[misc]
    """The uvicorn worker with the guarded HTTP/1.1 protocol."""

    CONFIG_KWARGS = {"loop": "auto", "http": "jmapd.connguard:GuardedH11Protocol"}

    def init_process(self) -> None:
        from .app import load_config

        cfg, _ = load_config()
        configure(cfg)
        super().init_process()
