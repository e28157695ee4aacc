"""Services: everything a worker shares between requests, built once per app."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pluggy

from . import metrics
from .auth import Authenticator, Principal
from .blobs import BlobStore
from .config import CoreConfig
from .db import ensure_connected
from .hooks import Hooks
from .inflight import HostCounts
from .methods.registry import Registry

log = logging.getLogger("jmapd")

THREADS = metrics.gauge("jmapd_worker_threads", "Threads running method code and database work, over every worker.")
BUSY = metrics.gauge("jmapd_worker_threads_busy", "Of jmapd_worker_threads, those running a task now (or queued for one).")
T = TypeVar("T")
#: Request kinds whose per-user cap holds over every worker of the host.
HOST_KINDS = frozenset({"api", "upload"})


class ExtensionKey(Generic[T]):
    """A typed key of :attr:`Services.extensions`: a plugin declares one at
    module level (``WAKE = ExtensionKey[Callable[[], None]]("submission.wake")``)
    and every get or set through it is checked for the value's type. Keys
    compare by identity, so two plugins cannot collide by choosing one name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ExtensionKey({self.name!r})"


class Extensions:
    """Per-process values plugins leave for themselves or others (a worker, a
    wake-up callback), keyed by :class:`ExtensionKey`."""

    def __init__(self) -> None:
        self._values: dict[ExtensionKey[Any], Any] = {}

    def __setitem__(self, key: ExtensionKey[T], value: T) -> None:
        self._values[key] = value

    def __getitem__(self, key: ExtensionKey[T]) -> T:
        value: T = self._values[key]
        return value

    def __contains__(self, key: ExtensionKey[Any]) -> bool:
        return key in self._values

    def get(self, key: ExtensionKey[T]) -> T | None:
        value: T | None = self._values.get(key)
        return value

    def pop(self, key: ExtensionKey[T]) -> T | None:
        value: T | None = self._values.pop(key, None)
        return value

    def setdefault(self, key: ExtensionKey[T], value: T) -> T:
        found: T = self._values.setdefault(key, value)
        return found


_draining: list[Callable[[], None]] = []
_drained = False


def on_draining(callback: Callable[[], None]) -> None:
    """Call ``callback`` (on the worker's event loop) once this worker starts
    shutting down, before it waits for open requests: a push stream would
    otherwise hold the worker until gunicorn's graceful timeout kills it.
    The stream's client reconnects to another worker."""
    _draining.append(callback)


def begin_draining() -> None:
    """The worker stops: tell everyone :func:`on_draining` registered, once."""
    global _drained
    if _drained:
        return
    _drained = True
    for callback in list(_draining):
        try:
            callback()
        except Exception:  # one plugin's callback must not keep the others from closing
            log.exception("draining callback %r failed", callback)


#: This worker's background tasks (see app.Lifespan), for /readyz: plugin → "ok" or why not.
TASK_HEALTH: ExtensionKey[dict[str, str]] = ExtensionKey("core.task_health")


@dataclass
class Services:
    config: CoreConfig
    pm: pluggy.PluginManager
    registry: Registry
    blobs: BlobStore
    auth: Authenticator = field(init=False)
    executor: ThreadPoolExecutor = field(init=False)
    _busy: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    _busy_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Descriptors held in :mod:`jmapd.inflight` for requests in flight.
    _held: dict[tuple[str, int], list[int]] = field(default_factory=lambda: defaultdict(list))
    _host_counts: HostCounts = field(init=False)
    #: Per-process hints for other plugins (e.g. the events plugin's notifier).
    extensions: Extensions = field(default_factory=lambda: Extensions())
    _hooks: Hooks = field(init=False)

    def __post_init__(self) -> None:
        self._hooks = Hooks(self.pm)
        self.auth = Authenticator(self.config, self.account_capabilities)
        from .builtin.blob import BLOB

        # Blobs too: a sharee reads only those an object they may read opens,
        # and their own uploads (jmapd_shared_blob, checked by every Blob
        # method and the download URL).
        self.auth.shareable_capabilities = {
            dt.capability for dt in self.registry.data_types.values() if dt.sharing is not None
        } | {BLOB}
        self.executor = ThreadPoolExecutor(self.config.server.threads, thread_name_prefix="jmapd")
        self._host_counts = HostCounts(self.config.data_dir / "run" / "inflight")

    @property
    def hook(self) -> Any:
        """The raw pluggy relay, for hooks a plugin offers other plugins
        (e.g. the delivery plugin's ``jmapd_message_delivered``); the core's
        hooks are called through :attr:`hooks`."""
        return self.pm.hook

    @property
    def hooks(self) -> Hooks:
        """The typed facade over the core's hooks (:mod:`jmapd.hooks`)."""
        return self._hooks

    # -- threads ------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking code (database, parsing) off the event loop.

        The thread's database connection is opened or repaired first, so a
        handler never meets a connection PostgreSQL has dropped.
        """
        def call() -> T:
            ensure_connected()
            return fn(*args)

        BUSY.inc()
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, call)
        finally:
            BUSY.dec()

    # -- per-user concurrency -----------------------------------------------
    def acquire(self, kind: str, user_id: int, limit: int) -> bool:
        """Count one more ``kind`` request of the user if under ``limit``.

        ``api`` and ``upload`` are capped over every worker of the host
        (:mod:`jmapd.inflight`); push connections, long-lived and capped by
        their plugin, per worker (a held descriptor each would double theirs).
        """
        with self._busy_lock:
            if self._busy[(kind, user_id)] >= limit:
                return False
            if kind in HOST_KINDS:
                fd = self._host_counts.take(kind, user_id, limit)
                if fd is None:
                    return False
                self._held[(kind, user_id)].append(fd)
            self._busy[(kind, user_id)] += 1
            return True

    def release(self, kind: str, user_id: int) -> None:
        with self._busy_lock:
            self._busy[(kind, user_id)] -= 1
            if self._busy[(kind, user_id)] <= 0:
                del self._busy[(kind, user_id)]
            held = self._held.get((kind, user_id))
            if held:
                HostCounts.give(held.pop())
                if not held:
                    del self._held[(kind, user_id)]

    def busy(self, kind: str, user_id: int) -> int:
        """How many ``kind`` requests of the user are running now (what the
        limit is checked against; tests wait on it instead of sleeping)."""
        with self._busy_lock:
            return self._busy.get((kind, user_id), 0)

    # -- accounts -------------------------------------------------------------
    def account_capabilities(self, account_id: str) -> dict[str, Any]:
        """Account capability objects of an account: every enabled
        per-account capability unless a plugin withholds it."""
        excluded = self.hooks.withheld_capabilities(self, account_id)
        out = {}
        for urn, cap in self.registry.capabilities.items():
            if urn in excluded:
                continue
            value = cap.account_value(account_id, self)
            if value is not None:
                out[urn] = value
        return out

    def session_state(self, principal: Principal) -> str:
        parts = [principal.name, *sorted(self.registry.capabilities)]
        for account in sorted(principal.accounts.values(), key=lambda a: a.id):
            parts.append(f"{account.id}:{account.name}:{account.read_only}:{sorted(account.capabilities)}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def changes_committed(self, committed: dict[str, dict[str, str]]) -> None:
        for account_id, changed in committed.items():
            try:
                self.hooks.changes_committed(self, account_id, changed)
            except Exception:
                log.exception("jmapd_changes_committed hook failed")
