"""Loading configuration, services and migrations for the command-line tools.

Shared by ``cli`` and ``cli_sharing``: kept apart so the two command modules
do not import each other.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from typing import Any


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    from .app import load_config

    if args.config:
        os.environ["JMAPD_CONFIG"] = os.path.abspath(args.config)
    return load_config(args.config)


def _services(args: argparse.Namespace) -> Any:
    from .app import build_services

    cfg, pm = _load(args)
    services = build_services(cfg, pm)
    return services


def run_migrations(services: Any) -> list[tuple[str, str]]:
    from .db import database
    from .migrate import migrate

    packages = {}
    for result in services.hook.jmapd_migrations():
        if result:
            name, package = result
            packages[name] = package
    return migrate(database.obj, packages)


class UserSession:
    """JMAP calls as one user, in-process (no HTTP, same engine).

    For plugin commands that import or export through the API, so the data
    gets exactly the API's validation, change log and push; ``prog`` names
    the command in the errors it exits with.
    """

    def __init__(self, config_path: str | None, user: str, using: list[str], prog: str) -> None:
        from .app import build_services, load_config
        from .db import ensure_connected
        from .models import User

        cfg, pm = load_config(config_path)
        self.services = build_services(cfg, pm)
        self.using = using
        self.prog = prog
        ensure_connected()
        row = User.get_or_none(User.name == user)
        principal = self.services.auth.principal(row.id) if row is not None else None
        if principal is None:
            raise SystemExit(f"{prog}: no such user {user!r}")
        self.principal = principal
        self.account_id: str = next(a.id for a in principal.accounts.values() if a.is_personal)

    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """One method call on the user's personal account; an error exits."""
        from .methods.context import RequestContext
        from .methods.dispatch import run_calls
        from .protocol.envelope import parse_request

        calls = [[method, {"accountId": self.account_id, **args}, "0"]]
        request = parse_request({"using": self.using, "methodCalls": calls})
        rctx = RequestContext(principal=self.principal, services=self.services, using=set(self.using))
        try:
            result = run_calls(request, rctx, self.services.registry)
        finally:
            self.services.changes_committed(rctx.changes.committed)
        name, response, _ = result["methodResponses"][0]
        if name == "error":
            raise SystemExit(f"{self.prog}: {method}: {response.get('type')}: {response.get('description', '')}")
        return dict(response)


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in consecutive slices of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def progress(total: int, unit: str) -> Any:
    """A tqdm bar on stderr when it is a terminal and tqdm is installed, else None."""
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type information
    except ImportError:
        return None
    return tqdm(total=total, unit=unit, file=sys.stderr)
