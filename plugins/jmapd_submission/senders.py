"""Which addresses a user may send as.

One place decides it for Identity/set (``forbiddenFrom``) and for
EmailSubmission/set (``forbiddenFrom``, ``forbiddenMailFrom``): the user's
primary address (the user name when it is an address, else
``user@default_domain``) plus the addresses the operator lists for them.
"""

from __future__ import annotations

from typing import Any

from jmapd.models import Account, User

from .domain.addresses import validate_mailbox
from .domain.envelope import identity_allows


def owner_name(account_id: str) -> str | None:
    """Name of the user owning ``account_id`` (None if it is gone)."""
    row = (
        Account.select(User.name)
        .join(User, on=(Account.owner == User.id))
        .where(Account.id == account_id)
        .tuples()
        .first()
    )
    return row[0] if row else None


def primary_address(config: Any, user_name: str) -> str:
    """The address of a user's default identity."""
    if "@" in user_name and not validate_mailbox(user_name):
        return user_name
    return f"{user_name}@{config.section('submission').default_domain}"


def allowed_addresses(config: Any, user_name: str | None) -> list[str]:
    """Every address (or ``*@domain``) ``user_name`` may send as."""
    if user_name is None:
        return []
    section = config.section("submission")
    return [primary_address(config, user_name), *section.addresses.get(user_name, [])]


def may_send_as(allowed: list[str], address: str) -> bool:
    """Whether ``address`` is covered; a wildcard identity address itself
    (``*@example.com``) is only covered by that same wildcard."""
    if address.startswith("*@"):
        return any(a.lower() == address.lower() for a in allowed)
    return any(identity_allows(a, address) for a in allowed)
