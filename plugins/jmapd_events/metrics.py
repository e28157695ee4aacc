"""The events plugin's metrics (see :mod:`jmapd.metrics`)."""

from __future__ import annotations

from jmapd import metrics

CONNECTIONS = metrics.gauge(
    "jmapd_events_push_connections", "Open push connections, by transport (eventsource, websocket).", ["transport"]
)
DELIVERIES = metrics.counter(
    "jmapd_events_push_deliveries",
    "Web Push POSTs to PushSubscription URLs, by outcome (done, retry, drop, destroy).",
    ["outcome"],
)
