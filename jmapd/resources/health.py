"""Liveness and readiness, for load balancers and orchestrators (no auth)."""

from __future__ import annotations

import falcon

from ..db import database
from ..services import TASK_HEALTH, Services
from .common import send_json


class LiveResource:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        send_json(resp, {"status": "ok"})


class ReadyResource:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The database, this worker's background tasks and what plugins
        report (``jmapd_health``): 503 naming each one that is not ok."""
        checks = {}
        try:
            await self.services.run(lambda: database.execute_sql("SELECT 1").fetchone())
            checks["database"] = "ok"
        except Exception as exc:  # readiness must answer, not crash
            checks["database"] = str(exc)[:200]
        for name, state in sorted((self.services.extensions.get(TASK_HEALTH) or {}).items()):
            checks[f"task:{name}"] = state
        try:
            for result in await self.services.run(lambda: self.services.hook.jmapd_health(services=self.services)):
                checks.update(result or {})
        except Exception as exc:  # a broken check is itself a finding
            checks["health"] = f"a health check failed: {exc}"[:200]
        failing = {name: state for name, state in checks.items() if state != "ok"}
        if failing:
            send_json(resp, {"status": "unavailable", **failing, "checks": checks}, 503)
            return
        send_json(resp, {"status": "ok", "checks": checks})
