"""The in-process API other plugins use (calendars' scheduling messages).

Whether an address is a local user's, and delivering one message to it the
way LMTP would (stored, then the ``jmapd_message_delivered`` hooks), so a
plugin that sends mail to local users need not relay it out and back in.
"""

from __future__ import annotations

from typing import Any

from .deliver import UnknownRecipient, deliver
from .recipients import resolve


def is_local(config: Any, address: str) -> bool:
    """Whether ``address`` delivers into a local account."""
    return resolve(config, address) is not None


__all__ = ["UnknownRecipient", "deliver", "is_local"]
