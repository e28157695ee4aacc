"""Sharing (RFC 9670): principals, per-object rights, whole-account delegation.

A data type opts in by declaring ``sharing = Sharing(rights=(...))``. The
engine then gives it ``shareWith`` and ``myRights``, hides what a sharee
may not read from /get, /query and /changes, checks /set against the
rights and records a ShareNotification for every sharee whose rights
change. A plugin checks rights on the items inside a container (Emails
in a Mailbox, cards in an AddressBook) with :func:`access`; it never
implements access control of its own.

Who may do what in an account:

* its owner: everything;
* a delegate (``jmapd share grant``): ``write`` is everything but is not
  the owner (per-user properties stay theirs), ``read`` is the type's
  read-only rights on every object;
* a sharee: the union of the grants (``shareWith`` entries) to their own
  Principal and to every group they are a member of.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import peewee as pw

from .db import tuples
from .models import (
    Account,
    AccountAccess,
    Change,
    Document,
    GroupMember,
    PerUserValue,
    PrincipalRecord,
    ShareGrant,
    User,
    new_id,
    now,
)
from .protocol.errors import SetError, invalid_properties
from .state import CREATED, DESTROYED, UPDATED

if TYPE_CHECKING:
    from .methods.context import CallContext
    from .methods.types import DataType
    from .state import ChangeLog, ChangeSet

#: The change log of Principals lives in this account (owned by a disabled
#: system user), so a Principal change is one row, not one per user.
DIRECTORY_ACCOUNT = "aDirectory"
DIRECTORY_USER = "$directory"
NOTIFICATION_TYPE = "ShareNotification"
PRINCIPAL_TYPE = "Principal"
#: Properties the engine owns on a shareable type; never passed to storage.
ENGINE_PROPERTIES = ("myRights", "shareWith")


@dataclass(frozen=True)
class Sharing:
    """How a data type is shared.

    :param rights: every right name of the type, in the order ``myRights`` lists them.
    :param read: the right without which a sharee does not see the object at all.
    :param share: the right to change ``shareWith``.
    :param update: the right to change the object's own properties (None:
        only the owner and write delegates may).
    :param destroy: the right to destroy the object (None: owner and write delegates).
    :param read_only: rights of a read-only delegate (default: just ``read``).
    :param per_user: properties each sharee keeps for themselves (RFC 9670
        ``isSubscribed``); changing them needs no right.
    :param sharee_defaults: (property, value) pairs of per-user properties
        that anyone but the owner sees until they set their own (the JMAP
        Calendars draft's ``isSubscribed``, false in shared accounts),
        instead of the owner's value.
    :param name_property: the property named in ShareNotifications.
    :param items: types whose objects a sharee reaches through this one
        (AddressBook: ContactCard; Mailbox: Email, Thread). A share change moves their states too, so a
        state a sharee got after the change is told apart from one before it.
    :param upload: rights any one of which, held on any object of the type,
        lets a sharee upload blobs into the account (upload URL, Blob/upload,
        Blob/copy): those that let them put a blob into an object (Mailbox:
        mayAddItems, for Email/import and attachments). Empty: a sharee of
        this type alone uploads nothing. Each sharee then reads only their
        own uploads (:func:`own_upload`).
    :param implied: (right, rights it implies) pairs: a grant of the right
        is stored with the others too (the JMAP Calendars draft's
        mayWriteAll, which "MUST" come with mayWriteOwn, mayUpdatePrivate
        and mayRSVP), and reported back when the client left them out.
    """

    rights: tuple[str, ...]
    read: str = "mayRead"
    share: str = "mayShare"
    update: str | None = None
    destroy: str | None = "mayDelete"
    read_only: tuple[str, ...] | None = None
    per_user: tuple[str, ...] = ("isSubscribed",)
    sharee_defaults: tuple[tuple[str, Any], ...] = ()
    name_property: str = "name"
    items: tuple[str, ...] = ()
    upload: tuple[str, ...] = ()
    implied: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def complete(self, granted: Iterable[str]) -> set[str]:
        """``granted`` with every right its members imply."""
        names = set(granted)
        for right, implied in self.implied:
            if right in names:
                names.update(implied)
        return names

    def everything(self) -> dict[str, bool]:
        return dict.fromkeys(self.rights, True)

    def read_only_rights(self) -> frozenset[str]:
        return frozenset(self.read_only if self.read_only is not None else (self.read,))

    def as_map(self, granted: Iterable[str]) -> dict[str, bool]:
        names = set(granted)
        return {r: r in names for r in self.rights}


# -- principals -------------------------------------------------------------
_principal_ids: dict[int, str] = {}
_owner_principals: dict[str, str | None] = {}
_cache_lock = threading.Lock()


def ensure_directory() -> None:
    """The system user and account that carry the Principal change log."""
    user = User.get_or_none(User.name == DIRECTORY_USER)
    if user is None:
        user = User.create(name=DIRECTORY_USER, password_hash=None, disabled=True)
    if Account.get_or_none(Account.id == DIRECTORY_ACCOUNT) is None:
        Account.create(id=DIRECTORY_ACCOUNT, name="directory", owner=user, is_personal=False)


def create_principal(
    type: str, name: str, *, user: Any = None, email: str | None = None, description: str | None = None,
    time_zone: str | None = None,
) -> str:
    """A new Principal, logged as created in the directory (call inside a transaction)."""
    from .state import ChangeLog

    principal_id = new_id("P")
    PrincipalRecord.create(
        id=principal_id, type=type, name=name, user=user, email=email, description=description, time_zone=time_zone
    )
    log = ChangeLog()
    log.record(DIRECTORY_ACCOUNT, PRINCIPAL_TYPE, principal_id, CREATED)
    log.flush()
    return principal_id


def log_principal_change(principal_id: str, kind: int = UPDATED) -> None:
    from .state import ChangeLog

    log = ChangeLog()
    log.record(DIRECTORY_ACCOUNT, PRINCIPAL_TYPE, principal_id, kind)
    log.flush()


def ensure_user_principals() -> None:
    """Every user (but the system one) has an individual Principal."""
    missing = (
        User.select(User.id, User.name)
        .join(PrincipalRecord, pw.JOIN.LEFT_OUTER, on=(PrincipalRecord.user == User.id))
        .where(PrincipalRecord.id.is_null() & (User.name != DIRECTORY_USER))
    )
    for user in list(missing):
        create_principal("individual", user.name, user=user.id, email=user.name if "@" in user.name else None)


def principal_of_user(user_id: int) -> str | None:
    with _cache_lock:
        hit = _principal_ids.get(user_id)
    if hit is not None:
        return hit
    found: str | None = PrincipalRecord.select(PrincipalRecord.id).where(PrincipalRecord.user == user_id).scalar()
    if found is not None:
        with _cache_lock:
            _principal_ids[user_id] = found
    return found


def owner_principal(account_id: str) -> str | None:
    """The Principal owning an account (None for the directory)."""
    with _cache_lock:
        if account_id in _owner_principals:
            return _owner_principals[account_id]
    found: str | None = (
        PrincipalRecord.select(PrincipalRecord.id)
        .join(Account, on=(Account.owner == PrincipalRecord.user))
        .where(Account.id == account_id)
        .scalar()
    )
    if found is not None:
        with _cache_lock:
            _owner_principals[account_id] = found
    return found


def groups_of(principal_id: str) -> list[str]:
    """Every group ``principal_id`` is in, directly or through other groups."""
    seen: set[str] = set()
    frontier = [principal_id]
    while frontier:
        rows = GroupMember.select(GroupMember.group).where(GroupMember.member.in_(frontier)).tuples()
        frontier = [g for (g,) in tuples(rows) if g not in seen and g != principal_id]
        seen.update(frontier)
    return sorted(seen)


def members_of(principal_id: str) -> list[str]:
    """Individual Principals reached through a group (itself if individual)."""
    out: list[str] = []
    seen = {principal_id}
    frontier = [principal_id]
    while frontier:
        rows = list(
            tuples(PrincipalRecord.select(PrincipalRecord.id, PrincipalRecord.user).where(PrincipalRecord.id.in_(frontier)))
        )
        out.extend(pid for pid, user in rows if user is not None)
        nested = GroupMember.select(GroupMember.member).where(GroupMember.group.in_(frontier)).tuples()
        frontier = [m for (m,) in tuples(nested) if m not in seen]
        seen.update(frontier)
    return out


def shared_account_ids(principal_ids: Iterable[str]) -> list[str]:
    """Accounts in which some object is shared with one of ``principal_ids``."""
    ids = list(principal_ids)
    if not ids:
        return []
    rows = ShareGrant.select(ShareGrant.account_id).where(ShareGrant.principal.in_(ids)).distinct().tuples()
    return [a for (a,) in tuples(rows)]


PRINCIPALS = "urn:ietf:params:jmap:principals"
PRINCIPALS_OWNER = "urn:ietf:params:jmap:principals:owner"


def viewer_capabilities(principal: Any, shareable: set[str]) -> None:
    """Per-viewer account capabilities (RFC 9670 §2): Principals are read in
    the viewer's own account, so only it has ``principals``; every account
    names its owner under ``principals:owner``. A sharee of single objects
    gets only the capabilities whose types enforce rights (and blobs, each
    opened by an object they may read through ``jmapd_shared_blob``, or
    their own upload): the others would show them the whole account."""
    home = principal.primary_account
    enabled = home is not None and PRINCIPALS in principal.accounts[home].capabilities
    for account in principal.accounts.values():
        if account.level != "owner":
            account.capabilities.pop(PRINCIPALS, None)
        if account.level == "shared":
            for urn in [u for u in account.capabilities if u not in shareable]:
                del account.capabilities[urn]
        if not enabled:
            continue
        owner = owner_principal(account.id)
        if owner is not None:
            account.capabilities[PRINCIPALS_OWNER] = {"accountIdForPrincipal": home, "principalId": owner}


# -- access of one caller to one account -------------------------------------
@dataclass
class Access:
    """What the caller may do in one account (cached for one request)."""

    account_id: str
    level: str  # "owner", "write", "read" or "shared"
    may_submit: bool
    sharings: dict[str, Sharing]
    grants: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    @property
    def full(self) -> bool:
        """Owner or write delegate: every right on every object."""
        return self.level in ("owner", "write")

    @property
    def is_owner(self) -> bool:
        return self.level == "owner"

    def granted(self, type_name: str, object_id: str) -> frozenset[str]:
        sharing = self.sharings.get(type_name)
        if sharing is None:
            return frozenset()
        if self.full:
            return frozenset(sharing.rights)
        rights = self.grants.get((type_name, object_id), frozenset())
        if self.level == "read":
            rights = rights | sharing.read_only_rights()
        return rights

    def rights(self, type_name: str, object_id: str) -> dict[str, bool]:
        """``myRights`` of the caller on one object of a shareable type."""
        return self.sharings[type_name].as_map(self.granted(type_name, object_id))

    def has(self, type_name: str, object_id: str, right: str) -> bool:
        return right in self.granted(type_name, object_id)

    def visible(self, type_name: str) -> set[str] | None:
        """Ids the caller may read, or None when they may read every object."""
        if self.full or self.level == "read":
            return None
        read = self.sharings[type_name].read
        return {oid for (t, oid), rights in self.grants.items() if t == type_name and read in rights}

    def with_right(self, type_name: str, right: str) -> set[str] | None:
        """Ids on which the caller has ``right``, None for all objects."""
        if self.full:
            return None
        if self.level == "read" and right in self.sharings[type_name].read_only_rights():
            return None
        return {oid for (t, oid), rights in self.grants.items() if t == type_name and right in rights}

    def require(self, type_name: str, object_id: str, right: str) -> None:
        """Raise the ``forbidden`` SetError unless the caller has ``right``."""
        if not self.has(type_name, object_id, right):
            raise SetError("forbidden", f"{right} is needed on {type_name} {object_id}")


def sharings_of(ctx: CallContext) -> dict[str, Sharing]:
    return {name: dt.sharing for name, dt in ctx.services.registry.data_types.items() if dt.sharing is not None}


def access(ctx: CallContext, account_id: str) -> Access:
    """The caller's :class:`Access` to ``account_id`` (which they can see).

    Loaded once per request; a change of grants in the request resets it.
    """
    cache = ctx.request.access
    hit: Access | None = cache.get(account_id)
    if hit is not None:
        return hit
    info = ctx.principal.accounts[account_id]
    result = Access(account_id, info.level, info.may_submit, sharings_of(ctx))
    if not result.full and ctx.principal.principal_ids:
        rows = ShareGrant.select(ShareGrant.type_name, ShareGrant.object_id, ShareGrant.rights).where(
            (ShareGrant.account_id == account_id) & ShareGrant.principal.in_(list(ctx.principal.principal_ids))
        ).tuples()
        merged: dict[tuple[str, str], set[str]] = {}
        for type_name, object_id, rights in tuples(rows):
            merged.setdefault((type_name, object_id), set()).update(k for k, v in (rights or {}).items() if v)
        # grants stored before a type declared what its rights imply get it too
        result.grants = {k: frozenset(result.sharings[k[0]].complete(v) if k[0] in result.sharings else v)
                         for k, v in merged.items()}
    cache[account_id] = result
    return result


def may_upload(ctx: CallContext, account_id: str) -> bool:
    """Whether the caller may store blobs in ``account_id`` (RFC 8620 §6.1).

    The owner and write delegates may; read-only delegates may not (the
    account is read-only). A sharee of single objects may when some object
    gives them a right its type declares for it (:attr:`Sharing.upload`):
    an upload is only ever of use in an object they may put it in, and
    counts against the owner's quota (RFC 9425), so a reader uploads nothing.
    """
    info = ctx.principal.accounts.get(account_id)
    if info is None or info.read_only:
        return False
    if info.level != "shared":
        return True
    if ctx.principal.principal_id is None:
        return False
    acc = access(ctx, account_id)
    for (type_name, _), rights in acc.grants.items():
        sharing = acc.sharings.get(type_name)
        if sharing is not None and not rights.isdisjoint(sharing.upload):
            return True
    return False


def uploader(ctx: CallContext, account_id: str) -> str | None:
    """The Principal to record with an upload into ``account_id``: the
    caller's when they are a sharee of single objects there, else None (the
    owner and delegates read every blob of the account anyway)."""
    info = ctx.principal.accounts.get(account_id)
    return ctx.principal.principal_id if info is not None and info.level == "shared" else None


def own_upload(ctx: CallContext, account_id: str, blob_id: str) -> bool:
    """Whether ``blob_id`` is the caller's own upload into ``account_id`` as a sharee.

    Content-addressed bytes are shared, the right to read them is not: two
    sharees uploading the same file each reach it, a sharee who did not
    upload it does not (nor any upload of the owner's)."""
    me = ctx.principal.principal_id
    return me is not None and ctx.services.blobs.uploaded_by(account_id, blob_id, me)


def share_with_of(account_id: str, type_name: str, object_ids: list[str]) -> dict[str, dict[str, dict[str, bool]]]:
    """The stored ``shareWith`` maps of objects (absent: shared with no one)."""
    out: dict[str, dict[str, dict[str, bool]]] = {}
    if not object_ids:
        return out
    for chunk in range(0, len(object_ids), 500):
        rows = ShareGrant.select(ShareGrant.object_id, ShareGrant.principal, ShareGrant.rights).where(
            (ShareGrant.account_id == account_id)
            & (ShareGrant.type_name == type_name)
            & ShareGrant.object_id.in_(object_ids[chunk : chunk + 500])
        ).tuples()
        for object_id, principal_id, rights in tuples(rows):
            out.setdefault(object_id, {})[principal_id] = dict(rights)
    return out


# -- the engine's part ------------------------------------------------------
def decorate(
    dt: DataType, ctx: CallContext, account_id: str, found: dict[str, dict[str, Any]], *, for_update: bool = False
) -> dict[str, dict[str, Any]]:
    """Drop what the caller may not read; add myRights, shareWith and their per-user values.

    ``shareWith`` is shown to those who may change it; ``for_update`` always
    fills it in, so a PatchObject can address its entries.
    """
    sharing = dt.sharing
    assert sharing is not None
    acc = access(ctx, account_id)
    visible = acc.visible(dt.name)
    out = {}
    ids = [i for i in found if visible is None or i in visible]
    shares = share_with_of(account_id, dt.name, ids)
    overlays = per_user_values(ctx, account_id, dt.name, ids) if not acc.is_owner and sharing.per_user else {}
    for object_id in ids:
        obj = dict(found[object_id])
        rights = acc.granted(dt.name, object_id)
        obj["myRights"] = sharing.as_map(rights)
        if for_update:
            obj["shareWith"] = shares.get(object_id) or {}
        elif sharing.share in rights:
            obj["shareWith"] = shares.get(object_id) or None
        else:
            obj["shareWith"] = None
        if not acc.is_owner:
            obj.update(sharing.sharee_defaults)
        obj.update(overlays.get(object_id, {}))
        out[object_id] = obj
    return out


def per_user_values(ctx: CallContext, account_id: str, type_name: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    rows = PerUserValue.select(PerUserValue.object_id, PerUserValue.data).where(
        (PerUserValue.account_id == account_id)
        & (PerUserValue.type_name == type_name)
        & (PerUserValue.user == ctx.principal.user_id)
        & PerUserValue.object_id.in_(ids)
    ).tuples()
    return {object_id: dict(data) for object_id, data in tuples(rows)}


def filter_ids(dt: DataType, ctx: CallContext, account_id: str, ids: list[str]) -> list[str]:
    """/query results without what the caller may not read."""
    visible = access(ctx, account_id).visible(dt.name)
    return ids if visible is None else [i for i in ids if i in visible]


#: Prefix of the scope tags a change row carries in its ``props`` (see :func:`tag`).
TAG = "~"


def tag(scope_id: str) -> str:
    """The marker of a scope (a Principal whose rights changed, an AddressBook
    a card was in) in a change row's ``props``. A sharee's /changes reports an
    object it cannot read now as destroyed only if a row in the window carries
    a scope they can see, so the ids of objects never shared with them do not
    leak through ``destroyed``."""
    return TAG + scope_id


def tagged_ids(
    account_id: str, type_name: str, since: int, until: int, ids: Iterable[str], scopes: Iterable[str]
) -> set[str]:
    """Those of ``ids`` with a change row in (since, until] tagged with one of ``scopes``."""
    wanted = {tag(s) for s in scopes}
    pending = sorted(set(ids))
    found: set[str] = set()
    if not wanted or not pending:
        return found
    for chunk in range(0, len(pending), 500):
        rows = Change.select(Change.object_id, Change.props).where(
            (Change.account_id == account_id) & (Change.type_name == type_name) & (Change.modseq > since)
            & (Change.modseq <= until) & Change.object_id.in_(pending[chunk : chunk + 500])
        ).tuples()
        for object_id, props in tuples(rows):
            if props and wanted.intersection(props):
                found.add(object_id)
    return found


def filter_changes(
    dt: DataType, ctx: CallContext, account_id: str, since: int, changes: ChangeSet
) -> tuple[list[str], list[str], list[str]]:
    """/changes as the caller sees it: what they cannot read is left out, and an
    object they no longer read is destroyed for them only if its rights for
    them changed in the window (every share change tags its row with the
    Principals it concerns), so unshared objects stay invisible."""
    created, updated, destroyed = changes.created, changes.updated, changes.destroyed
    visible = access(ctx, account_id).visible(dt.name)
    if visible is None:
        return created, updated, destroyed
    gone = [i for i in updated if i not in visible] + destroyed
    seen = tagged_ids(dt.log_account(account_id), dt.name, since, changes.new_modseq, gone, ctx.principal.principal_ids)
    return (
        [i for i in created if i in visible],
        [i for i in updated if i in visible],
        [i for i in gone if i in seen],
    )


def check_create(dt: DataType, ctx: CallContext, account_id: str, obj: dict[str, Any]) -> None:
    """A sharee creates only where the type lets them (``may_create_shared``)."""
    acc = access(ctx, account_id)
    if not acc.full and not dt.may_create_shared(ctx, account_id, obj, acc):
        raise SetError("forbidden", f"you may not create a {dt.name} in this account")


def storable(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ENGINE_PROPERTIES}


def after_create(dt: DataType, ctx: CallContext, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Store the new object's shareWith; returns the server-set myRights."""
    share_with = obj.get("shareWith")
    extra: dict[str, Any] = {}
    if share_with:
        _set_shares(dt, ctx, account_id, obj, {}, share_with, log=False)
        completed = completed_share_with(dt, share_with)
        if completed is not None:
            extra["shareWith"] = completed
    return {**extra, "myRights": access(ctx, account_id).rights(dt.name, obj["id"])}


def inherit_shares(dt: DataType, ctx: CallContext, account_id: str, obj: dict[str, Any], parent_id: str) -> None:
    """Give a new object (a child Mailbox) the grants of its parent.

    No escalation check: every sharee gets exactly what they already have on
    the parent, which someone with the share right gave them; they are
    notified as for any grant. Call from ``insert`` (before the engine
    computes the new object's ``myRights``)."""
    inherited = share_with_of(account_id, dt.name, [parent_id]).get(parent_id)
    if not inherited:
        return
    for pid, rights in inherited.items():
        ShareGrant.insert(
            account_id=account_id, type_name=dt.name, object_id=obj["id"], principal=pid, rights=rights
        ).execute()
    ctx.request.access.clear()
    ctx.request.shares_changed = True
    _touch_items(dt, ctx, account_id)
    _notify(dt, ctx, account_id, obj, {pid: (None, dict(rights)) for pid, rights in inherited.items()})


def apply_update(
    dt: DataType, ctx: CallContext, account_id: str, old: dict[str, Any], new: dict[str, Any], changed: set[str],
    raw: dict[str, Any],
) -> set[str]:
    """Check and apply the engine's part of an update; returns the
    properties left for the type's own storage (``new`` is made storable)."""
    sharing = dt.sharing
    assert sharing is not None
    acc = access(ctx, account_id)
    object_id = old["id"]
    left = set(changed)
    if "shareWith" in changed:
        if not acc.has(dt.name, object_id, sharing.share):
            raise SetError("forbidden", f"{sharing.share} is needed to change shareWith")
        _set_shares(dt, ctx, account_id, new, old.get("shareWith") or {}, new.get("shareWith") or {})
        left.discard("shareWith")
    personal = {p for p in left if p in sharing.per_user}
    if not acc.is_owner:
        if personal:
            _store_per_user(ctx, account_id, dt.name, object_id, {p: new.get(p) for p in personal})
        # what the caller sees of every per-user property is theirs (their
        # value, else a sharee default): the stored object keeps the owner's
        for p in sharing.per_user:
            if p in raw:
                new[p] = raw[p]
            else:
                new.pop(p, None)
        left -= personal
    if left and not acc.full:
        if sharing.update is None or not acc.has(dt.name, object_id, sharing.update):
            raise SetError("forbidden", f"you may not change {', '.join(sorted(left))}")
    return left


def check_destroy(dt: DataType, ctx: CallContext, account_id: str, obj: dict[str, Any]) -> None:
    sharing = dt.sharing
    assert sharing is not None
    acc = access(ctx, account_id)
    if not acc.full and (sharing.destroy is None or not acc.has(dt.name, obj["id"], sharing.destroy)):
        raise SetError("forbidden", f"you may not destroy this {dt.name}")


def after_destroy(dt: DataType, ctx: CallContext, account_id: str, obj: dict[str, Any]) -> None:
    """A destroyed object is unshared from everyone (each sharee is notified)."""
    current = share_with_of(account_id, dt.name, [obj["id"]]).get(obj["id"], {})
    if current:
        _set_shares(dt, ctx, account_id, obj, current, {}, check=False)
    PerUserValue.delete().where(
        (PerUserValue.account_id == account_id) & (PerUserValue.type_name == dt.name) & (PerUserValue.object_id == obj["id"])
    ).execute()


def _store_per_user(ctx: CallContext, account_id: str, type_name: str, object_id: str, values: dict[str, Any]) -> None:
    where = (
        (PerUserValue.account_id == account_id)
        & (PerUserValue.type_name == type_name)
        & (PerUserValue.user == ctx.principal.user_id)
        & (PerUserValue.object_id == object_id)
    )
    row = PerUserValue.select(PerUserValue.data).where(where).first()
    if row is None:
        PerUserValue.insert(
            account_id=account_id, type_name=type_name, object_id=object_id, user=ctx.principal.user_id, data=values
        ).execute()
    else:
        PerUserValue.update(data={**dict(row.data), **values}).where(where).execute()


def validate_share_with(dt: DataType, ctx: CallContext, account_id: str, value: Any) -> dict[str, dict[str, bool]]:
    """A shareWith map with every right named, or ``invalidProperties``."""
    sharing = dt.sharing
    assert sharing is not None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_properties("shareWith", description="a map of Principal id to rights or null")
    owner = owner_principal(account_id)
    known = {
        pid for (pid,) in tuples(PrincipalRecord.select(PrincipalRecord.id).where(PrincipalRecord.id.in_(list(value))))
    } if value else set()
    out = {}
    for principal_id, rights in value.items():
        path = f"shareWith/{principal_id}"
        if principal_id not in known or principal_id == owner:
            raise invalid_properties(path, description="unknown Principal, or the account's owner")
        if not isinstance(rights, dict) or not all(isinstance(v, bool) for v in rights.values()):
            raise invalid_properties(path, description="rights are a map of right name to boolean")
        unknown = [r for r in rights if r not in sharing.rights]
        if unknown:
            raise invalid_properties(f"{path}/{unknown[0]}", description="unknown right")
        out[principal_id] = sharing.as_map(sharing.complete(r for r, v in rights.items() if v))
    return out


def completed_share_with(dt: DataType, value: Any) -> dict[str, dict[str, bool]] | None:
    """The shareWith map as stored when it grants more than ``value`` asked
    for (rights implied by others, :attr:`Sharing.implied`), else None: a
    server-changed value is reported in the /set response (RFC 8620 §5.3)."""
    sharing = dt.sharing
    assert sharing is not None
    if not isinstance(value, dict) or not sharing.implied:
        return None
    asked = {pid: {r for r, v in rights.items() if v is True} for pid, rights in value.items() if isinstance(rights, dict)}
    if all(sharing.complete(names) == names for names in asked.values()):
        return None
    return {pid: sharing.as_map(sharing.complete(names)) for pid, names in asked.items()}


def _set_shares(
    dt: DataType, ctx: CallContext, account_id: str, obj: dict[str, Any], old: dict[str, Any], new: Any,
    *, log: bool = True, check: bool = True,
) -> None:
    """Replace an object's grants; a sharee cannot escalate anyone, themselves included.

    ``log``: tag the object's change row with the Principals concerned (not
    for a new object, whose creation row is all a sharee needs). ``check``:
    refuse escalation (not when a destroyed object drops every grant)."""
    sharing = dt.sharing
    assert sharing is not None
    acc = access(ctx, account_id)
    target = validate_share_with(dt, ctx, account_id, new) if new else {}
    before = {pid: sharing.as_map(r for r, v in rights.items() if v) for pid, rights in old.items()}
    if check and not acc.full:
        mine = acc.granted(dt.name, obj["id"])
        for pid in set(before) | set(target):
            if before.get(pid) == target.get(pid):
                continue
            if pid in ctx.principal.principal_ids:
                raise SetError("forbidden", "you may not change your own rights", properties=None)
            extra = {r for r, v in (target.get(pid) or {}).items() if v} - mine
            if extra:
                raise SetError("forbidden", f"you may not grant rights you lack: {', '.join(sorted(extra))}")
    where = (
        (ShareGrant.account_id == account_id) & (ShareGrant.type_name == dt.name) & (ShareGrant.object_id == obj["id"])
    )
    changed = [pid for pid in set(before) | set(target) if before.get(pid) != target.get(pid)]
    if not changed:
        return
    for pid in changed:
        ShareGrant.delete().where(where & (ShareGrant.principal == pid)).execute()
        if target.get(pid) and any(target[pid].values()):
            ShareGrant.insert(
                account_id=account_id, type_name=dt.name, object_id=obj["id"], principal=pid, rights=target[pid]
            ).execute()
    ctx.request.access.clear()
    ctx.request.shares_changed = True
    if log:
        ctx.changes.record(
            dt.log_account(account_id), dt.name, obj["id"], UPDATED,
            props=["shareWith", *(tag(pid) for pid in changed)],
        )
    _touch_items(dt, ctx, account_id)
    _notify(dt, ctx, account_id, obj, {pid: (before.get(pid), target.get(pid)) for pid in changed})


def _touch_items(dt: DataType, ctx: CallContext, account_id: str) -> None:
    assert dt.sharing is not None
    for type_name in dt.sharing.items:
        ctx.changes.touch(account_id, type_name)


def _notify(
    dt: DataType, ctx: CallContext, account_id: str, obj: dict[str, Any],
    changes: dict[str, tuple[dict[str, bool] | None, dict[str, bool] | None]],
) -> None:
    """One ShareNotification per individual reached (groups reach their members)."""
    sharing = dt.sharing
    assert sharing is not None
    me = ctx.principal.principal_id
    record = PrincipalRecord.get_or_none(PrincipalRecord.id == me) if me else None
    changed_by = {
        "name": record.name if record else ctx.principal.name,
        "email": record.email if record else None,
        "principalId": me,
    }
    reached: dict[str, tuple[dict[str, bool] | None, dict[str, bool] | None]] = {}
    for pid, (old, new) in changes.items():
        for member in members_of(pid):
            reached.setdefault(member, (old, new))
    if not reached:
        return
    homes: dict[str, str] = dict(
        tuples(
            PrincipalRecord.select(PrincipalRecord.id, Account.id)
            .join(Account, on=(Account.owner == PrincipalRecord.user))
            .where(PrincipalRecord.id.in_(list(reached)) & (Account.is_personal == True))  # noqa: E712
        )
    )
    for pid, (old, new) in reached.items():
        home = homes.get(pid)
        if home is None or pid == me:
            continue
        record_notification(
            ctx.changes, home, changed_by, dt.name, account_id, obj["id"], old, new,
            str(obj.get(sharing.name_property) or ""),
        )


def record_notification(
    log: ChangeLog, home: str, changed_by: dict[str, Any], object_type: str, account_id: str, object_id: str,
    old: dict[str, bool] | None, new: dict[str, bool] | None, name: str,
) -> None:
    """Store one ShareNotification in the sharee's personal account ``home``.

    Its change row is also what moves the sharee's open push channels to
    the accounts they may use now (a push plugin watches that type)."""
    note_id = new_id("N")
    Document.insert(
        account_id=home, type_name=NOTIFICATION_TYPE, object_id=note_id,
        data={
            "created": now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "changedBy": changed_by,
            "objectType": object_type,
            "objectAccountId": account_id,
            "objectId": object_id,
            "oldRights": old,
            "newRights": new,
            "name": name,
        },
    ).execute()
    log.record(home, NOTIFICATION_TYPE, note_id, CREATED)


def drop_grants_of(principal_id: str) -> None:
    """A removed Principal loses every grant (no notification: it is gone)."""
    ShareGrant.delete().where(ShareGrant.principal == principal_id).execute()


def delegate(account_id: str, user_id: int, rights: str) -> None:
    """Whole-account delegation by the operator: ``read``, ``write`` or ``submit``."""
    if rights not in ("read", "write", "submit"):
        raise ValueError("rights are read, write or submit")
    values = {"read_only": rights == "read", "may_submit": rights == "submit"}
    updated = AccountAccess.update(**values).where(
        (AccountAccess.account == account_id) & (AccountAccess.user == user_id)
    ).execute()
    if not updated:
        AccountAccess.insert(account=account_id, user=user_id, **values).execute()


def undelegate(account_id: str, user_id: int) -> bool:
    return bool(
        AccountAccess.delete().where((AccountAccess.account == account_id) & (AccountAccess.user == user_id)).execute()
    )


__all__ = [
    "Access", "Sharing", "access", "create_principal", "delegate", "undelegate", "principal_of_user",
    "owner_principal", "groups_of", "members_of", "may_upload", "own_upload", "uploader", "DESTROYED",
]
