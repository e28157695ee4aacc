"""A recording SMTP relay for the auto-replies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jmapd_submission.testing import RecordingRelay, running_relay


@pytest.fixture
def reply_relay() -> Iterator[RecordingRelay]:
    with running_relay() as server:
        yield server
