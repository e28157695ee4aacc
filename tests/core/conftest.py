"""Fixtures shared by the core tests."""

from collections.abc import Iterator

import pytest

from jmapd.auth import Throttle


@pytest.fixture
def unlocked_loopback(jmapd_database: str) -> Iterator[Throttle]:
    """The login throttle with 127.0.0.1 unlocked before and after the test.

    The throttle lives in the database every test server of a run shares, so
    a test that locks the loopback address must not leave it locked (nor
    inherit another test's failures). Use after the server fixture.
    """
    throttle = Throttle(1, 1, 1.0)
    throttle.lift("ip:127.0.0.1")
    yield throttle
    throttle.lift("ip:127.0.0.1")
