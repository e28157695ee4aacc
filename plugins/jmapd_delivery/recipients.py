"""Which account a recipient address delivers into.

``name@domain`` belongs to the user called ``name@domain`` (user names
that are addresses) or, if the domain is one we deliver for, to the user
called ``name``. With a recipient delimiter, ``name+folder@domain``
belongs to the same user and chooses the mailbox called ``folder``.
Domains are case-insensitive always (RFC 5321 §2.4); local parts are too
unless ``delivery.fold_local_part`` is off, since senders' software and
people type ``Alice@Example.com`` for ``alice@example.com``.

Mail this server sends itself (EmailSubmission) asks with
``local_domains``: there an empty ``delivery.domains`` cannot mean "any
domain", or ``bob@gmail.com`` would land in the local user bob's inbox;
a bare user name is local only at the domains the caller names (the
domain of users' default identities).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import peewee as pw

from jmapd.db import tuples
from jmapd.models import Account, User


@dataclass(frozen=True)
class Target:
    user_name: str
    account_id: str
    folder: str | None = None


def personal_account(user_name: str, fold: bool = False) -> str | None:
    """The personal account of an enabled user, or None; an exact name wins over a folded one."""
    names: list[Any] = [User.name == user_name]
    if fold:
        names.append(pw.fn.LOWER(User.name) == user_name.lower())
    for match in names:
        row = (
            Account.select(Account.id)
            .join(User, on=(Account.owner == User.id))
            .where(match & (User.disabled == False) & (Account.is_personal == True))  # noqa: E712
            .order_by(User.id, Account.id)
            .tuples()
            .first()
        )
        if row:
            return str(row[0])
    return None


def resolve(config: Any, address: str, *, local_domains: Collection[str] | None = None) -> Target | None:
    """The delivery target of an RCPT address, or None (unknown user).

    :param local_domains: where ``delivery.domains`` is empty, the domains
        at which a bare user name is local; None: any domain (LMTP, whose
        MTA already routed the message here).
    """
    section = config.section("delivery")
    address = address.strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return None
    if section.domains:
        domain_ok = domain.lower() in {d.lower() for d in section.domains}
    else:
        domain_ok = local_domains is None or domain.lower() in {d.lower() for d in local_domains}
    folder = None
    base = local
    delimiter = section.recipient_delimiter
    if delimiter and delimiter in local:
        base, _, folder = local.partition(delimiter)
        folder = folder or None
    candidates = [f"{base}@{domain}", f"{base}@{domain.lower()}"]
    if domain_ok:
        candidates.append(base)
    names = list(dict.fromkeys(candidates))
    found = _personal_accounts(names, fold=section.fold_local_part)
    for name in names:
        account_id = _first(found, name, fold=section.fold_local_part)
        if account_id is not None:
            return Target(name, account_id, folder)
    return None


def _personal_accounts(names: list[str], fold: bool) -> list[tuple[str, str]]:
    """(user name, personal account) of the enabled users any of ``names``
    could mean, in :func:`personal_account`'s order: one query for every
    candidate of a recipient (twice per LMTP recipient: RCPT and DATA)."""
    match: Any = User.name.in_(names)
    if fold:
        match = match | pw.fn.LOWER(User.name).in_(sorted({n.lower() for n in names}))
    rows = tuples(
        Account.select(User.name, Account.id)
        .join(User, on=(Account.owner == User.id))
        .where(match & (User.disabled == False) & (Account.is_personal == True))  # noqa: E712
        .order_by(User.id, Account.id)
    )
    return [(str(n), str(a)) for n, a in rows]


def _first(found: list[tuple[str, str]], user_name: str, fold: bool) -> str | None:
    """:func:`personal_account` of ``user_name`` among ``found``: an exact name wins over a folded one."""
    for name, account_id in found:
        if name == user_name:
            return account_id
    if fold:
        for name, account_id in found:
            if name.lower() == user_name.lower():
                return account_id
    return None
