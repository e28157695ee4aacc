"""Fixtures every area of the suite shares."""

# The recording SMTP relay of one test (submission, vacation, calendar
# scheduling); defined once, in the submission plugin's testing module.
from collections.abc import Iterator
from typing import Any

import pytest
from jmapd_submission.testing import relay  # noqa: F401


@pytest.fixture(autouse=True)
def _no_mail_left_in_the_queue(request: Any) -> Iterator[None]:
    """Cancel what a test left queued for relaying once it is over.

    Every test shares the session's database, and every server's queue
    worker sends whatever is due in it: a message a test queued for a relay
    that never answered would otherwise be sent, minutes later, by another
    test's server to that test's recording relay (the port may even be the
    same), and break its count of what was sent."""
    yield
    if "jmapd_database" not in request.fixturenames:
        return
    from jmapd_submission.models import CANCELED, DONE, QueueItem

    try:
        QueueItem.update(state=CANCELED).where(QueueItem.state.not_in([DONE, CANCELED])).execute()
    except Exception:  # the database was never opened in this process
        pass


@pytest.fixture
def lmtp_for() -> Iterator[Any]:
    """``lmtp_for(server) -> port``: a real LMTP listener on a loopback port,
    delivering into ``server`` (delivery and Sieve tests)."""
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

@pytest.fixture(autouse=True)
def _queue_work_stays_with_the_tests_own_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """While a server this test started runs, older servers' queue workers claim nothing.

    Every worker on the session's database wakes on each enqueueing commit
    and may take the row, as in a cluster — whose processes share one
    configuration. Test servers do not: a session server (no relay, default
    trust anchors) taking a row queued for a test's own server (its relay,
    its anchors, or ``worker: false`` to drive the queue by hand) delivers
    it wrongly or before the test looks."""
    from jmapd_submission.plugin import WORKER_KEY

    from jmapd.testing import JmapServer

    before = list(JmapServer.running)

    def guarded(claim: Any) -> Any:
        def claim_unless_a_newer_server_runs(*args: Any, **kwargs: Any) -> Any:
            if any(server not in before for server in JmapServer.running):
                return []
            return claim(*args, **kwargs)

        return claim_unless_a_newer_server_runs

    for server in before:
        worker = server.services.extensions.get(WORKER_KEY)
        if worker is not None:
            monkeypatch.setattr(worker, "claim", guarded(worker.claim))
