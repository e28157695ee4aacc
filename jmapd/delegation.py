"""Whole-account delegation by the operator (``jmapd share grant|revoke``).

A delegation changes the delegate's rights on every shareable object of the
account at once, so like a ``shareWith`` change it records a
ShareNotification for each object whose ``myRights`` moved for them (RFC
9670 §5: the server SHOULD whenever a user's permissions on an object
change). Those notifications are committed through the same change log and
``jmapd_changes_committed`` as any API write: that is how the delegate's
open push channels, in any worker or host, learn that their accounts moved
without the command knowing there is a push service at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .db import write_transaction
from .methods.context import CallContext, RequestContext
from .models import Account
from .sharing import access, delegate, record_notification, undelegate
from .state import ChangeLog

if TYPE_CHECKING:
    from .services import Services

#: ``changedBy`` of a delegation: the operator has no Principal.
OPERATOR = {"name": "administrator", "email": None, "principalId": None}

Rights = dict[tuple[str, str], dict[str, bool] | None]


def change_delegation(services: Services, account_id: str, user_id: int, rights: str | None) -> bool:
    """Delegate ``account_id`` to ``user_id`` with ``rights`` (None: revoke).

    False when there was no delegation to revoke. Every object whose rights
    changed for the user gets a ShareNotification in their personal account
    and its type's state moves (its ``myRights`` changed), in one
    transaction; committed changes are then handed to the hook."""
    log = ChangeLog()
    with write_transaction(account_id):
        owner = services.auth.principal(Account.get_by_id(account_id).owner_id)
        objects = _objects(services, owner, account_id) if owner is not None else {}
        before = _rights(services, user_id, account_id, objects)
        if rights is None:
            if not undelegate(account_id, user_id):
                return False
        else:
            delegate(account_id, user_id, rights)
        sharee = services.auth.principal(user_id)
        after = _rights(services, user_id, account_id, objects)
        home = sharee.primary_account if sharee is not None else None
        moved: set[str] = set()
        for (type_name, object_id), name in objects.items():
            old, new = before[(type_name, object_id)], after[(type_name, object_id)]
            if old == new:
                continue
            moved.add(type_name)
            if home is not None:
                record_notification(log, home, OPERATOR, type_name, account_id, object_id, old, new, name)
        for type_name in moved:
            log.touch(account_id, type_name)
            sharing = services.registry.data_types[type_name].sharing
            for item in sharing.items if sharing is not None else ():
                log.touch(account_id, item)
        log.flush()
    services.changes_committed(log.committed)
    return True


def _context(services: Services, principal: Any) -> CallContext:
    request = RequestContext(principal=principal, services=services, using=set())
    return CallContext(request=request, method="", call_id="")


def _objects(services: Services, owner: Any, account_id: str) -> dict[tuple[str, str], str]:
    """Every object of a shareable type in the account, with its name."""
    ctx = _context(services, owner)
    out: dict[tuple[str, str], str] = {}
    for type_name, dt in services.registry.data_types.items():
        if dt.sharing is None or account_id not in owner.accounts:
            continue
        if dt.capability not in owner.accounts[account_id].capabilities:
            continue
        prop = dt.sharing.name_property
        for object_id, obj in dt.load(ctx, account_id, None, [prop], {}).items():
            out[(type_name, object_id)] = str(obj.get(prop) or "")
    return out


def _rights(services: Services, user_id: int, account_id: str, objects: dict[tuple[str, str], str]) -> Rights:
    """The user's ``myRights`` on each object (None: no right at all)."""
    principal = services.auth.principal(user_id)
    if principal is None or account_id not in principal.accounts:
        return dict.fromkeys(objects)
    acc = access(_context(services, principal), account_id)
    out: Rights = {}
    for type_name, object_id in objects:
        granted = acc.granted(type_name, object_id)
        out[(type_name, object_id)] = acc.sharings[type_name].as_map(granted) if granted else None
    return out
