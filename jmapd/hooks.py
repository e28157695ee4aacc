"""The typed facade over hook calls (the pattern of tox's ``plugin/manager.py``).

``pm.hook.jmapd_…`` is untyped: pluggy cannot know what each hook returns,
a misspelt keyword is only noticed at run time, and every caller repeats
how the results are combined (a list per plugin, ``None`` meaning nothing).
The core and plugins call hooks through :class:`Hooks` instead
(``services.hooks``), which says in one place what each call takes and
gives back. :mod:`jmapd.hookspecs` stays the declaration plugins implement;
this module is what callers use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .auth import Principal
    from .methods.context import CallContext
    from .services import Services


class Hooks:
    """Calls of the hooks that are made while serving, with their results
    combined (see :mod:`jmapd.hookspecs` for what each one means)."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._hook = pm.hook

    def session_urls(self, config: Any, base: str) -> dict[str, str]:
        """Every plugin's Session URLs, merged."""
        urls: dict[str, str] = {}
        for contributed in self._hook.jmapd_session_urls(config=config, base=base):
            urls.update(contributed or {})
        return urls

    def authenticate(self, req: Any, services: Services) -> Principal | None:
        """The first plugin's principal for ``req``; the core's Basic/Bearer runs last."""
        principal: Principal | None = self._hook.jmapd_authenticate(req=req, services=services)
        return principal

    def account_created(self, services: Services, account_id: str, user_name: str) -> None:
        self._hook.jmapd_account_created(services=services, account_id=account_id, user_name=user_name)

    def withheld_capabilities(self, services: Services, account_id: str) -> set[str]:
        """Capability URNs some plugin withholds from ``account_id``."""
        excluded: set[str] = set()
        for result in self._hook.jmapd_account_capabilities(services=services, account_id=account_id):
            excluded.update(result or [])
        return excluded

    def resolve_blob(self, services: Services, account_id: str, blob_id: str) -> bytes | None:
        """The bytes of a blob some plugin derives, else None."""
        data: bytes | None = self._hook.jmapd_resolve_blob(services=services, account_id=account_id, blob_id=blob_id)
        return data

    def resolve_shared_blob(self, services: Services, principal: Principal, account_id: str, blob_id: str) -> bytes | None:
        """The bytes of a derived blob a sharee of single objects may read, else None."""
        data: bytes | None = self._hook.jmapd_resolve_shared_blob(
            services=services, principal=principal, account_id=account_id, blob_id=blob_id)
        return data

    def shared_blob(self, ctx: CallContext, account_id: str, blob_id: str) -> dict[str, list[str]] | None:
        """What lets a sharee of single objects read a blob: every plugin's
        referencing objects merged, or None when no plugin opens it."""
        merged: dict[str, list[str]] | None = None
        for found in self._hook.jmapd_shared_blob(ctx=ctx, account_id=account_id, blob_id=blob_id):
            if found is None:
                continue
            merged = merged if merged is not None else {}
            for type_name, ids in found.items():
                merged.setdefault(type_name, []).extend(i for i in ids if i not in merged[type_name])
        return merged

    def changes_committed(self, services: Services, account_id: str, changed: dict[str, str]) -> None:
        self._hook.jmapd_changes_committed(services=services, account_id=account_id, changed=changed)

    def principal_capabilities(
        self, services: Services, principal_id: str, user_id: int | None, viewer: Any
    ) -> dict[str, Any]:
        """Every plugin's entries of a Principal's ``capabilities``, merged."""
        out: dict[str, Any] = {}
        for result in self._hook.jmapd_principal_capabilities(
            services=services, principal_id=principal_id, user_id=user_id, viewer=viewer
        ):
            out.update(result or {})
        return out
