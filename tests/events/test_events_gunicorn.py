"""A real `jmapd serve` with two gunicorn/uvicorn workers: a change made
through one worker reaches streams and sockets held by the other."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import yaml
from websockets.sync.client import connect

from jmapd.testing import free_port


@pytest.fixture
def gunicorn(jmapd_database, tmp_path):
    port = free_port()
    config = tmp_path / "jmapd.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": {"url": jmapd_database},
                "server": {"data_dir": str(tmp_path / "data")},
                "log": {"access_log": False, "level": "WARNING"},
                "events": {"keepalive": 5},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jmapd.cli",
            "--config",
            str(config),
            "serve",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "jmapd serve did not start"
            time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:  # only the process group this fixture started
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.close()


@pytest.mark.slow
def test_change_reaches_streams_on_every_worker(gunicorn, jmap_server, sse):
    user, password = jmap_server.make_user()
    http = httpx.Client(base_url=gunicorn, auth=(user, password), timeout=20)
    streams = []
    while len(streams) < 6 or len({s.worker for s in streams}) < 2:
        assert len(streams) < 60, "every stream landed on one worker"
        stream = sse(http, "/jmap/eventsource?types=*&closeafter=no&ping=0")
        assert stream.status == 200
        deadline = time.monotonic() + 5
        while stream.worker is None and time.monotonic() < deadline:
            time.sleep(0.01)
        streams.append(stream)
    session = http.get("/jmap/session").json()
    account = session["primaryAccounts"]["urn:example:notes"]
    ws_url = session["capabilities"]["urn:ietf:params:jmap:websocket"]["url"]
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(
                connect(
                    ws_url,
                    subprotocols=["jmap"],
                    additional_headers={"Authorization": jmap_server.basic(user, password)},
                )
            )
            for _ in range(4)
        ]
        for ws in sockets:
            ws.send(json.dumps({"@type": "WebSocketPushEnable", "dataTypes": ["Note"]}))
            # A socket's messages are handled in order: once a request sent
            # after the enable is answered, push is on for that socket.
            ws.send(json.dumps({"@type": "Request", "id": "r", "using": ["urn:ietf:params:jmap:core"],
                                "methodCalls": [["Core/echo", {}, "0"]]}))
            assert json.loads(ws.recv(timeout=10))["@type"] == "Response"
        # A fresh connection, so either worker may take the write.
        with httpx.Client(base_url=gunicorn, auth=(user, password), timeout=20) as writer:
            resp = writer.post(
                "/jmap/api",
                json={
                    "using": ["urn:ietf:params:jmap:core", "urn:example:notes"],
                    "methodCalls": [
                        ["Note/set", {"accountId": account, "create": {"n": {"title": "hi"}}}, "c"]
                    ],
                },
            )
        assert resp.status_code == 200, resp.text
        state = resp.json()["methodResponses"][0][1]["newState"]
        for stream in streams:
            assert stream.next(timeout=10)["changed"][account]["Note"] == state, stream.worker
        for ws in sockets:
            change = json.loads(ws.recv(timeout=10))
            assert change["changed"] == {account: {"Note": state}}
    http.close()
