"""Gunicorn with uvicorn workers, started from ``jmapd serve``.

ASGI lets one worker hold thousands of idle push connections on its event
loop while method code runs in a thread pool; gunicorn supervises the
workers. The app is loaded in each worker after fork.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


# gunicorn publishes no types, so BaseApplication is Any: subclassing it is an
# error under --strict only (hence unused-ignore for the non-strict plugins run).
class JmapdGunicorn(BaseApplication):  # type: ignore[misc, unused-ignore]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from .app import get_app

        return get_app()


def gunicorn_options(bind: str, workers: int, threads: int) -> dict[str, Any]:
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": "jmapd.connguard.JmapdWorker",
        "graceful_timeout": 10,
        "timeout": 60,
        "keepalive": 75,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "jmapd",
        # one control socket path per user would be shared by every instance on the host
        "control_socket_disable": True,
    }


def serve(bind: str, workers: int, threads: int) -> None:
    JmapdGunicorn(gunicorn_options(bind, workers, threads)).run()
