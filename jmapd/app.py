"""The ASGI application: ``create_app(config)``; ``get_app()`` for gunicorn.

The app is built in each worker after fork (database connections are
opened lazily per thread), so nothing crosses a fork.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import falcon
import falcon.asgi
import orjson

from . import config as config_mod
from .blobs import BlobStore
from .db import database, open_database, probe_database
from .logformat import configure as configure_logging
from .methods.registry import Registry
from .migrate import check_models
from .plugins import installed, make_plugin_manager
from .protocol.errors import RequestError
from .resources.api import ApiResource
from .resources.blobs import DownloadResource, UploadResource
from .resources.common import send_problem
from .resources.health import LiveResource, ReadyResource
from .resources.metrics import HttpMetrics, MetricsResource
from .resources.session import SessionResource
from .services import TASK_HEALTH, THREADS, Services

log = logging.getLogger("jmapd")
access_log = logging.getLogger("jmapd.access")


_warned_stray: set[str] = set()


def load_config(path: str | None = None, environ: dict[str, str] | None = None, extra_plugins: list[Any] | None = None) -> tuple[config_mod.CoreConfig, Any]:
    """Read and validate the configuration with the plugins it enables.

    The file is read first, then the plugins it (or ``JMAPD_CAPABILITIES``)
    enables, so that environment variables are matched against the keys
    that really exist: ``JMAPD_*`` variables that name no key are ignored
    with one warning per process naming them. The sections of installed
    plugins that are not enabled are accepted and ignored (listed in
    ``inactive_sections``), so disabling a plugin never breaks a file that
    configures it.
    """
    env = os.environ if environ is None else environ
    raw = config_mod.read_file(path, env)
    if "JMAPD_CAPABILITIES" in env:
        raw["capabilities"] = config_mod.env_value(
            "JMAPD_CAPABILITIES", env["JMAPD_CAPABILITIES"], list[str] | None, "capabilities"
        )
    enabled = raw.get("capabilities")
    if enabled is not None and (not isinstance(enabled, list) or not all(isinstance(n, str) for n in enabled)):
        raise config_mod.ConfigError("capabilities: expected a list of plugin names")
    pm = make_plugin_manager(enabled, extra_plugins)
    schemas = {}
    for result in pm.hook.jmapd_config_schema():
        if result:
            section, schema = result
            schemas[section] = schema
    core_keys = {f.name for f in dataclasses.fields(config_mod.CoreConfig) if not f.metadata.get("internal")}
    inactive = sorted(set(installed()) - set(schemas) - core_keys)
    raw, stray = config_mod.merge_env(raw, env, schemas, inactive)
    new = sorted(set(stray) - _warned_stray)
    if new:
        _warned_stray.update(new)
        log.warning("ignoring environment variables that name no configuration key: %s", ", ".join(new))
    present = [name for name in inactive if name in raw]
    for name in present:
        raw.pop(name)
    cfg = config_mod.load(raw, schemas, source=str(path or env.get("JMAPD_CONFIG") or ""))
    cfg.inactive_sections = present
    return cfg, pm


def _per_plugin(hook: Any, **kwargs: Any) -> Iterator[tuple[str, list[Any]]]:
    """(plugin name, result) of each implementation, in pluggy's call order,
    so that a bad contribution is reported with the plugin that made it."""
    for impl in reversed(hook.get_hookimpls()):
        result = impl.function(**{name: kwargs[name] for name in impl.argnames})
        yield impl.plugin_name, result or []


def build_registry(pm: Any, cfg: config_mod.CoreConfig) -> Registry:
    registry = Registry()
    for plugin, caps in _per_plugin(pm.hook.jmapd_capabilities, config=cfg):
        for cap in caps:
            registry.add_capability(cap, plugin)
    for plugin, types in _per_plugin(pm.hook.jmapd_data_types, config=cfg):
        for data_type in types:
            registry.add_data_type(data_type, plugin)
    for plugin, extensions in _per_plugin(pm.hook.jmapd_type_extensions, config=cfg):
        for extension in extensions:
            registry.extend_type(extension, plugin)
    for plugin, methods in _per_plugin(pm.hook.jmapd_methods, config=cfg):
        for method in methods:
            registry.add_method(method, plugin)
    registry.check()
    return registry


def build_services(cfg: config_mod.CoreConfig, pm: Any) -> Services:
    open_database(cfg.database_url)
    probe_database(cfg.database_url)  # one line naming the database, not a traceback later
    registry = build_registry(pm, cfg)
    blobs = BlobStore(cfg.blobs.store, cfg.blob_path, cfg.blobs.inline_max)
    return Services(config=cfg, pm=pm, registry=registry, blobs=blobs)


class AccessLog:
    """One JSON line per request: what happened, to whom (the authenticated
    user), which JMAP methods it called, how long it took."""

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.started = time.monotonic()

    async def process_response(self, req: Any, resp: Any, resource: Any, req_succeeded: bool) -> None:
        started = getattr(req.context, "started", None)
        if started is None:
            return
        fields = {
            "method": req.method,
            "path": req.path,
            "status": int(str(resp.status).split()[0]),
            "ms": round((time.monotonic() - started) * 1000, 2),
            "remote": req.remote_addr,
            "user": getattr(req.context, "user", None),
            **({"calls": req.context.calls} if getattr(req.context, "calls", None) else {}),
        }
        # the fields ride as ``extra``: top-level keys of a JSON line (log.format), appended to a text one
        access_log.info("%s %s %s", fields["method"], fields["path"], fields["status"], extra=fields)


TASK_MAX_DELAY = 30.0
TASK_STABLE = 60.0


class Lifespan:
    """Runs plugin start-up hooks once the worker's event loop exists, and
    keeps the background tasks they return alive: a task that raises is
    logged and started again (the plugin's ``jmapd_startup`` called anew)
    after a delay doubling from one second up to 30 s; /readyz reports it
    meanwhile. A task that returns has finished its work."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.tasks: list[asyncio.Task[Any]] = []

    async def process_startup(self, scope: Any, event: Any) -> None:
        THREADS.set(self.services.config.server.threads)
        health = self.services.extensions.setdefault(TASK_HEALTH, {})
        loop = asyncio.get_running_loop()
        for impl in reversed(self.services.pm.hook.jmapd_startup.get_hookimpls()):
            result = impl.function(services=self.services) if impl.argnames else impl.function()
            if inspect.iscoroutine(result):
                health[impl.plugin_name] = "ok"
                self.tasks.append(loop.create_task(self._supervise(impl, result, health)))

    async def _supervise(self, impl: Any, coro: Any, health: dict[str, str]) -> None:
        loop = asyncio.get_running_loop()
        name = impl.plugin_name
        delay = 0.5
        while True:
            started = loop.time()
            health[name] = "ok"
            try:
                await coro
                health.pop(name, None)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the worker must not lose the task silently
                delay = 1.0 if loop.time() - started >= TASK_STABLE else min(TASK_MAX_DELAY, delay * 2)
                health[name] = f"restarting after {type(exc).__name__}: {exc}"[:200]
                log.error("background task of plugin %r failed; restarting in %.0f s", name, delay, exc_info=True)
            await asyncio.sleep(delay)
            coro = impl.function(services=self.services) if impl.argnames else impl.function()
            if not inspect.iscoroutine(coro):
                health[name] = "stopped: jmapd_startup returned no task when restarted"
                return

    async def process_shutdown(self, scope: Any, event: Any) -> None:
        for task in self.tasks:
            task.cancel()
        self.services.hook.jmapd_shutdown(services=self.services)
        self.services.executor.shutdown(wait=False, cancel_futures=True)


async def _request_error(req: Any, resp: Any, ex: RequestError, params: Any) -> None:
    send_problem(resp, ex)


async def _unexpected(req: Any, resp: Any, ex: Exception, params: Any) -> None:
    if isinstance(ex, falcon.HTTPError):
        raise ex
    log.exception("unhandled error on %s %s", req.method, req.path)
    resp.status = 500
    resp.content_type = "application/problem+json"
    resp.data = orjson.dumps({"type": "about:blank", "status": 500, "detail": "Internal server error."})


def create_app(cfg: config_mod.CoreConfig | None = None, pm: Any = None, services: Services | None = None) -> falcon.asgi.App[Any, Any]:
    if services is None:
        if cfg is None or pm is None:
            cfg, pm = load_config()
        services = build_services(cfg, pm)
    cfg = services.config
    check_models(services.pm, database.obj)
    middleware: list[Any] = [Lifespan(services)]
    if cfg.server.cors_origins:
        # Web clients authenticate with an Authorization header, not cookies,
        # so credentials mode is not needed for cross-origin calls.
        origins: Any = "*" if "*" in cfg.server.cors_origins else cfg.server.cors_origins
        middleware.append(falcon.CORSMiddleware(allow_origins=origins, expose_headers=["Content-Disposition"]))
    if cfg.log.access_log:
        middleware.insert(0, AccessLog())
    middleware.insert(0, HttpMetrics())
    for extra in services.hook.jmapd_middleware(config=cfg, services=services):
        middleware.extend(extra or [])
    app = falcon.asgi.App(middleware=middleware)
    app.req_options.auto_parse_form_urlencoded = False
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(RequestError, _request_error)
    app.add_route("/.well-known/jmap", SessionResource(services))
    app.add_route("/jmap/session", SessionResource(services))
    app.add_route("/jmap/api", ApiResource(services))
    app.add_route("/jmap/upload/{account_id}", UploadResource(services))
    app.add_route("/jmap/download/{account_id}/{blob_id}/{name}", DownloadResource(services))
    app.add_route("/healthz", LiveResource())
    app.add_route("/readyz", ReadyResource(services))
    if cfg.metrics.enabled:
        app.add_route("/metrics", MetricsResource(services))
    for routes in services.hook.jmapd_routes(config=cfg, services=services):
        for path, resource in routes or []:
            app.add_route(path, resource)
    return app


def get_app() -> falcon.asgi.App[Any, Any]:
    """The gunicorn entry point: configuration from ``JMAPD_CONFIG``/environment."""
    cfg, pm = load_config()
    configure_logging(cfg.log.format, cfg.log.level)
    return create_app(cfg, pm)
