"""Hook implementations of the smime plugin, and nothing else."""

from __future__ import annotations

from typing import Any

from jmapd import hookimpl
from jmapd.methods.registry import Capability

from . import migrations
from .capability import MAIL, SMIME
from .config import SmimeConfig


@hookimpl
def jmapd_config_schema() -> tuple[str, type]:
    return ("smime", SmimeConfig)


@hookimpl
def jmapd_requires() -> list[str]:
    return ["mail"]


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    return [Capability(SMIME, session={}, account={}, requires=(MAIL,))]


@hookimpl
def jmapd_models() -> list[Any]:
    from .models import MODELS

    return list(MODELS)


@hookimpl
def jmapd_migrations() -> tuple[str, Any]:
    return ("smime", migrations)


@hookimpl
def jmapd_type_extensions(config: Any) -> list[Any]:
    from jmapd_mail.api import EmailExtension

    from . import status

    return [EmailExtension(
        capability=SMIME, properties=status.PROPERTIES, load=status.load, filters=status.FILTERS,
        condition=status.condition, changing_filters=status.CHANGING_FILTERS, stored=status.stored,
        destroyed=status.destroyed,
    )]


@hookimpl
def jmapd_config_check(config: Any, connect: bool) -> list[tuple[str, str]]:
    from .trust import load

    try:
        store = load(config)
    except OSError as exc:
        return [("error", f"smime.ca_file: {exc}")]
    if not store.anchors:
        return [("note", "smime: no trust anchors (system_trust is off or finds no bundle, and ca_file names none):"
                         " every signature will be signed/failed")]
    return [("ok", f"smime: {len(store.anchors)} trust anchors")]


@hookimpl
def jmapd_commands(subparsers: Any) -> None:
    from .cli import register

    register(subparsers)
