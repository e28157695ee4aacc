"""The events plugin's per-worker state, kept on ``services.extensions``.

Built lazily so every process that loads the plugin (HTTP workers, and
processes such as an LMTP listener that only commit changes) gets exactly
one notifier, one deliverer and one VAPID key.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jmapd.services import ExtensionKey

from .config import EventsConfig
from .domain.vapid import VapidKey
from .notifier import Notifier
from .pushdelivery import Deliverer

KEY: ExtensionKey[Runtime] = ExtensionKey("events")
_lock = threading.RLock()
_vapid: dict[str, VapidKey] = {}


def vapid_key_path(config: Any) -> str:
    section = config.section(EventsConfig)
    return str(Path(section.vapid_key_file) if section.vapid_key_file else config.data_dir / "events-vapid.pem")


def vapid_key(config: Any) -> VapidKey:
    """The server's VAPID key (created on first use; shared by all workers via the file)."""
    path = vapid_key_path(config)
    with _lock:
        key = _vapid.get(path)
        if key is None:
            key = _vapid[path] = VapidKey.load_or_create(path)
        return key


@dataclass
class Runtime:
    notifier: Notifier
    deliverer: Deliverer


def runtime(services: Any) -> Runtime:
    found: Runtime | None = services.extensions.get(KEY)
    if found is None:
        with _lock:
            found = services.extensions.get(KEY)
            if found is None:
                found = Runtime(Notifier(services), Deliverer(services, vapid_key(services.config)))
                services.extensions[KEY] = found
    return found
