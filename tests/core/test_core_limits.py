"""Per-user concurrency limits and the access log."""

import logging
import threading

from jmapd.logformat import extra_fields
from jmapd.testing import wait_for

CORE = "urn:ietf:params:jmap:core"
NOTES = "urn:example:notes"


def test_max_concurrent_requests(make_server):
    server = make_server({"limits": {"max_concurrent_requests": 1}})
    client = server.client()
    other = server.client()
    # One HTTP client per thread: the slow call has a client of its own.
    slow_client = server.client(client.user, client.password)
    slow = threading.Thread(target=slow_client.request, args=([["Example/sleep", {"seconds": 1.5}, "0"]],))
    slow.start()
    assert wait_for(lambda: server.busy("api", client.user), lambda n: n == 1) == 1
    resp = client.post({"using": [CORE], "methodCalls": [["Core/echo", {}, "0"]]})
    assert resp.status_code == 400
    assert resp.json()["limit"] == "maxConcurrentRequests"
    # another user is not affected
    assert other.request([["Core/echo", {}, "0"]])["methodResponses"]
    slow.join()
    assert client.request([["Core/echo", {}, "0"]])["methodResponses"]
    assert server.client().session["capabilities"][CORE]["maxConcurrentRequests"] == 1


def test_max_concurrent_requests_holds_across_workers(make_server):
    """#16: the cap was per worker, so N workers let one user run N times as many
    requests as the session says (enough to occupy several workers' threads).
    A request held by another worker process (its lock file) counts here."""
    import fcntl
    import os

    from jmapd.db import ensure_connected
    from jmapd.models import User

    server = make_server({"limits": {"max_concurrent_requests": 2}})
    client, other = server.client(), server.client()
    ensure_connected()
    uid = User.get(User.name == client.user).id
    inflight = server.services.config.data_dir / "run" / "inflight"
    assert client.request([["Core/echo", {}, "0"]])["methodResponses"]  # the files exist now
    held = []
    try:
        for place in range(2):  # another worker runs two requests of this user
            fd = os.open(inflight / f"api.{uid}.{place}", os.O_RDWR | os.O_CREAT, 0o600)
            held.append(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        resp = client.post({"using": [CORE], "methodCalls": [["Core/echo", {}, "0"]]})
        assert resp.status_code == 400 and resp.json()["limit"] == "maxConcurrentRequests"
        assert other.request([["Core/echo", {}, "0"]])["methodResponses"]  # another user is not affected
        os.close(held.pop())  # one of them ends
        assert client.request([["Core/echo", {}, "0"]])["methodResponses"]
    finally:
        for fd in held:
            os.close(fd)
    assert server.busy("api", client.user) == 0


def test_access_log_is_structured(make_server, caplog):
    server = make_server({"log": {"access_log": True}})
    client = server.client()
    with caplog.at_level(logging.INFO, logger="jmapd.access"):
        client.request([["Core/echo", {}, "0"]])
        # The access line is written once the response is sent: wait for it.
        wait_for(lambda: [r for r in caplog.records if r.name == "jmapd.access" and "/jmap/api" in r.getMessage()])
    lines = [extra_fields(r) for r in caplog.records if r.name == "jmapd.access"]
    api = [line for line in lines if line["path"] == "/jmap/api"]
    assert api and api[-1]["status"] == 200 and api[-1]["method"] == "POST" and api[-1]["ms"] >= 0
