"""What ``jmapd config check`` reports about sending mail."""

from __future__ import annotations

from typing import Any

from .domain.relay import probe
from .queue import relay_config


def check_relay(config: Any, connect: bool) -> list[tuple[str, str]]:
    """The smarthost as the queue worker will use it; with ``connect`` a
    real session up to AUTH, so a wrong port, certificate or password shows
    here instead of as queued mail that never leaves."""
    section = config.section("submission")
    host = section.smarthost
    if not host.host:
        return [("note", "submission.smarthost.host is not set: only local recipients can be sent to")]
    where = f"submission.smarthost {host.host}:{host.port} ({host.security})"
    if not connect:
        return [("ok", f"{where}: not contacted (add --connect to try it)")]
    worked, text = probe(relay_config(section))
    return [("ok" if worked else "error", f"{where}: {text}")]
