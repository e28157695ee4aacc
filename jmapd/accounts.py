"""An account as a caller sees it.

It lives in a module of its own, importing nothing of jmapd, because both
authentication (which builds it) and method contexts (which check it) need
it: kept in :mod:`jmapd.methods.context` it made ``auth`` → ``methods`` →
``auth`` an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class AccountInfo:
    """An account as the caller sees it."""

    id: str
    name: str
    is_personal: bool
    read_only: bool
    capabilities: dict[str, Any]
    #: ``owner``, ``write``/``read`` (delegates) or ``shared`` (only some objects); see jmapd.sharing.
    level: str = "owner"
    #: May send as the account (owner, or a delegate given ``submit``).
    may_submit: bool = True
