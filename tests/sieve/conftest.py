"""A real LMTP listener for a test server, and a helper to install a script."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:sieve"]


@pytest.fixture
def lmtp_for() -> Iterator[Any]:
    """``lmtp_for(server) -> port``: a real LMTP listener delivering into ``server``."""
    from jmapd_delivery.deliver import lmtp_server

    started = []

    def start(server: Any) -> int:
        lmtp = lmtp_server(server.services, host="127.0.0.1", port=0)
        lmtp.start()
        started.append(lmtp)
        return int(lmtp.port)

    yield start
    for lmtp in started:
        lmtp.stop()


@pytest.fixture
def activate() -> Any:
    """``activate(client, script)``: store ``script`` and make it the active one; returns its id."""
    return _activate


def _activate(client: Any, script: str, name: str = "rules") -> str:
    blob = client.upload(script.encode(), "application/sieve")["blobId"]
    result = client.ok("SieveScript/set", {"create": {"s": {"name": name, "blobId": blob}},
                                           "onSuccessActivateScript": "#s"}, USING)
    assert "s" in (result["created"] or {}), result
    return str(result["created"]["s"]["id"])
