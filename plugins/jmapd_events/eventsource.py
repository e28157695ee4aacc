"""The eventSourceUrl resource (RFC 8620 §7.3) and its URL-token endpoint.

Each stream is a :class:`~jmapd_events.notifier.Subscriber` plus one
coroutine waiting on it: idle streams cost no thread and no query. Event ids
are push states (every type state the client was told of), so a browser's
automatic reconnect with ``Last-Event-ID`` gets what it missed at once.

Browsers cannot set ``Authorization`` on an EventSource, so a client first
calls ``POST /jmap/eventsource/token`` with its normal credentials and gets a
short-lived token valid only for this resource, to put in the URL as
``access_token=`` (see README.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import falcon
import falcon.asgi
import orjson
from falcon.asgi import SSEvent

from jmapd.auth import create_token, token_digest
from jmapd.models import Token, User, now
from jmapd.resources.common import authenticate, base_url, limit_problem, send_json, send_problem

from .config import EventsConfig
from .domain.sse import (
    RESPONSE_HEADERS,
    PingPolicy,
    comment,
    parse_event_source_params,
    ping_event,
    state_event,
)
from .metrics import CONNECTIONS
from .notifier import Subscriber, decode_push_state, follow_shares, log_aliases, read_modseqs
from .runtime import runtime

EVENTSOURCE_PATH = "/jmap/eventsource"
TOKEN_PATH = "/jmap/eventsource/token"
TOKEN_NAME = "events-url-token"
#: Token scopes the URL-token endpoint mints, by the path they open.
URL_TOKEN_SCOPES = ("eventsource", "websocket")


class RawEvent(SSEvent):
    """Bytes already framed by :mod:`.domain.sse`, passed through Falcon's SSE
    support (which is what notices a client that went away)."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        super().__init__()
        self.raw = raw

    def serialize(self, handler: Any = None) -> bytes:
        return self.raw


def id_only(event_id: str) -> bytes:
    """Sets the client's last event id without dispatching an event (WHATWG
    EventSource: the id is taken before an empty data buffer is discarded)."""
    return f"id: {event_id}\n\n".encode()


class EventSourceResource:
    def __init__(self, services: Any) -> None:
        self.services = services
        section = services.config.section(EventsConfig)
        self.section = section
        self.policy = PingPolicy(section.ping_min, section.ping_max)

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        services = self.services
        principal = await authenticate(req, services, scope="eventsource")
        try:
            params = parse_event_source_params(
                {name: req.get_param(name) for name in ("types", "closeafter", "ping")}, self.policy
            )
        except ValueError as exc:
            raise falcon.HTTPBadRequest(
                title="Bad eventSourceUrl parameters", description=str(exc)
            ) from None
        if not services.acquire("events", principal.user_id, self.section.max_connections_per_user):
            send_problem(
                resp, limit_problem("maxConnections", "Too many push connections.", status=429)
            )
            return
        try:
            sub = Subscriber(principal.accounts, params.types, log_aliases(services.registry, principal.accounts))
            current = await services.run(read_modseqs, sub.watched)
            sub.catch_up(decode_push_state(req.get_header("Last-Event-ID")), current)
            runtime(services).notifier.add(sub, current)
        except BaseException:
            services.release("events", principal.user_id)
            raise
        resp.set_headers(dict(RESPONSE_HEADERS))
        resp.sse = self._stream(sub, params.ping, params.close_after_state, principal.user_id)

    async def _stream(
        self, sub: Subscriber, ping: int, close_after: bool, user_id: int
    ) -> AsyncIterator[SSEvent]:
        notifier = runtime(self.services).notifier
        keepalive = self.section.keepalive
        CONNECTIONS.labels("eventsource").inc()
        try:
            # A first write gets the headers through buffering proxies and
            # names the worker (tests use it to tell workers apart).
            yield RawEvent(comment(f"jmapd-events {notifier.instance}"))
            if not sub.pending:
                yield RawEvent(id_only(sub.push_state()))
            last_event = last_write = time.monotonic()
            while not notifier.draining:
                if sub.shares_moved:
                    await follow_shares(self.services, notifier, sub, user_id)
                change = sub.take()
                if change is not None:
                    yield RawEvent(state_event(change, sub.push_state()))
                    last_event = last_write = time.monotonic()
                    if close_after:
                        return
                    continue
                deadlines = []
                if ping:
                    deadlines.append(last_event + ping)
                if keepalive:
                    deadlines.append(last_write + keepalive)
                try:
                    if deadlines:
                        async with asyncio.timeout(max(0.0, min(deadlines) - time.monotonic())):
                            await sub.wake.wait()
                    else:
                        await sub.wake.wait()
                except TimeoutError:
                    clock = time.monotonic()
                    if ping and clock >= last_event + ping:
                        yield RawEvent(ping_event(ping))
                        last_event = last_write = clock
                    elif keepalive and clock >= last_write + keepalive:
                        yield RawEvent(comment())
                        last_write = clock
        finally:
            CONNECTIONS.labels("eventsource").dec()
            notifier.remove(sub)
            self.services.release("events", user_id)


class UrlTokenResource:
    """``POST /jmap/eventsource/token``: a token for ``?access_token=``.

    Only full credentials may mint one, the token opens only the push
    resource named by its scope, and it expires after ``events.token_ttl``.
    """

    def __init__(self, services: Any) -> None:
        self.services = services

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        services = self.services
        principal = await authenticate(req, services)
        if principal.scope != "api":
            raise falcon.HTTPForbidden(description="A URL token cannot mint another.")
        scope = "eventsource"
        body = await req.stream.read(4096)
        if body.strip():
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise falcon.HTTPBadRequest(description="Body must be JSON.") from None
            requested = data.get("scope", scope) if isinstance(data, dict) else None
            if not isinstance(requested, str) or requested not in URL_TOKEN_SCOPES:
                raise falcon.HTTPBadRequest(
                    description=f"scope must be one of {', '.join(URL_TOKEN_SCOPES)}"
                )
            scope = requested
        ttl = services.config.section(EventsConfig).token_ttl
        token = await services.run(mint_url_token, principal.user_id, scope, ttl)
        base = base_url(req, services)
        path = EVENTSOURCE_PATH if scope == "eventsource" else "/jmap/ws"
        send_json(
            resp,
            {"accessToken": token, "scope": scope, "expiresIn": ttl, "url": f"{base}{path}"},
            status=201,
        )


def mint_url_token(user_id: int, scope: str, ttl: int) -> str:
    """A fresh single-purpose token; the user's expired ones are swept first."""
    Token.delete().where(
        (Token.user == user_id) & (Token.name == TOKEN_NAME) & (Token.expires < now())
    ).execute()
    user = User.get_by_id(user_id)
    return create_token(user, TOKEN_NAME, scope=scope, ttl=max(1, ttl))


def authenticate_url_token(req: Any, services: Any, ws_path: str) -> Any:
    """The ``access_token`` query parameter, on the push resources only."""
    path = req.path
    if path == EVENTSOURCE_PATH:
        scope = "eventsource"
    elif path == ws_path:
        scope = "websocket"
    else:
        return None
    token = req.get_param("access_token")
    if not token:
        return None
    user_id = services.auth.check_token(token, scope)
    if user_id is None:
        return None
    principal = services.auth.principal(user_id)
    if principal is not None:
        principal.scope = scope
        principal.credential = "token:" + token_digest(token)
    return principal
