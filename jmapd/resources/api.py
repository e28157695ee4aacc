"""POST apiUrl: request-level checks, then the calls, in a worker thread."""

from __future__ import annotations

import logging
from typing import Any

import falcon

from ..db import statement_limit
from ..methods.context import RequestContext
from ..methods.dispatch import run_calls
from ..protocol.envelope import CORE, decode_json, parse_request
from ..protocol.errors import RequestError
from ..services import Services
from .common import authenticate, base_url, limit_problem, send_json, send_problem

log = logging.getLogger("jmapd.api")


async def read_body(req: falcon.asgi.Request, limit: int, limit_name: str) -> bytes:
    """The body, refusing more than ``limit`` octets without reading them all."""
    length = req.content_length
    if length is not None and length > limit:
        raise limit_problem(limit_name, f"The request is larger than {limit} octets.")
    chunks = []
    size = 0
    async for chunk in req.stream:
        size += len(chunk)
        if size > limit:
            raise limit_problem(limit_name, f"The request is larger than {limit} octets.")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_request(body: bytes, content_type: str | None) -> Any:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise RequestError("notJSON", "The request must have Content-Type application/json.")
    return decode_json(body)


async def execute_request(services: Services, principal: Any, data: Any, base: str) -> dict[str, Any]:
    """Run one decoded JMAP Request object for ``principal``; the Response object.

    Shared by POST apiUrl and JMAP over WebSocket (RFC 8887), so both apply
    the same checks; request-level problems raise :class:`RequestError`.
    """
    limits = services.config.limits
    request = parse_request(data)
    if len(request.calls) > limits.max_calls_in_request:
        raise limit_problem("maxCallsInRequest", f"At most {limits.max_calls_in_request} method calls per request.")
    unknown = [u for u in request.using if u not in services.registry.capabilities and u != CORE]
    if unknown:
        raise RequestError("unknownCapability", f"The request used capability {unknown[0]!r}, which is not supported by this server.")
    rctx = RequestContext(principal=principal, services=services, using=set(request.using), base_url=base)

    def work() -> dict[str, Any]:
        try:
            with statement_limit(services.config.database.statement_timeout):
                return run_calls(request, rctx, services.registry)
        finally:
            services.changes_committed(rctx.changes.committed)

    result = await services.run(work)
    result["sessionState"] = services.session_state(principal)
    return result


def method_names(data: Any) -> list[str]:
    """The method names a Request object asks for, for the access log
    (whatever the client sent: the log must not fail where the request does)."""
    calls = data.get("methodCalls") if isinstance(data, dict) else None
    if not isinstance(calls, list):
        return []
    return [str(c[0])[:100] for c in calls[:64] if isinstance(c, list) and c and isinstance(c[0], str)]


class ApiResource:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        services = self.services
        limits = services.config.limits
        principal = await authenticate(req, services)
        if not services.acquire("api", principal.user_id, limits.max_concurrent_requests):
            send_problem(resp, limit_problem("maxConcurrentRequests", "Too many concurrent requests."))
            return
        try:
            body = await read_body(req, limits.max_size_request, "maxSizeRequest")
            data = decode_request(body, req.content_type)
            req.context.calls = method_names(data)
            result = await execute_request(services, principal, data, base_url(req, services))
        except RequestError as exc:
            log.info("request refused: %s (%s)", exc.type.rsplit(":", 1)[-1], exc.detail)
            send_problem(resp, exc)
            return
        finally:
            services.release("api", principal.user_id)
        send_json(resp, result)
