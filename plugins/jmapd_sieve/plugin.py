"""Hook implementations of the sieve plugin, and nothing else."""

from __future__ import annotations

from typing import Any

from jmapd import hookimpl
from jmapd.methods.registry import Capability, Method

from .capability import SIEVE, account_value
from .config import SieveConfig
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
