"""Gunicorn with uvicorn workers, started from ``jmapd serve``.

ASGI lets one worker hold thousands of idle push connections on its event
loop while method code runs in a thread pool; gunicorn supervises the
workers. The app is loaded in each worker after fork.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from .config import ConfigError, CoreConfig
from .logformat import gunicorn_logconfig


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


def check_tls(config: CoreConfig) -> None:
    """Load ``server.tls``'s certificate and key once, so a bad pair stops
    start-up naming the file instead of every worker failing to boot."""
    import ssl

    tls = config.server.tls
    if tls.cert_file is None or tls.key_file is None:
        return
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"server.tls: cannot load certificate {tls.cert_file} with key {tls.key_file}: {exc}"
        ) from None


def prepare_metrics(config: CoreConfig) -> None:
    """With ``metrics.enabled``, switch to prometheus-client's multi-process
    mode in the master before any worker forks (``data_dir/metrics``, wiped)."""
    if config.metrics.enabled:
        from .metrics import enable_multiprocess

        enable_multiprocess(config.data_dir / "metrics")


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's hook: a dead worker's open-connection gauges stop counting."""
    from .metrics import process_exited

    process_exited(worker.pid)


def gunicorn_options(config: CoreConfig, bind: str, workers: int) -> dict[str, Any]:
    """Gunicorn's settings for this configuration (``etc/gunicorn.conf.py`` mirrors them).

    NOTE(operator): ``forwarded_allow_ips`` is set from
    ``server.trusted_proxies`` even when that is empty: gunicorn's default
    trusts loopback, and uvicorn would then believe ``X-Forwarded-For`` from
    any local process. The certificate is read by each worker as it boots,
    so SIGHUP (a graceful restart of the workers) picks up a renewed one.
    """
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
        # log.format for the master and the workers (gunicorn's, uvicorn's and jmapd's loggers)
        "logconfig_dict": gunicorn_logconfig(config.log.format, config.log.level),
        "proc_name": "jmapd",
        # one control socket path per user would be shared by every instance on the host
        "control_socket_disable": True,
        "forwarded_allow_ips": ",".join(config.server.trusted_proxies),
        "certfile": config.server.tls.cert_file,
        "keyfile": config.server.tls.key_file,
        "child_exit": child_exit,
    }


def serve(config: CoreConfig, bind: str, workers: int) -> None:
    check_tls(config)
    JmapdGunicorn(gunicorn_options(config, bind, workers)).run()
