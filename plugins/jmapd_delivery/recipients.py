"""Which account a recipient address delivers into.

``name@domain`` belongs to the user called ``name@domain`` (user names
that are addresses) or, if the domain is one we deliver for, to the user
called ``name``. With a recipient delimiter, ``name+folder@domain``
belongs to the same user and chooses the mailbox called ``folder``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jmapd.models import Account, User


@dataclass(frozen=True)
class Target:
    user_name: str
    account_id: str
    folder: str | None = None


def personal_account(user_name: str) -> str | None:
    """The personal account of an enabled user, or None."""
    row = (
        Account.select(Account.id)
        .join(User, on=(Account.owner == User.id))
        .where((User.name == user_name) & (User.disabled == False) & (Account.is_personal == True))  # noqa: E712
        .order_by(Account.id)
        .tuples()
        .first()
    )
    return row[0] if row else None


def resolve(config: Any, address: str) -> Target | None:
    """The delivery target of an RCPT address, or None (unknown user)."""
    section = config.section("delivery")
    address = address.strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return None
    domain_ok = not section.domains or domain.lower() in {d.lower() for d in section.domains}
    folder = None
    base = local
    delimiter = section.recipient_delimiter
    if delimiter and delimiter in local:
        base, _, folder = local.partition(delimiter)
        folder = folder or None
    candidates = [f"{base}@{domain}", f"{base}@{domain.lower()}"]
    if domain_ok:
        candidates.append(base)
    for name in dict.fromkeys(candidates):
        account_id = personal_account(name)
        if account_id is not None:
            return Target(name, account_id, folder)
    return None
