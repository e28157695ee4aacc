"""Liveness and readiness, for load balancers and orchestrators (no auth)."""

from __future__ import annotations

import falcon

from ..db import database
from ..services import Services
from .common import send_json


class LiveResource:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        send_json(resp, {"status": "ok"})


class ReadyResource:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        try:
            await self.services.run(lambda: database.execute_sql("SELECT 1").fetchone())
        except Exception as exc:  # readiness must answer, not crash
            send_json(resp, {"status": "unavailable", "database": str(exc)[:200]}, 503)
            return
        send_json(resp, {"status": "ok"})
