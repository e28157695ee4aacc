"""urn:ietf:params:jmap:core: its capability, Core/echo, migrations, auth."""

from __future__ import annotations

from typing import Any

import jmapd.migrations
from jmapd import hookimpl
from jmapd.methods.collation import COLLATIONS
from jmapd.methods.registry import Capability, Method
from jmapd.models import CORE_MODELS
from jmapd.protocol.envelope import CORE


def core_session(config: Any) -> dict[str, Any]:
    limits = config.limits
    return {
        "maxSizeUpload": limits.max_size_upload,
        "maxConcurrentUpload": limits.max_concurrent_upload,
        "maxSizeRequest": limits.max_size_request,
        "maxConcurrentRequests": limits.max_concurrent_requests,
        "maxCallsInRequest": limits.max_calls_in_request,
        "maxObjectsInGet": limits.max_objects_in_get,
        "maxObjectsInSet": limits.max_objects_in_set,
        "collationAlgorithms": sorted(COLLATIONS),
    }


def echo(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    return args


@hookimpl(trylast=True)
def jmapd_capabilities(config: Any) -> list[Capability]:
    return [Capability(CORE, session=core_session, account=None)]


@hookimpl
def jmapd_methods(config: Any) -> list[Method]:
    return [Method("Core/echo", echo, CORE)]


@hookimpl
def jmapd_models() -> list[Any]:
    return list(CORE_MODELS)


async def _maintenance(services: Any) -> None:
    """Prune the change log and collect unreferenced blobs now and then.

    Every worker runs this; the work is idempotent, and a random start
    spreads the workers out.
    """
    import asyncio
    import logging
    import random

    from jmapd.state import prune

    interval = services.config.changes.maintenance_interval
    if interval <= 0:
        return
    await asyncio.sleep(random.uniform(interval / 2, interval))
    while True:
        try:
            pruned = await services.run(prune, services.config.changes.horizon_days)
            removed = await services.run(services.blobs.gc, services.config.blobs.unreferenced_ttl)
            logging.getLogger("jmapd.maintenance").info("pruned %d changes, removed %d blobs", pruned, removed)
        except Exception:
            logging.getLogger("jmapd.maintenance").exception("maintenance failed")
        await asyncio.sleep(interval)


@hookimpl
def jmapd_startup(services: Any) -> Any:
    return _maintenance(services)


@hookimpl(tryfirst=True)
def jmapd_migrations() -> tuple[str, Any]:
    return ("core", jmapd.migrations)
