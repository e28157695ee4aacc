"""Keeping `jmapd serve`'s background processes alive.

A plugin's ``jmapd_serve_processes`` callable (the LMTP listener) runs in a
process of its own beside gunicorn's workers. If it dies — a port it cannot
bind, a crash — HTTP would go on serving while mail bounces, so a thread of
the master restarts it, logging an error each time, with a delay that
doubles from one second up to :data:`MAX_DELAY` while it keeps failing and
starts again from one second once it ran for :data:`STABLE` seconds.
Whether the service itself answers is for ``/readyz`` to say (the plugin's
``jmapd_health``), not this thread.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("jmapd.supervise")

MAX_DELAY = 30.0
STABLE = 60.0
POLL = 0.5


class Supervisor:
    def __init__(self, targets: list[Callable[[str | None], None]], config_path: str | None) -> None:
        self.targets = targets
        self.config_path = config_path
        self._context = multiprocessing.get_context("spawn")
        self._procs: list[Any] = [None] * len(targets)
        self._started = [0.0] * len(targets)
        self._delay = [0.5] * len(targets)  # doubled before the first restart: 1 s
        self._due = [0.0] * len(targets)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="jmapd-supervisor", daemon=True)

    @staticmethod
    def name(target: Callable[..., Any]) -> str:
        return f"{target.__module__}.{getattr(target, '__qualname__', target)}"

    def start(self) -> None:
        for i in range(len(self.targets)):
            self._spawn(i)
        if self.targets:
            self._thread.start()

    def _spawn(self, i: int) -> None:
        proc = self._context.Process(target=self.targets[i], args=(self.config_path,), daemon=True)
        proc.start()
        self._procs[i] = proc
        self._started[i] = time.monotonic()
        log.info("started %s (pid %s)", self.name(self.targets[i]), proc.pid)

    def _watch(self) -> None:
        while not self._stop.wait(POLL):
            for i, proc in enumerate(self._procs):
                if self._stop.is_set():
                    return
                if proc is not None and _alive(proc):
                    continue
                current = time.monotonic()
                if proc is not None:  # it just died: log once, schedule the restart
                    ran = current - self._started[i]
                    self._delay[i] = 1.0 if ran >= STABLE else min(MAX_DELAY, self._delay[i] * 2)
                    self._due[i] = current + self._delay[i]
                    status = f" with status {proc.exitcode}" if proc.exitcode is not None else ""
                    log.error("%s (pid %s) exited%s after %.0f s; restarting in %.0f s",
                              self.name(self.targets[i]), proc.pid, status, ran, self._delay[i])
                    self._procs[i] = None
                elif current >= self._due[i]:
                    self._spawn(i)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        for proc in self._procs:
            if proc is not None and proc.is_alive():
                proc.terminate()
        for proc in self._procs:
            if proc is not None:
                proc.join(5)


def _alive(proc: Any) -> bool:
    """Whether ``proc`` still runs. Under gunicorn the arbiter's SIGCHLD
    handler reaps every child of the master, ours too, after which
    ``is_alive()`` (waitpid: ECHILD) would answer True for ever; the pid
    itself is then gone."""
    if not proc.is_alive():
        return False
    try:
        os.kill(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True
