"""Hook implementations of the events plugin, and nothing else."""

from __future__ import annotations

import asyncio
from typing import Any

from jmapd import hookimpl
from jmapd.config import ConfigError
from jmapd.methods.registry import Capability, Method
from jmapd.protocol.envelope import CORE

from . import migrations
from .config import EventsConfig
from .domain.sse import PingPolicy
from .domain.vapid import CAPABILITY as VAPID_CAPABILITY
from .eventsource import (
    EVENTSOURCE_PATH,
    TOKEN_PATH,
    EventSourceResource,
    UrlTokenResource,
    authenticate_url_token,
)
from .models import MODELS
from .pushsub import make_push_set, push_get
from .runtime import runtime, vapid_key, vapid_key_path
from .websocket import CAPABILITY as WS_CAPABILITY
from .websocket import WS_PATH, WebSocketResource, capability_session


@hookimpl
def jmapd_config_schema() -> tuple[str, type]:
    return ("events", EventsConfig)


@hookimpl
def jmapd_backup_files(config: Any) -> list[str]:
    return [vapid_key_path(config)]


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    section = config.section(EventsConfig)
    try:
        PingPolicy(section.ping_min, section.ping_max)
    except ValueError as exc:
        raise ConfigError(f"events.ping_min/ping_max: {exc}") from None
    if section.max_expires_days < 2:
        raise ConfigError("events.max_expires_days: RFC 8620 requires at least 2 days")
    caps = [Capability(VAPID_CAPABILITY, session=lambda cfg: vapid_key(cfg).capability(), account=None)]
    if section.websocket:
        caps.append(Capability(WS_CAPABILITY, session=capability_session, account=None))
    return caps


@hookimpl
def jmapd_methods(config: Any) -> list[Method]:
    return [
        Method("PushSubscription/get", push_get, CORE),
        Method("PushSubscription/set", make_push_set(runtime), CORE),
    ]


@hookimpl
def jmapd_models() -> list[Any]:
    return list(MODELS)


@hookimpl
def jmapd_migrations() -> tuple[str, Any]:
    return ("events", migrations)


@hookimpl
def jmapd_routes(config: Any, services: Any) -> list[tuple[str, Any]]:
    runtime(services)  # built before any request, so the workers' threads share it
    routes: list[tuple[str, Any]] = [
        (EVENTSOURCE_PATH, EventSourceResource(services)),
        (TOKEN_PATH, UrlTokenResource(services)),
    ]
    if config.section(EventsConfig).websocket:
        routes.append((WS_PATH, WebSocketResource(services)))
    return routes


@hookimpl
def jmapd_session_urls(base: str) -> dict[str, str]:
    return {"eventSourceUrl": f"{base}{EVENTSOURCE_PATH}?types={{types}}&closeafter={{closeafter}}&ping={{ping}}"}


@hookimpl
def jmapd_authenticate(req: Any, services: Any) -> Any:
    return authenticate_url_token(req, services, WS_PATH)


@hookimpl
def jmapd_changes_committed(services: Any, account_id: str, changed: dict[str, str]) -> None:
    rt = runtime(services)
    try:
        rt.notifier.committed(account_id, changed)
    finally:  # a failed NOTIFY must not cost the push subscribers their delivery
        rt.deliverer.committed(account_id, changed)


@hookimpl
def jmapd_startup(services: Any) -> Any:
    rt = runtime(services)
    rt.notifier.start(asyncio.get_running_loop())
    return rt.deliverer.run()


@hookimpl
def jmapd_shutdown(services: Any) -> None:
    runtime(services).notifier.stop()
