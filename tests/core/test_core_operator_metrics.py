"""/metrics through a real `jmapd serve` (2 gunicorn workers, the LMTP listener in its own process).

Counts are checked exactly: the requests of the test spread over both
workers (a new connection each), so the total is right only if the
multi-process files of every worker are summed.
"""

from __future__ import annotations

import smtplib
import threading
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jmapd.testing import ServeProcess, free_port, wait_for

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:submission"]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample (0 when the labelled series does not exist yet)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


@pytest.fixture
def served(tmp_path, jmapd_database):
    lmtp_port = free_port()
    dead_relay = free_port()  # nothing listens: every relay attempt fails temporarily
    extra = (
        "metrics:\n  enabled: true\n"
        f"delivery:\n  lmtp: true\n  lmtp_port: {lmtp_port}\n  domains: [example.test]\n"
        "submission:\n  default_domain: example.test\n  poll_interval: 0.2\n"
        f"  smarthost:\n    host: 127.0.0.1\n    port: {dead_relay}\n    security: none\n    timeout: 2\n"
    )
    server = ServeProcess(tmp_path, jmapd_database, workers=2, extra_yaml=extra).start()
    name = "m" + uuid.uuid4().hex[:8]
    password = uuid.uuid4().hex
    server.cli("user", "add", name, "--password-stdin", stdin=password + "\n")
    yield server, lmtp_port, name, (name, password)
    server.stop()


def scrape(server: ServeProcess, **kw: object) -> str:
    resp = httpx.get(server.url + "/metrics", timeout=30, **kw)  # type: ignore[arg-type]
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return resp.text


def test_counts_from_every_worker_and_the_lmtp_process(served):
    server, lmtp_port, name, auth = served
    before = scrape(server)
    echo_before = sample(before, "jmapd_jmap_method_calls_total", method="Core/echo")
    calls = 12
    for _ in range(calls):  # a new connection each: both workers answer some
        resp = httpx.post(server.url + "/jmap/api", auth=auth, timeout=30, json={
            "using": USING, "methodCalls": [["Core/echo", {"n": 1}, "a"], ["No/such", {}, "b"]]})
        assert resp.status_code == 200
    bad = httpx.post(server.url + "/jmap/api", auth=(name, "wrong"), timeout=30, json={"using": [], "methodCalls": []})
    assert bad.status_code == 401
    with smtplib.LMTP("127.0.0.1", lmtp_port) as lmtp:
        message = f"From: a@remote.test\r\nTo: {name}@example.test\r\nMessage-ID: <x@remote.test>\r\n\r\nhi\r\n"
        refused = lmtp.sendmail("a@remote.test", [f"{name}@example.test", "nobody@example.test"], message)
    assert list(refused) == ["nobody@example.test"]

    text = scrape(server)
    assert sample(text, "jmapd_jmap_method_calls_total", method="Core/echo") - echo_before == calls
    assert sample(text, "jmapd_jmap_method_errors_total", method="unknown", type="unknownMethod") >= calls
    assert sample(text, "jmapd_jmap_method_errors_total", method="Core/echo", type="unknownMethod") == 0
    assert sample(text, "jmapd_jmap_method_duration_seconds_count", method="Core/echo") - echo_before == calls
    assert sample(text, "jmapd_http_requests_total", endpoint="/jmap/api", method="POST", status="200") >= calls
    assert sample(text, "jmapd_auth_failures_total", scheme="basic", reason="invalid") == 1
    assert sample(text, "jmapd_delivery_lmtp_recipients_total", result="delivered") == 1
    assert sample(text, "jmapd_delivery_lmtp_recipients_total", result="rejected") == 1
    assert sample(text, "jmapd_worker_threads") == 2 * 8  # two workers of server.threads 8
    assert sample(text, "jmapd_db_connections") >= 1


def test_push_connections_and_the_submission_queue(served):
    server, _, _, auth = served
    http = httpx.Client(base_url=server.url, auth=auth, timeout=30)
    session = http.get("/.well-known/jmap").json()
    account = next(i for i, a in session["accounts"].items() if a["isPersonal"])
    assert sample(scrape(server), "jmapd_events_push_connections", transport="eventsource") == 0

    opened, done = threading.Event(), threading.Event()

    def listen() -> None:
        url = session["eventSourceUrl"].format(types="*", closeafter="no", ping="0")
        try:
            with httpx.stream("GET", url, auth=auth, timeout=None) as resp:
                assert resp.status_code == 200
                opened.set()
                for _ in resp.iter_lines():
                    if done.is_set():
                        return
        except httpx.HTTPError:
            pass  # the server stopped first

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert opened.wait(10)
    assert wait_for(lambda: sample(scrape(server), "jmapd_events_push_connections", transport="eventsource"),
                    lambda v: v == 1) == 1

    # a message for the dead smarthost: it stays queued, its attempts counted
    identity = http.post("/jmap/api", json={"using": USING, "methodCalls": [
        ["Identity/get", {"accountId": account, "ids": None}, "i"],
        ["Mailbox/get", {"accountId": account, "ids": None}, "m"]]}).json()["methodResponses"]
    ident = identity[0][1]["list"][0]
    drafts = next(m["id"] for m in identity[1][1]["list"] if m["role"] == "drafts")
    out = http.post("/jmap/api", json={"using": USING, "methodCalls": [
        ["Email/set", {"accountId": account, "create": {"d": {
            "mailboxIds": {drafts: True}, "from": [{"email": ident["email"]}], "to": [{"email": "bob@remote.test"}],
            "subject": "queued", "bodyValues": {"b": {"value": "x"}}, "textBody": [{"partId": "b", "type": "text/plain"}]}}}, "e"],
        ["EmailSubmission/set", {"accountId": account, "create": {"s": {"identityId": ident["id"], "emailId": "#d"}}}, "s"],
    ]}).json()["methodResponses"]
    assert "s" in out[1][1]["created"], out
    text = wait_for(lambda: scrape(server), lambda t: sample(t, "jmapd_submission_queue_attempts_max") >= 1)
    assert sample(text, "jmapd_submission_queue_items", state="queued") + sample(
        text, "jmapd_submission_queue_items", state="sending") == 1
    assert sample(text, "jmapd_submission_queue_oldest_seconds") > 0
    assert sample(text, "jmapd_submission_relay_recipients_total", outcome="temporary") >= 1

    done.set()
    http.close()


def test_off_by_default_token_and_loopback_only(tmp_path, jmapd_database):
    for sub in "abc":
        (tmp_path / sub).mkdir()
    plain = ServeProcess(tmp_path / "a", jmapd_database, workers=1).start()
    try:
        assert httpx.get(plain.url + "/metrics", timeout=30).status_code == 404
    finally:
        plain.stop()

    token = uuid.uuid4().hex
    guarded = ServeProcess(tmp_path / "b", jmapd_database, workers=1, extra_yaml=f"metrics:\n  enabled: true\n  token: {token}\n").start()
    try:
        assert httpx.get(guarded.url + "/metrics", timeout=30).status_code == 401
        assert httpx.get(guarded.url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=30).status_code == 401
        assert "jmapd_http_requests_total" in scrape(guarded, headers={"Authorization": f"Bearer {token}"})
    finally:
        guarded.stop()

    # no token: loopback only; a client forwarded by a trusted proxy is not loopback
    proxied = ServeProcess(tmp_path / "c", jmapd_database, workers=1, server_yaml="  trusted_proxies: [127.0.0.1]\n",
                           extra_yaml="metrics:\n  enabled: true\n").start()
    try:
        assert httpx.get(proxied.url + "/metrics", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=30).status_code == 403
        assert "jmapd_http_requests_total" in scrape(proxied)
    finally:
        proxied.stop()
