"""Hook implementations of the sieve plugin, and nothing else."""

from __future__ import annotations

from typing import Any

from jmapd import hookimpl
from jmapd.methods.registry import Capability, Method

from . import migrations
from .capability import SIEVE, account_value
from .config import SieveConfig
from .delivery import plan
from .models import RunError
from .script import SieveScript
from .validate import validate_script


@hookimpl
def jmapd_config_schema() -> tuple[str, type]:
    return ("sieve", SieveConfig)


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    return [Capability(SIEVE, session={}, account=account_value(config))]


@hookimpl
def jmapd_data_types(config: Any) -> list[Any]:
    return [SieveScript(config)]


@hookimpl
def jmapd_methods(config: Any) -> list[Method]:
    return [Method("SieveScript/validate", validate_script, SIEVE)]


@hookimpl
def jmapd_models() -> list[Any]:
    return [RunError]


@hookimpl
def jmapd_migrations() -> tuple[str, Any]:
    return ("sieve", migrations)


# Offered by the delivery plugin (jmapd_delivery.hookspecs); optional so the
# scripts can still be managed on a server that does not deliver mail.
@hookimpl(optionalhook=True)
def jmapd_delivery_plan(
    services: Any, account_id: str, raw: bytes, mail_from: str, recipient: str, folder: str | None
) -> Any:
    return plan(services, account_id, raw, mail_from, recipient, folder)
