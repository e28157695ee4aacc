"""Every hook a jmapd plugin may implement.

Hooks are called with keyword arguments only; an implementation may accept
any subset of them. List-returning hooks are collected from every plugin;
``firstresult`` hooks stop at the first non-None answer. Each hook is
documented in docs/plugin_hooks.rst, and a test keeps the two in step.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # type-only: the core imports this module before any of these
    import falcon.asgi

    from .auth import Principal
    from .config import CoreConfig
    from .db import BaseModel
    from .methods.context import CallContext
    from .methods.registry import Capability, Method
    from .methods.types import DataType, TypeExtension
    from .services import Services

hookspec = pluggy.HookspecMarker("jmapd")


@hookspec(historic=True)
def jmapd_add_hookspecs(pm: pluggy.PluginManager) -> None:
    """Add hook specifications a plugin offers to other plugins."""


@hookspec
def jmapd_requires() -> list[str] | None:
    """Names of the plugins this one cannot work without (``["mail"]``):
    start-up stops, naming both, when one of them is not enabled."""


@hookspec
def jmapd_config_check(config: CoreConfig, connect: bool) -> list[tuple[str, str]] | None:
    """Findings of ``jmapd config check`` about the plugin's own setup, each
    ``(level, text)`` with level ``ok``, ``note`` or ``error``. With
    ``connect`` the plugin may try the network services it relies on (a
    relay, a listening port); without it, it must not."""


@hookspec
def jmapd_backup_files(config: CoreConfig) -> list[str] | None:
    """Files beside the data that ``jmapd backup`` must keep and ``jmapd
    restore`` put back (the events plugin's VAPID key): paths, absolute or
    relative to the working directory; missing ones are skipped."""


@hookspec
def jmapd_config_schema() -> tuple[str, type] | None:
    """Declare the plugin's YAML section: ``(section name, dataclass)``.

    Every field of the dataclass needs a default; the section is validated
    at start-up and handed back as ``config.section(name)``.
    """


@hookspec
def jmapd_capabilities(config: CoreConfig) -> list[Capability] | None:
    """Return the :class:`~jmapd.methods.registry.Capability` objects of the plugin."""


@hookspec
def jmapd_data_types(config: CoreConfig) -> list[DataType] | None:
    """Return :class:`~jmapd.methods.types.DataType` instances; their standard
    methods are derived by the core."""


@hookspec
def jmapd_type_extensions(config: CoreConfig) -> list[TypeExtension] | None:
    """Return :class:`~jmapd.methods.types.TypeExtension` objects: additions to
    data types other plugins declare, each handed to its type's ``extend``."""


@hookspec
def jmapd_methods(config: CoreConfig) -> list[Method] | None:
    """Return further :class:`~jmapd.methods.registry.Method` objects (e.g. Email/import)."""


@hookspec
def jmapd_models() -> list[type[BaseModel]] | None:
    """Return the plugin's Peewee model classes (for tests and tooling)."""


@hookspec
def jmapd_migrations() -> tuple[str, ModuleType] | None:
    """Return ``(plugin name, migrations package)``; see :mod:`jmapd.migrate`."""


@hookspec
def jmapd_routes(config: CoreConfig, services: Services) -> list[tuple[str, object]] | None:
    """Return extra ``(path, falcon ASGI resource)`` routes."""


@hookspec
def jmapd_session_urls(config: CoreConfig, base: str) -> dict[str, str] | None:
    """URL properties of the Session object (RFC 8620 §2) that a plugin
    serves, e.g. ``{"eventSourceUrl": f"{base}/jmap/eventsource?…"}``.

    ``base`` is the absolute URL prefix the client reached the server by.
    The core names only its own URLs (api, download, upload); a URL a
    plugin supplies is absent from the session when the plugin is not
    enabled, rather than pointing at a route nobody serves.
    """


@hookspec
def jmapd_middleware(config: CoreConfig, services: Services) -> list[object] | None:
    """Return falcon ASGI middleware objects."""


@hookspec(firstresult=True)
def jmapd_authenticate(req: falcon.asgi.Request, services: Services) -> Principal | None:
    """Authenticate an HTTP request: a Principal, or None to let the next try.

    The core's Basic/Bearer implementation runs last.
    """


@hookspec
def jmapd_account_created(services: Services, account_id: str, user_name: str) -> None:
    """A personal account was just created (set up default mailboxes, …)."""


@hookspec
def jmapd_account_deleted(services: Services, account_id: str) -> None:
    """The account is being deleted (``jmapd user delete``), inside its write
    transaction: remove what the core cannot (rows of tables that are no
    declared model, derived indexes, files). Afterwards the core deletes the
    account's rows from every model declared in ``jmapd_models`` that has an
    ``account_id`` column."""


@hookspec
def jmapd_account_capabilities(services: Services, account_id: str) -> list[str] | None:
    """Capability URNs an account does NOT have (all enabled ones by default)."""


@hookspec(firstresult=True)
def jmapd_resolve_blob(services: Services, account_id: str, blob_id: str) -> bytes | None:
    """Bytes of a blob the plugin derives (e.g. a MIME part of a stored email)."""


@hookspec(firstresult=True)
def jmapd_resolve_shared_blob(services: Services, principal: Principal, account_id: str, blob_id: str) -> bytes | None:
    """Bytes of a derived blob for a sharee of single objects of ``account_id``.

    Such a caller reaches no stored blob of the account (its ids would show
    them the rest of it); a plugin answers only for blobs derived from
    objects ``principal`` may read, and from nothing else of the account.
    """


@hookspec
def jmapd_shared_blob(ctx: CallContext, account_id: str, blob_id: str) -> dict[str, list[str]] | None:
    """For a sharee of single objects in ``account_id``: None when nothing of
    the plugin's lets them read ``blob_id``; else type name → ids of the
    objects they may read that reference it (empty lists for a blob derived
    from one). Any plugin's answer opens the blob to them; the core answers
    ``{}`` for the caller's own upload into the account."""


@hookspec
def jmapd_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``argparse`` sub-commands (prefix them with the plugin name)."""


@hookspec
def jmapd_changes_committed(services: Services, account_id: str, changed: dict[str, str]) -> None:
    """States of ``account_id`` advanced (type name → new state), after commit.

    Runs in the worker that made the change; other workers and hosts learn
    of it from the database (see the events plugin).
    """


@hookspec
def jmapd_startup(services: Services) -> Coroutine[Any, Any, None] | None:
    """A worker started serving (after fork). May return a coroutine, which
    is run as a background task on the worker's event loop."""


@hookspec
def jmapd_shutdown(services: Services) -> None:
    """A worker is stopping."""


@hookspec
def jmapd_serve_processes(config: CoreConfig) -> list[Callable[[str | None], None]] | None:
    """Callables run once per `jmapd serve`, each in a process of its own
    beside the HTTP workers (an LMTP listener, a delivery queue)."""


@hookspec
def jmapd_health(services: Services) -> dict[str, str] | None:
    """Components for ``/readyz``: name → ``"ok"`` or what is wrong (any
    other text answers 503). Called in a worker thread on each request to
    /readyz: keep it to short timeouts."""


@hookspec
def jmapd_metrics(services: Services) -> list[Any] | None:
    """Metric families computed at scrape time (prometheus-client
    ``Metric`` objects, e.g. :func:`jmapd.metrics.gauge_family`), for values
    the database holds rather than one process counts: a queue's depth.
    Called in a worker thread on each scrape of /metrics."""


@hookspec
def jmapd_principal_capabilities(
    services: Services, principal_id: str, user_id: int | None, viewer: Principal
) -> dict[str, Any] | None:
    """Entries of a Principal's ``capabilities`` (RFC 9670 §3) as ``viewer`` sees
    it, e.g. ``{"urn:ietf:params:jmap:calendars": {"accountId": …}}``;
    ``user_id`` is None for groups and resources."""
