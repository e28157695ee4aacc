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
from typing import Any, TypeVar

import pluggy

from .auth import Authenticator, Principal
from .blobs import BlobStore
from .config import CoreConfig
from .db import ensure_connected
from .methods.registry import Registry

log = logging.getLogger("jmapd")
T = TypeVar("T")


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
    #: Per-process hints for other plugins (e.g. the events plugin's notifier).
    extensions: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.auth = Authenticator(self.config, self.account_capabilities)
        self.auth.shareable_capabilities = {
            dt.capability for dt in self.registry.data_types.values() if dt.sharing is not None
        }
        self.executor = ThreadPoolExecutor(self.config.server.threads, thread_name_prefix="jmapd")

    @property
    def hook(self) -> Any:
        return self.pm.hook

    # -- threads ------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking code (database, parsing) off the event loop.

        The thread's database connection is opened or repaired first, so a
        handler never meets a connection PostgreSQL has dropped.
        """
        def call() -> T:
            ensure_connected()
            return fn(*args)

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    # -- per-user concurrency -----------------------------------------------
    def acquire(self, kind: str, user_id: int, limit: int) -> bool:
        with self._busy_lock:
            if self._busy[(kind, user_id)] >= limit:
                return False
            self._busy[(kind, user_id)] += 1
            return True

    def release(self, kind: str, user_id: int) -> None:
        with self._busy_lock:
            self._busy[(kind, user_id)] -= 1
            if self._busy[(kind, user_id)] <= 0:
                del self._busy[(kind, user_id)]

    def busy(self, kind: str, user_id: int) -> int:
        """How many ``kind`` requests of the user are running now (what the
        limit is checked against; tests wait on it instead of sleeping)."""
        with self._busy_lock:
            return self._busy.get((kind, user_id), 0)

    # -- accounts -------------------------------------------------------------
    def account_capabilities(self, account_id: str) -> dict[str, Any]:
        """Account capability objects of an account: every enabled
        per-account capability unless a plugin withholds it."""
        excluded: set[str] = set()
        for result in self.hook.jmapd_account_capabilities(services=self, account_id=account_id):
            excluded.update(result or [])
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
                self.hook.jmapd_changes_committed(services=self, account_id=account_id, changed=changed)
            except Exception:
                log.exception("jmapd_changes_committed hook failed")
