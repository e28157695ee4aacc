"""GET /.well-known/jmap."""

from __future__ import annotations

import falcon

from ..services import Services
from ..session import build_session
from .common import authenticate, base_url, send_json


class SessionResource:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        principal = await authenticate(req, self.services)
        body = build_session(self.services, principal, base_url(req, self.services))
        send_json(resp, body)
        resp.set_header("Cache-Control", "no-cache, no-store, must-revalidate")
