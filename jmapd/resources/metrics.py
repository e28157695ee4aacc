"""GET /metrics (Prometheus text format) and the per-request HTTP metrics.

The endpoint exists only with ``metrics.enabled``; with ``metrics.token``
a scraper sends it as a Bearer token, without one only loopback peers are
answered (behind a trusted proxy the forwarded client address counts, so a
proxied outsider is not loopback).
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

import falcon

from .. import metrics
from ..auth import constant_time_equal
from ..services import Services

HTTP_REQUESTS = metrics.counter(
    "jmapd_http_requests", "HTTP requests answered, by route and status.", ["endpoint", "method", "status"]
)
HTTP_LATENCY = metrics.histogram(
    "jmapd_http_request_duration_seconds", "Time to the response head, by route.", ["endpoint"]
)


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


class MetricsResource:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        token = self.services.config.metrics.token
        if token:
            kind, _, value = (req.get_header("Authorization") or "").partition(" ")
            if kind.lower() != "bearer" or not constant_time_equal(value.strip(), token):
                raise falcon.HTTPUnauthorized(challenges=['Bearer realm="metrics"'])
        elif not _loopback(req.remote_addr):
            raise falcon.HTTPForbidden(description="metrics are served to loopback only unless metrics.token is set")
        resp.content_type = metrics.CONTENT_TYPE
        resp.data = await self.services.run(metrics.render, self.services)


class HttpMetrics:
    """Counts every response by route template (not path: ids would make the
    label set unbounded) and times it to the response head."""

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.metrics_started = time.monotonic()

    async def process_response(self, req: Any, resp: Any, resource: Any, req_succeeded: bool) -> None:
        started = getattr(req.context, "metrics_started", None)
        if started is None:
            return
        endpoint = req.uri_template or "unmatched"
        HTTP_REQUESTS.labels(endpoint, req.method, str(resp.status).split()[0]).inc()
        HTTP_LATENCY.labels(endpoint).observe(time.monotonic() - started)
