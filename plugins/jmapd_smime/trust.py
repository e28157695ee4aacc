"""The server's trust store, loaded once per process from the ``smime:`` section."""

from __future__ import annotations

import threading
from typing import Any

from jmapd.services import ExtensionKey

from .config import SmimeConfig
from .domain.trust import TrustStore

TRUST: ExtensionKey[TrustStore] = ExtensionKey("smime.trust")
_lock = threading.Lock()


def load(config: Any) -> TrustStore:
    """The anchors the configuration names; ConfigError-free: a missing file raises OSError."""
    section = config.section(SmimeConfig)
    return TrustStore.from_files(section.system_trust, [section.ca_file] if section.ca_file else [])


def trust_store(services: Any) -> TrustStore:
    store: TrustStore | None = services.extensions.get(TRUST)
    if store is None:
        with _lock:
            store = services.extensions.get(TRUST)
            if store is None:
                store = load(services.config)
                services.extensions[TRUST] = store
    return store
