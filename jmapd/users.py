"""Renaming and deleting users, for ``jmapd user rename|delete``.

Deleting a user removes the data of their personal accounts from every
plugin: each plugin first removes what needs its own care
(``jmapd_account_deleted``: the mail plugin's full-text rows, say), then
every declared model with an ``account_id`` column loses the account's rows,
the core's (documents, change log, blob references, quota) included. Blob
bytes are shared by content, so they are not removed here: once no account
references them ``jmapd gc`` collects them.
"""

from __future__ import annotations

from typing import Any

from .db import database, write_transaction
from .models import Account, PrincipalRecord, User


def personal_accounts(user: User) -> list[str]:
    return [a.id for a in Account.select(Account.id).where((Account.owner == user.id) & Account.is_personal)]


def account_models(pm: Any) -> list[Any]:
    """Every model a plugin (or the core) declares that holds rows per account."""
    models = []
    for result in pm.hook.jmapd_models():
        for model in result or []:
            if "account_id" in model._meta.fields:
                models.append(model)
    return models


def delete_account_data(services: Any, account_id: str) -> dict[str, int]:
    """Remove every row of ``account_id`` and the account itself, in one
    transaction; rows removed per table (for the operator's summary)."""
    removed: dict[str, int] = {}
    with write_transaction(account_id):
        services.hook.jmapd_account_deleted(services=services, account_id=account_id)
        for model in account_models(services.pm):
            count = int(model.delete().where(model.account_id == account_id).execute())
            if count:
                removed[model._meta.table_name] = count
        Account.delete().where(Account.id == account_id).execute()
    return removed


def delete_user(services: Any, user: User, keep_data: bool) -> dict[str, int]:
    """Delete ``user`` (their tokens, grants and Principal go with the row);
    unless ``keep_data``, their personal accounts' data first."""
    removed: dict[str, int] = {}
    if not keep_data:
        for account_id in personal_accounts(user):
            for table, count in delete_account_data(services, account_id).items():
                removed[table] = removed.get(table, 0) + count
    User.delete().where(User.id == user.id).execute()
    return removed


def rename_user(user: User, new: str) -> None:
    """Give ``user`` a new login name; their personal accounts and Principal
    are renamed where they carried the old name. Data stays where it is
    (accounts are keyed by id, not by name)."""
    old = user.name
    with database.obj.atomic():
        User.update(name=new).where(User.id == user.id).execute()
        Account.update(name=new).where((Account.owner == user.id) & Account.is_personal & (Account.name == old)).execute()
        PrincipalRecord.update(name=new).where((PrincipalRecord.user == user.id) & (PrincipalRecord.name == old)).execute()
        if "@" in new or "@" in old:
            PrincipalRecord.update(email=new if "@" in new else None).where(
                (PrincipalRecord.user == user.id) & ((PrincipalRecord.email == old) | PrincipalRecord.email.is_null())
            ).execute()
