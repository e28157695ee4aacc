"""The in-process API other plugins use (calendars' scheduling messages,
submission's local recipients).

Whether an address is a local user's, and delivering one message to it the
way LMTP would (stored, then the ``jmapd_message_delivered`` hooks), so a
plugin that sends mail to local users need not relay it out and back in.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from jmapd.quota import OverQuota

from .deliver import UnknownRecipient, deliver
from .plan import DeliveryPlan, Rejected
from .recipients import Target, resolve


def is_local(config: Any, address: str) -> bool:
    """Whether ``address`` delivers into a local account."""
    return resolve(config, address) is not None


def local_target(config: Any, address: str, local_domains: Collection[str]) -> Target | None:
    """Where mail this server sends to ``address`` stays on it, or None.

    Case, ``delivery.fold_local_part`` and the recipient delimiter as for
    LMTP; with ``delivery.domains`` empty a bare user name is local only at
    ``local_domains`` (see :mod:`.recipients`). Pass the result to
    :func:`deliver` as ``target``.
    """
    return resolve(config, address, local_domains=local_domains)


def untagged(config: Any, address: str) -> str:
    """``address`` without the tag the recipient delimiter adds
    (``bob+lists@example.com`` is ``bob@example.com``): the address a user
    gave out is theirs with any tag (issue #9.10)."""
    delimiter = config.section("delivery").recipient_delimiter
    local, at, domain = address.strip().strip("<>").strip().rpartition("@")
    if not at or not delimiter or delimiter not in local:
        return address
    return f"{local.partition(delimiter)[0]}@{domain}"


__all__ = [
    "DeliveryPlan", "OverQuota", "Rejected", "Target", "UnknownRecipient", "deliver", "is_local", "local_target",
    "untagged",
]
