"""Hosting: the real `jmapd serve` (gunicorn + uvicorn workers) as a process."""

import socket
import threading
import time

import httpx
import pytest

from jmapd.testing import ServeProcess, wait_for

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


def refusals(socks, want, timeout=10.0):
    """What the server wrote at once to each of ``socks``, polled until ``want``
    sockets have an answer (a refusal is written on accept) or ``timeout``."""
    import select

    got: dict[int, bytes] = {}
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        waiting = [s for s in socks if s.fileno() not in got]
        ready, _, _ = select.select(waiting, [], [], 0.1)
        for sock in ready:
            got[sock.fileno()] = sock.recv(4096)
    return list(got.values())


def _echo_or_none(url, auth):
    """Core/echo's answer, or None while the server still refuses (503)."""
    resp = httpx.post(url + "/jmap/api", json={"using": [CORE], "methodCalls": [["Core/echo", {"ok": 3}, "0"]]},
                      auth=auth, timeout=10)
    return resp.json()["methodResponses"][0][1] if resp.status_code == 200 else None


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
        for i in range(300):  # from another address than the user's: one address is capped per worker
            sock = attacker_socket(served.port)
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
        for _ in range(3):
            last_sent = time.monotonic()
            assert httpx.get(url, auth=(name, "guess")).status_code == 401
        # the 3rd failure locked the user for 0.25 s, each later one for twice as long: a guess
        # answered 401 is a fault unless the whole exchange since the previous one outlasted that
        # lock (a loaded machine may be that slow, so keep guessing: a lock is soon longer)
        lock = 0.25
        for _ in range(6):
            sent = time.monotonic()
            code = httpx.get(url, auth=(name, "guess")).status_code
            if code == 429:
                break
            assert code == 401 and time.monotonic() - last_sent >= lock, "a guess inside the lock was let through"
            lock, last_sent = lock * 2, sent
        else:
            pytest.fail("never locked: every guess was answered")
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


ATTACKER = "127.0.0.2"  # all of 127/8 is loopback on Linux: the attacker is another address than the user


def attacker_socket(port):
    return socket.create_connection(("127.0.0.1", port), source_address=(ATTACKER, 0), timeout=30)


def closed_by_server(sock):
    """What the server sent before closing (b"" for a silent close); raises if it never closes."""
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


@pytest.fixture(params=["httptools", "h11"])
def guarded(request, tmp_path, jmapd_database):
    """A served jmapd with each HTTP/1.1 parser (``connections.http_parser``): both are guarded."""
    server = ServeProcess(tmp_path, jmapd_database, workers=2, extra_yaml=(
        f"connections:\n  header_timeout: 3\n  max_per_address: 20\n  http_parser: {request.param}\n"
        "events:\n  ping_min: 1\n"  # the default clamps ?ping=1 to 30 s
    )).start()
    yield server
    server.stop()


def test_slowloris_and_silent_sockets_are_closed_while_a_user_is_served(guarded, jmap_server):
    """Finding 2: half-sent and silent connections stayed open forever."""
    user = jmap_server.make_user()
    silent = [attacker_socket(guarded.port) for _ in range(5)]
    trickling = [attacker_socket(guarded.port) for _ in range(5)]
    for sock in trickling:
        sock.sendall(b"GET /.well-known/jmap HTTP/1.1\r\nHost: x\r\n")
    # a user on a connection of their own is answered meanwhile
    assert api(guarded.url, user, [["Core/echo", {"ok": 1}, "0"]], timeout=10)[0][1] == {"ok": 1}
    try:
        for _ in range(3):  # keep trickling header lines: a slowloris never finishes its head
            for sock in trickling:
                sock.sendall(b"X-Slow: 1\r\n")
            time.sleep(0.3)
        # the recv timeout is 30 s; the server's deadline is 3 s: closed, not left open
        assert {closed_by_server(sock) for sock in silent} == {b""}
        answers = {closed_by_server(sock).split(b"\r\n")[0] for sock in trickling}
        assert answers == {b"HTTP/1.1 408 Request Timeout"}
        # a whole request inside the deadline is answered as usual on such a socket
        sock = attacker_socket(guarded.port)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert closed_by_server(sock).startswith(b"HTTP/1.1 200")
    finally:
        for sock in silent + trickling:
            sock.close()


def test_connections_per_address_are_capped_with_429(guarded, jmap_server):
    """Finding 2: one address could hold every descriptor; now each worker takes 20 from it."""
    user = jmap_server.make_user()
    held = []
    try:
        for _ in range(60):
            sock = attacker_socket(guarded.port)
            held.append(sock)
        # a refusal is written at once; the header deadline (3 s) is far off
        refused = refusals(held, 20)
        # two workers hold at most 20 each; whatever else arrived was refused cleanly
        assert len(refused) >= 20
        assert all(r.startswith(b"HTTP/1.1 429 Too Many Requests\r\n") and b"Retry-After: 1" in r for r in refused)
        # another address is not affected
        assert api(guarded.url, user, [["Core/echo", {"ok": 2}, "0"]], timeout=10)[0][1] == {"ok": 2}
    finally:
        for sock in held:
            sock.close()


def test_an_eventsource_outlives_the_header_deadline(guarded, jmap_server):
    """The deadline covers the request head only: a push stream stays open past it."""
    user = jmap_server.make_user()
    url = guarded.url + "/jmap/eventsource?types=*&closeafter=no&ping=1"
    with httpx.stream("GET", url, auth=user, timeout=30) as resp:
        assert resp.status_code == 200
        lines = resp.iter_lines()
        started = time.monotonic()
        pings_after_deadline = 0
        while pings_after_deadline < 2:  # pings arrive every second; the deadline is 3 s
            line = next(lines)
            if line.startswith("event: ping") and time.monotonic() - started > 3.5:
                pings_after_deadline += 1


def test_a_full_worker_refuses_with_503_and_recovers(tmp_path, jmapd_database, jmap_server):
    """Finding 2: past the descriptor limit accepts failed and users got 500s; now a clean 503."""
    user = jmap_server.make_user()
    served = ServeProcess(tmp_path, jmapd_database, workers=1, extra_yaml=(
        "connections:\n  header_timeout: 30\n  max_per_worker: 10\n"
    )).start()
    held = []
    try:
        held = [attacker_socket(served.port) for _ in range(15)]
        refused = refusals(held, 5)
        assert len(refused) >= 5
        assert all(r.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and b"Retry-After: 1" in r for r in refused)
        for sock in held:
            sock.close()
        held = []
        # the worker frees its slots as it sees the closes: answered once it has
        assert wait_for(lambda: _echo_or_none(served.url, user), lambda r: r is not None, timeout=10) == {"ok": 3}
        assert api(served.url, user, [["Core/echo", {"ok": 3}, "0"]], timeout=10)[0][1] == {"ok": 3}
    finally:
        for sock in held:
            sock.close()
        served.stop()
