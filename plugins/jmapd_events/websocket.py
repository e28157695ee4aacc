"""JMAP over WebSocket (RFC 8887) at ``/jmap/ws``, subprotocol ``jmap``.

Requests run through :func:`jmapd.resources.api.execute_request`, the code
path of POST apiUrl, so limits, errors and change notification are the same;
several requests may be in flight at once and are answered as they finish
(``requestId`` pairs them up). Push (``WebSocketPushEnable``) reuses the
EventSource machinery: a :class:`~jmapd_events.notifier.Subscriber` per
socket, its push state sent as ``pushState`` with every StateChange.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import falcon
import falcon.asgi
import orjson
from falcon.asgi.ws import _WebSocketState
from falcon.errors import WebSocketDisconnected

from jmapd.protocol.envelope import decode_json
from jmapd.protocol.errors import RequestError
from jmapd.resources.api import execute_request
from jmapd.resources.common import authenticate, base_url, limit_problem

from .config import EventsConfig
from .metrics import CONNECTIONS
from .notifier import Subscriber, decode_push_state, follow_shares, log_aliases, read_modseqs
from .runtime import runtime

log = logging.getLogger("jmapd.events.ws")

WS_PATH = "/jmap/ws"
CAPABILITY = "urn:ietf:params:jmap:websocket"
SUBPROTOCOL = "jmap"


def ws_url(base: str, path: str = WS_PATH) -> str:
    """The absolute ws:// or wss:// URL the session advertises."""
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :] + path
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :] + path
    return base + path


def capability_session(config: Any, base: str) -> dict[str, Any]:
    """Session value of urn:ietf:params:jmap:websocket (RFC 8887 §4.1)."""
    configured = config.server.base_url
    return {"url": ws_url((configured or base).rstrip("/")), "supportsPush": True}


def _http_base(req: falcon.asgi.Request, services: Any) -> str:
    base = base_url(req, services)
    if base.startswith("wss://"):
        return "https://" + base[6:]
    if base.startswith("ws://"):
        return "http://" + base[5:]
    return base


class Connection:
    """One socket: requests in flight, the push subscriber, a send lock."""

    def __init__(self, services: Any, ws: falcon.asgi.WebSocket, principal: Any, base: str) -> None:
        self.services = services
        self.ws = ws
        self.principal = principal
        self.base = base
        self.lock = asyncio.Lock()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.sub: Subscriber | None = None
        self.pusher: asyncio.Task[Any] | None = None

    async def send(self, obj: dict[str, Any]) -> None:
        async with self.lock:
            await self.ws.send_text(orjson.dumps(obj).decode())

    async def send_problem(self, exc: RequestError, request_id: Any = None) -> None:
        problem = {"@type": "RequestError", **exc.to_problem()}
        if isinstance(request_id, str):
            problem["requestId"] = request_id
        await self.send(problem)

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def handle(self, text: str) -> None:
        limits = self.services.config.limits
        if len(text) > limits.max_size_request:
            await self.send_problem(
                limit_problem(
                    "maxSizeRequest",
                    f"The request is larger than {limits.max_size_request} octets.",
                )
            )
            return
        try:
            data = decode_json(text, "message")
        except RequestError as exc:
            await self.send_problem(exc)
            return
        if not isinstance(data, dict):
            await self.send_problem(
                RequestError("notRequest", "The message must be a JSON object.")
            )
            return
        kind = data.get("@type")
        if kind == "Request":
            self.spawn(self.request(data))
        elif kind == "WebSocketPushEnable":
            await self.push_enable(data)
        elif kind == "WebSocketPushDisable":
            await self.push_disable()
        else:
            await self.send_problem(
                RequestError("notRequest", f"Unknown message @type {kind!r}."), data.get("id")
            )

    async def request(self, data: dict[str, Any]) -> None:
        request_id = data.get("id")
        if request_id is not None and not isinstance(request_id, str):
            await self.send_problem(RequestError("notRequest", "'id' must be a string."))
            return
        services = self.services
        user_id = self.principal.user_id
        if not services.acquire("api", user_id, services.config.limits.max_concurrent_requests):
            await self.send_problem(
                limit_problem("maxConcurrentRequests", "Too many concurrent requests."), request_id
            )
            return
        try:
            body = {k: v for k, v in data.items() if k not in ("@type", "id")}
            result = await execute_request(services, self.principal, body, self.base)
        except RequestError as exc:
            await self.send_problem(exc, request_id)
            return
        finally:
            services.release("api", user_id)
        response = {"@type": "Response", **result}
        if request_id is not None:
            response["requestId"] = request_id
        await self.send(response)

    async def push_enable(self, data: dict[str, Any]) -> None:
        types = data.get("dataTypes")
        state = data.get("pushState")
        if (
            types is not None
            and not (isinstance(types, list) and all(isinstance(t, str) for t in types))
        ) or (state is not None and not isinstance(state, str)):
            await self.send_problem(
                RequestError(
                    "notRequest", "dataTypes must be null or a list of strings; pushState a string."
                )
            )
            return
        await self.push_disable()
        sub = Subscriber(
            self.principal.accounts,
            None if types is None else frozenset(types),
            log_aliases(self.services.registry, self.principal.accounts),
        )
        current = await self.services.run(read_modseqs, sub.watched)
        sub.catch_up(decode_push_state(state), current)
        runtime(self.services).notifier.add(sub, current)
        self.sub = sub
        self.pusher = asyncio.get_running_loop().create_task(self.push_loop(sub))

    async def push_disable(self) -> None:
        if self.pusher is not None:
            self.pusher.cancel()
            self.pusher = None
        if self.sub is not None:
            runtime(self.services).notifier.remove(self.sub)
            self.sub = None

    async def push_loop(self, sub: Subscriber) -> None:
        while True:
            await sub.wake.wait()
            if sub.shares_moved:
                await follow_shares(self.services, runtime(self.services).notifier, sub, self.principal.user_id)
            change = sub.take()
            if change is not None:
                change["pushState"] = sub.push_state()
                await self.send(change)

    async def close(self) -> None:
        await self.push_disable()
        for task in list(self.tasks):
            task.cancel()


async def deny(req: falcon.asgi.Request, ws: falcon.asgi.WebSocket, error: falcon.HTTPError) -> None:
    """Refuse the handshake with the HTTP status that says why (401, 429).

    Closing before accept would answer 403 whatever the reason; the ASGI
    WebSocket Denial Response extension (uvicorn has it) sends a real
    response instead. Falcon has no API for it, so the raw send is used and
    Falcon's WebSocket is marked closed so it sends nothing more.
    """
    if "websocket.http.response" not in (req.scope.get("extensions") or {}):
        await ws.close(3000 + error.status_code)  # Falcon's convention: 3000 + HTTP status
        return
    body = orjson.dumps({"title": error.title, "description": error.description, "status": error.status_code})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in dict(error.headers or {}).items()]
    await ws._asgi_send({"type": "websocket.http.response.start", "status": error.status_code, "headers": headers})
    await ws._asgi_send({"type": "websocket.http.response.body", "body": body})
    ws._state = _WebSocketState.CLOSED


class WebSocketResource:
    def __init__(self, services: Any) -> None:
        self.services = services

    async def on_websocket(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        services = self.services
        if SUBPROTOCOL not in ws.subprotocols:
            await ws.close(1002)  # before accept: the handshake is refused
            return
        try:
            principal = await authenticate(req, services, scope="websocket")
        except falcon.HTTPError as exc:
            await deny(req, ws, exc)
            return
        section = services.config.section(EventsConfig)
        if not services.acquire("events", principal.user_id, section.max_connections_per_user):
            await deny(req, ws, falcon.HTTPTooManyRequests(
                description="Too many push connections.", headers={"Retry-After": "30"}))
            return
        conn = Connection(services, ws, principal, _http_base(req, services))
        CONNECTIONS.labels("websocket").inc()
        try:
            await ws.accept(subprotocol=SUBPROTOCOL)
            while True:
                try:
                    message = await ws.receive_text()
                except WebSocketDisconnected:
                    break
                except TypeError:  # a binary frame: RFC 8887 messages are text
                    await conn.send_problem(
                        RequestError("notJSON", "Messages must be text frames.")
                    )
                    continue
                await conn.handle(message)
        except WebSocketDisconnected:
            pass
        finally:
            CONNECTIONS.labels("websocket").dec()
            await conn.close()
            services.release("events", principal.user_id)
