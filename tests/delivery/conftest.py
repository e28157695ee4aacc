"""An LMTP listener on a random loopback port, delivering into a test server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def lmtp_for() -> Iterator[Any]:
    """``lmtp_for(server) -> port``: a real LMTP listener for ``server``."""
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
