"""A plugin's background task that raises is logged, shown by /readyz and
started again; one that keeps running is left alone."""

import asyncio
import logging
import threading

import httpx

from jmapd import hookimpl
from jmapd.testing import wait_for


class Flaky:
    """jmapd_startup's task raises until ``healed`` is set, then runs."""

    def __init__(self):
        self.calls = 0
        self.healed = threading.Event()
        self.running = threading.Event()

    @hookimpl
    def jmapd_startup(self, services):
        self.calls += 1
        return self.task()

    async def task(self):
        if not self.healed.is_set():
            raise RuntimeError("lost the connection")
        self.running.set()
        await asyncio.Event().wait()


def test_a_failing_task_is_reported_and_restarted(make_server, monkeypatch, caplog):
    import jmapd.app

    monkeypatch.setattr(jmapd.app, "TASK_MAX_DELAY", 0.2)  # restart quickly
    flaky = Flaky()
    with caplog.at_level(logging.ERROR, logger="jmapd"):
        server = make_server({}, extra_plugins=[flaky])
        resp = wait_for(lambda: httpx.get(server.url + "/readyz"), lambda r: r.status_code == 503)
        failing = {k: v for k, v in resp.json().items() if k.startswith("task:")}
        assert list(failing.values()) == ["restarting after RuntimeError: lost the connection"]
        assert resp.json()["checks"]["task:submission"] == "ok"  # the others run on
        calls = wait_for(lambda: flaky.calls, lambda n: n >= 3)  # called again for each restart
        flaky.healed.set()
        assert flaky.running.wait(10)
        wait_for(lambda: httpx.get(server.url + "/readyz").status_code, lambda code: code == 200)
    assert flaky.calls >= calls
    errors = [r for r in caplog.records if "background task of plugin" in r.getMessage()]
    assert errors and errors[0].exc_info is not None  # logged with its traceback, as an error
