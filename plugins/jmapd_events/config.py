"""The ``events:`` section of the YAML configuration."""

from __future__ import annotations

from dataclasses import dataclass

from jmapd.config import doc


@dataclass
class EventsConfig:
    poll_interval: float = doc(
        "SQLite only: seconds between the per-worker checks for changes made by other workers.", 0.2
    )
    ping_min: int = doc("Smallest EventSource ping interval honoured, seconds (1-30).", 30)
    ping_max: int = doc("Largest EventSource ping interval honoured, seconds (>= 300).", 300)
    keepalive: int = doc(
        "Seconds between comment lines on an otherwise silent EventSource stream, so a "
        "vanished client is noticed and its resources freed (0: never).",
        60,
    )
    max_connections_per_user: int = doc(
        "EventSource + WebSocket connections one user may hold on one worker.", 64
    )
    token_ttl: int = doc(
        "Lifetime, seconds, of the single-purpose URL tokens from POST /jmap/eventsource/token.",
        900,
    )
    websocket: bool = doc("Offer JMAP over WebSocket (RFC 8887) at /jmap/ws.", True)
    push_allow: list[str] = doc(
        "Push URLs allowed despite resolving to loopback/private addresses: CIDRs or host "
        "names (`*.example.net`). Empty: only public addresses.",
        factory=list,
    )
    allow_http: bool = doc("Allow plain http:// push URLs (testing, LAN relays).", False)
    max_expires_days: int = doc(
        "Longest PushSubscription lifetime, days (RFC: >= 2, >= 7 advised).", 7
    )
    max_subscriptions_per_user: int = doc("PushSubscriptions one user may hold.", 50)
    push_ttl: int = doc("TTL header (seconds) of push deliveries (RFC 8030).", 86400)
    push_timeout: float = doc("Seconds one push POST may take.", 10.0)
    retry_base_delay: float = doc(
        "First retry delay of a failed push, seconds; doubles each time.", 10.0
    )
    retry_max_delay: float = doc("Longest delay between push retries, seconds.", 3600.0)
    max_attempts: int = doc("Attempts per push notification before it is dropped.", 8)
    vapid_key_file: str | None = doc(
        "PEM file of the VAPID (RFC 8292) key, created if missing. Null: data_dir/events-vapid.pem.",
        None,
    )
    vapid_subject: str = doc(
        "VAPID contact (mailto: or https: URI) sent to push services.",
        "mailto:postmaster@localhost",
    )
