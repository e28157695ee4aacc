"""Loading configuration, services and migrations for the command-line tools.

Shared by ``cli`` and ``cli_sharing``: kept apart so the two command modules
do not import each other.
"""

from __future__ import annotations

import argparse
import os
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
