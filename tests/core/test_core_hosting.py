"""Hosting: the real `jmapd serve` (gunicorn + uvicorn workers) as a process."""

import socket
import threading
import time

import httpx
import pytest

from jmapd.testing import ServeProcess

CORE = "urn:ietf:params:jmap:core"
NOTES = "urn:example:notes"


@pytest.fixture
def served(tmp_path, jmapd_database):
    server = ServeProcess(tmp_path, jmapd_database).start()
    yield server
    server.stop()


def api(url, auth, calls, using=(CORE, NOTES), timeout=30):
    resp = httpx.post(url + "/jmap/api", json={"using": list(using), "methodCalls": calls}, auth=auth, timeout=timeout)
    assert resp.status_code == 200, resp.text
    return resp.json()["methodResponses"]


def test_gunicorn_serves_with_two_workers(served, jmap_server):
    user = jmap_server.make_user()
    session = httpx.get(served.url + "/.well-known/jmap", auth=user).json()
    assert session["apiUrl"] == served.url + "/jmap/api"
    assert len(served.worker_pids()) == 2
    for i in range(20):
        assert api(served.url, user, [["Core/echo", {"i": i}, "0"]])[0] == ["Core/echo", {"i": i}, "0"]


def test_slow_request_does_not_block_the_users_other_requests(served, jmap_server):
    user = jmap_server.make_user()
    slow = threading.Thread(target=api, args=(served.url, user, [["Example/sleep", {"seconds": 5}, "0"]]))
    slow.start()
    time.sleep(0.3)
    for _ in range(5):
        api(served.url, user, [["Core/echo", {}, "0"]])
    # all five answered while the slow call (on the same workers) is still running
    assert slow.is_alive()
    slow.join()


def test_idle_connections_do_not_starve_requests(served, jmap_server):
    user = jmap_server.make_user()
    sockets = []
    try:
        for i in range(300):
            sock = socket.create_connection(("127.0.0.1", served.port))
            if i % 2:
                sock.sendall(b"POST /jmap/api HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # slow body
            sockets.append(sock)
        # answered while all of them are held open (the client gives up after 10 s)
        assert api(served.url, user, [["Core/echo", {"ok": 1}, "0"]], timeout=10)[0][1] == {"ok": 1}
    finally:
        for sock in sockets:
            sock.close()


def test_set_survives_kill_9(tmp_path, jmapd_database, jmap_server):
    user = jmap_server.make_user()
    server = ServeProcess(tmp_path, jmapd_database).start()
    try:
        out = api(server.url, user, [["Note/set", {"accountId": _account(server, user), "create": {"n": {"title": "durable"}}}, "0"]])
        note_id = out[0][1]["created"]["n"]["id"]
        server.kill9()
        server.start()
        got = api(server.url, user, [["Note/get", {"accountId": _account(server, user), "ids": [note_id]}, "0"]])
        assert got[0][1]["list"][0]["title"] == "durable"
    finally:
        server.stop()


def _account(server, user):
    session = httpx.get(server.url + "/.well-known/jmap", auth=user).json()
    return next(i for i, a in session["accounts"].items() if a["isPersonal"])


def test_login_lock_is_shared_by_every_worker_and_host(tmp_path, jmapd_database, jmap_server, unlocked_loopback):
    """Finding 1: each worker counted failures in its own memory, so N workers gave N times the guesses."""
    from jmapd.auth import Throttle

    name, password = jmap_server.make_user()
    other, other_password = jmap_server.make_user()
    # (the later auth: mapping replaces ServeProcess's own, as YAML's last key wins)
    served = ServeProcess(tmp_path, jmapd_database, workers=2,
                          extra_yaml="auth:\n  failure_threshold: 3\n  max_delay: 60\n").start()
    try:
        url = served.url + "/.well-known/jmap"
        assert len(served.worker_pids()) == 2
        # every guess on a fresh connection (whichever worker takes it) counts against one budget
        codes = [httpx.get(url, auth=(name, "guess")).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]  # the 4th falls inside the first (0.25 s) lock
        # failures recorded by another host stretch the same lock (to 60 s, so nothing races its end)
        elsewhere = Throttle(3, 300, 60.0)
        for _ in range(10):
            elsewhere.fail(f"user:{name}")
        assert {httpx.get(url, auth=(name, password)).status_code for _ in range(8)} == {429}
        unlocked_loopback.lift("ip:127.0.0.1", f"user:{name}")
        # not locked: a wrong password is a plain 401 (the control for what follows)
        assert httpx.get(url, auth=(other, other_password + "x")).status_code == 401
        unlocked_loopback.lift("ip:127.0.0.1", f"user:{other}")
        # failures counted by another host lock the user on every worker here
        for _ in range(10):
            elsewhere.fail(f"user:{other}")
        assert {httpx.get(url, auth=(other, other_password)).status_code for _ in range(8)} == {429}
        elsewhere.lift(f"user:{other}")
        assert httpx.get(url, auth=(other, other_password)).status_code == 200
    finally:
        served.stop()
        unlocked_loopback.lift(f"user:{name}", f"user:{other}")
