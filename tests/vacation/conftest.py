"""A recording SMTP relay for the auto-replies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jmapd_submission.testing import RecordingRelay


@pytest.fixture
def reply_relay() -> Iterator[RecordingRelay]:
    server = RecordingRelay().start()
    yield server
    server.stop()
