"""Helpers every resource shares: JSON out, problems, authentication."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

import falcon
import orjson

from .. import metrics
from ..auth import Principal, VerifyBusy, address_keys
from ..protocol.errors import RequestError
from ..ratelog import RateLimitedLog
from ..services import Services

log = logging.getLogger("jmapd.http")

AUTH_FAILURES = metrics.counter(
    "jmapd_auth_failures", "Refused credentials, by scheme and reason (invalid, locked_out).", ["scheme", "reason"]
)


def _scheme(header: str) -> str:
    scheme = header.partition(" ")[0].lower()
    return scheme if scheme in ("basic", "bearer") else "other"


def send_json(resp: falcon.asgi.Response, body: Any, status: int = 200) -> None:
    resp.status = status
    resp.content_type = "application/json"
    resp.data = orjson.dumps(body)


def send_problem(resp: falcon.asgi.Response, error: RequestError) -> None:
    resp.status = error.status
    resp.content_type = "application/problem+json"
    resp.data = orjson.dumps(error.to_problem())


def base_url(req: falcon.asgi.Request, services: Services) -> str:
    """Absolute base for session URLs: config first, else the request's host."""
    configured = services.config.server.base_url
    if configured:
        return configured.rstrip("/")
    scheme = req.scheme
    trusted = services.config.server.trusted_proxies
    if trusted and req.remote_addr in trusted:
        scheme = req.get_header("X-Forwarded-Proto") or scheme
    return f"{scheme}://{req.netloc}{req.root_path or ''}".rstrip("/")


def client_address(req: falcon.asgi.Request, services: Services) -> str:
    trusted = services.config.server.trusted_proxies
    if trusted and req.remote_addr in trusted:
        forwarded = req.get_header("X-Forwarded-For")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return req.remote_addr or "unknown"


def unauthorized(services: Services, detail: str = "Authentication required.",
                 retry_after: float = 0.0) -> falcon.HTTPError:
    realm = services.config.auth.realm.replace('"', "")
    headers = {"WWW-Authenticate": f'Basic realm="{realm}", charset="UTF-8", Bearer realm="{realm}"'}
    if retry_after:
        headers["Retry-After"] = str(math.ceil(retry_after))
    return falcon.HTTPUnauthorized(title="Unauthorized", description=detail, headers=headers)


def too_many_attempts(services: Services, wait: float) -> falcon.HTTPError:
    """429 while a login throttle is active: no password is checked."""
    return falcon.HTTPTooManyRequests(
        title="Too many failed logins",
        description="Too many failed logins from this address or for this user; retry later.",
        headers={"Retry-After": str(math.ceil(wait))},
    )


_busy_log = RateLimitedLog(log)


def verification_busy(address: str) -> falcon.HTTPError:
    """503 + Retry-After: every password-hash slot stayed taken for ``auth.verify_wait``."""
    _busy_log.warning("busy", "password verification busy; refusing logins (latest from %s)", address)
    return falcon.HTTPServiceUnavailable(
        title="Busy", description="Too many logins at once; retry shortly.", headers={"Retry-After": "1"}
    )


async def authenticate(req: falcon.asgi.Request, services: Services, scope: str = "api") -> Principal:
    """The caller, or a 401 (after a growing delay for repeated failures).

    Plugins may authenticate first (``jmapd_authenticate``); the core
    checks HTTP Basic and Bearer. All database work happens in one trip to
    the thread pool.
    """
    header = req.get_header("Authorization")
    address = client_address(req, services)
    keys = address_keys(address)
    if header and header[:6].lower() == "basic ":
        creds = services.auth.parse_basic(header[6:])
        if creds:
            keys.append(f"user:{creds[0]}")
    # Refused before the hash while locked out, right password or not; a
    # remembered credential was verified before the episode and stays fast.
    throttled = bool(header) and not services.auth.remembered(header)
    throttle = services.auth.throttle
    started: list[str] = []

    if throttled:
        locked = await services.run(throttle.retry_after, *keys)
        if locked:
            AUTH_FAILURES.labels("any", "locked_out").inc()
            raise too_many_attempts(services, locked)  # no hash, no count, no verification slot

    def check() -> tuple[Principal | None, str | None, float]:
        """``(principal, user tried, seconds locked)``; the throttle is shared in the database."""
        principal = services.hooks.authenticate(req, services)
        if principal is not None:
            return principal, None, 0.0
        user, tried = services.auth.authenticate_user(header, scope)
        principal = services.auth.principal(user.id, user) if user is not None else None
        if user is not None and principal is None and services.auth.forget(header):
            # the remembered user is gone or disabled: verify afresh
            user, tried = services.auth.authenticate_user(header, scope)
            principal = services.auth.principal(user.id, user) if user is not None else None
        if principal is not None:
            principal.credential = services.auth.credential_of(header)
            return principal, tried, 0.0
        if not header:
            return None, tried, 0.0
        started.extend(throttle.fail(*keys))
        return None, tried, throttle.retry_after(*keys)

    gate = services.auth.verify_gate if throttled and services.auth.needs_hash(header) else None
    if gate is not None:
        try:
            await asyncio.wait_for(gate.acquire(), services.config.auth.verify_wait)
        except TimeoutError:
            raise verification_busy(address) from None
    try:
        principal, tried, wait = await services.run(check)
    except VerifyBusy:
        raise verification_busy(address) from None
    finally:
        if gate is not None:
            gate.release()
    if principal is None:
        if header:
            AUTH_FAILURES.labels(_scheme(header), "invalid").inc()
        for key in started:
            log.warning("login throttle engaged for %s (%d failures)", key, throttle.threshold)
        if header:
            log.debug("authentication failed from %s for %r", address, tried)
        if wait:
            raise unauthorized(services, retry_after=wait)
        raise unauthorized(services)
    if principal.scope == "api":
        principal.scope = scope
    req.context.user = principal.name  # for the access log
    return principal


def limit_problem(limit: str, detail: str, status: int = 400) -> RequestError:
    return RequestError("limit", detail, status=status, limit=limit)
