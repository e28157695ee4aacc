"""The capability URN and the account capability object (RFC 9661 §1.2)."""

from __future__ import annotations

from typing import Any

from jmapd import __version__

from .config import SieveConfig
from .domain.checker import EXTENSIONS

SIEVE = "urn:ietf:params:jmap:sieve"


def account_value(config: Any) -> dict[str, Any]:
    """What a client needs to write scripts this server accepts: the limits
    it enforces and the extensions a ``require`` may name."""
    section = config.section(SieveConfig)
    return {
        "implementation": f"jmapd-sieve {__version__}",
        "maxSizeScriptName": section.max_script_name,
        "maxSizeScript": section.max_script_size,
        "maxNumberScripts": section.max_scripts,
        "maxNumberRedirects": section.max_redirects,
        "sieveExtensions": sorted(EXTENSIONS),
        # NOTE(sieve): no enotify and no extlists, so both are null as the RFC asks.
        "notificationMethods": None,
        "externalLists": None,
    }
