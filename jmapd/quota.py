"""Quota accounting (RFC 9425) that every plugin calls for its objects.

A type that counts toward quotas declares ``quota_resources`` (``count``,
``octets``) and calls :func:`charge` in the transaction that writes or
removes its objects, inside the object's savepoint: a charge over a hard
limit raises :class:`OverQuota` (the ``overQuota`` SetError) and the
savepoint takes the object back with it, so nothing is half-written.
Usage is a counter row per account and type updated in that same
transaction; writers to one account are serialised by the account's
write lock, so ``used`` stays exact under concurrent writers.

Limits: the ``quota:`` config section gives defaults, ``jmapd quota set``
per-account values (:class:`~jmapd.models.QuotaLimit`). Scopes: account
(storage and per-type counts), domain and global (storage).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import peewee as pw

from .db import later, plain_rows, plain_run, tuples
from .models import Account, QuotaLimit, QuotaUsage, UploadCharge, User, now
from .protocol.errors import SetError
from .state import UPDATED

if TYPE_CHECKING:
    from .methods.context import CallContext
    from .state import ChangeLog

QUOTA_TYPE = "Quota"
STORAGE_ID = "storage"
#: The usage row of uploads no Email keeps yet (never a data type's name).
UPLOADS = "upload"


class OverQuota(SetError):
    """The write would go over a hard limit (RFC 8620 §5.3 ``overQuota``)."""

    def __init__(self, description: str) -> None:
        super().__init__("overQuota", description)


@dataclass
class Quota:
    id: str
    resource: str  # "octets" or "count"
    scope: str  # "account", "domain" or "global"
    name: str
    hard: int
    used: int
    types: list[str]
    description: str | None = None


SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.I)
UNITS = {"": 1, "B": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
         "KI": 1024, "MI": 1024**2, "GI": 1024**3, "TI": 1024**4}


def parse_size(text: str) -> int:
    """``5GiB`` → 5368709120; ``100M`` → 100000000; a bare number is octets."""
    match = SIZE_RE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r}")
    unit = (match.group(2) or "").upper().rstrip("B")
    return int(float(match.group(1)) * UNITS[unit])


def _domain_of(account_id: str) -> str | None:
    name = User.select(User.name).join(Account).where(Account.id == account_id).scalar()
    return name.rsplit("@", 1)[1].lower() if name and "@" in name else None


def account_limits(account_id: str) -> dict[tuple[str, str], int]:
    """The operator's limits of an account, ``(resource, type_name) -> hard limit``:
    one statement for all of them (a stored Email needs two, its storage and its count)."""
    return {(r, t): int(h) for r, t, h in plain_rows(
        "SELECT resource, type_name, hard_limit FROM jmap_quota_limit WHERE account_id = ?", (account_id,))}


def account_limit(
    config: Any, account_id: str, resource: str, type_name: str = "", limits: dict[tuple[str, str], int] | None = None,
) -> int | None:
    """The hard limit in force (the operator's, else the config default); ``limits``:
    :func:`account_limits` already read."""
    if limits is None:
        limits = account_limits(account_id)
    row = limits.get((resource, type_name))
    if row is not None:
        return row
    limit: int | None = config.quota.storage if resource == "octets" else config.quota.counts.get(type_name)
    return limit


def _used_octets(where: Any) -> int:
    return int(QuotaUsage.select(pw.fn.COALESCE(pw.fn.SUM(QuotaUsage.octets), 0)).where(where).scalar() or 0)


def _account_octets(account_id: str) -> int:
    """The account's stored usage in octets, all types (plain SQL: every Email stored under a storage limit)."""
    [(used,)] = plain_rows("SELECT COALESCE(SUM(octets), 0) FROM jmap_quota_usage WHERE account_id = ?", (account_id,))
    return int(used or 0)


def _domain_used(domain: str) -> int:
    accounts = Account.select(Account.id).join(User).where(pw.fn.LOWER(User.name).endswith("@" + domain))
    return _used_octets(QuotaUsage.account_id.in_(accounts))


def charge(config: Any, changes: ChangeLog, account_id: str, type_name: str, *, count: int = 0, octets: int = 0) -> None:
    """Add (or, negative, remove) usage of ``account_id``'s ``type_name`` objects.

    Call inside the write transaction, in the savepoint of the object; an
    increase over a hard limit raises :class:`OverQuota`. Quota state moves
    (and is pushed) for the account's quotas that changed.

    NOTE(bulk): the delta waits in ``changes.usage`` (written by
    :meth:`~jmapd.state.ChangeLog.write_deferred`, dropped with the object's
    savepoint), and the limits and stored usage are read once per
    transaction: an import of hundreds of cards in one /set would otherwise
    spend four statements per card here. The checks add the pending deltas
    to what is stored, so they judge exactly what the commit will hold.
    """
    if not count and not octets:
        return
    changes.usage.append((account_id, type_name, count, octets))
    # Only the limits this charge can touch (an upload has no count, a flag change no octets).
    limits = _memo(changes, ("limits", account_id), lambda: account_limits(account_id))
    storage = account_limit(config, account_id, "octets", limits=limits) if octets else None
    counted = account_limit(config, account_id, "count", type_name, limits=limits) if count else None
    if octets > 0:
        if storage is not None:
            used = _memo(changes, ("octets", account_id), lambda: _account_octets(account_id))
            if used + _pending(changes, account_id, None)[1] > storage:
                raise OverQuota(f"the account's storage quota of {storage} octets is used up")
        domain = _domain_of(account_id) if config.quota.domain_storage else None
        if domain and domain in config.quota.domain_storage:
            pending = sum(o for a, _, _, o in changes.usage if _memo_domain(changes, a) == domain)
            if _domain_used(domain) + pending > config.quota.domain_storage[domain]:
                raise OverQuota(f"the storage quota of {domain} is used up")
        if config.quota.global_storage is not None:
            pending = sum(o for _, _, _, o in changes.usage)
            if _used_octets(QuotaUsage.account_id.is_null(False)) + pending > config.quota.global_storage:
                raise OverQuota("the server's storage quota is used up")
    if count > 0 and counted is not None:
        stored = _memo(changes, ("count", account_id, type_name), lambda: _stored_count(account_id, type_name))
        if stored + _pending(changes, account_id, type_name)[0] > counted:
            raise OverQuota(f"at most {counted} {type_name} objects")
    if octets and storage is not None:
        changes.record(account_id, QUOTA_TYPE, STORAGE_ID, UPDATED, props=["used"])
    if count and counted is not None:
        changes.record(account_id, QUOTA_TYPE, f"count-{type_name}", UPDATED, props=["used"])


def _stored_count(account_id: str, type_name: str) -> int:
    found = plain_rows('SELECT "count" FROM jmap_quota_usage WHERE account_id = ? AND type_name = ?', (account_id, type_name))
    return int(found[0][0] or 0) if found else 0


def _memo(changes: ChangeLog, key: tuple[str, ...], read: Callable[[], Any]) -> Any:
    """``read()`` once per transaction (the memo is cleared whenever usage is written)."""
    if key not in changes.memo:
        changes.memo[key] = read()
    return changes.memo[key]


def _memo_domain(changes: ChangeLog, account_id: str) -> str | None:
    domain: str | None = _memo(changes, ("domain", account_id), lambda: _domain_of(account_id))
    return domain


def _pending(changes: ChangeLog, account_id: str, type_name: str | None) -> tuple[int, int]:
    """Count and octets charged in this transaction and not written yet."""
    count = octets = 0
    for a, t, c, o in changes.usage:
        if a == account_id and (type_name is None or t == type_name):
            count += c
            octets += o
    return count, octets


def charge_call(ctx: CallContext, account_id: str, type_name: str, *, count: int = 0, octets: int = 0) -> None:
    """:func:`charge` from a method handler."""
    charge(ctx.config, ctx.changes, account_id, type_name, count=count, octets=octets)


def room_for(config: Any, account_id: str, octets: int) -> bool:
    """Whether ``octets`` more would still fit every storage limit (uploads are
    checked against this but charged only once an object keeps them)."""
    storage = account_limit(config, account_id, "octets")
    if storage is not None and _used_octets(QuotaUsage.account_id == account_id) + octets > storage:
        return False
    domain = _domain_of(account_id) if config.quota.domain_storage else None
    if domain and domain in config.quota.domain_storage and _domain_used(domain) + octets > config.quota.domain_storage[domain]:
        return False
    glob = config.quota.global_storage
    return glob is None or _used_octets(QuotaUsage.account_id.is_null(False)) + octets <= glob


def charge_upload(config: Any, changes: ChangeLog, account_id: str, blob_id: str, octets: int) -> None:
    """Charge an upload to the account (inside its write transaction, before
    the bytes are stored): over a limit raises :class:`OverQuota`.

    NOTE(quota): uploads count from the moment they are accepted, so N
    clients racing a nearly full account cannot each pass a check and
    together overshoot it; the same content uploaded again, or content an
    object of the account already keeps, is not charged twice.
    """
    if plain_run("UPDATE jmap_upload_charge SET created = ? WHERE account_id = ? AND blob_id = ?",
                 (now(), account_id, blob_id)):
        return
    if plain_rows("SELECT 1 FROM jmap_blob_ref WHERE account_id = ? AND blob_id = ? LIMIT 1", (account_id, blob_id)):
        return
    charge(config, changes, account_id, UPLOADS, octets=octets)
    later("INSERT INTO jmap_upload_charge (account_id, blob_id, octets, created) VALUES (?, ?, ?, ?)",
          (account_id, blob_id, octets, now()))


def release_upload(config: Any, changes: ChangeLog, account_id: str, blob_id: str) -> None:
    """An Email now keeps this uploaded content and is charged for it: the
    upload's own charge goes (so importing an upload costs its size once)."""
    found = plain_rows("SELECT octets FROM jmap_upload_charge WHERE account_id = ? AND blob_id = ?", (account_id, blob_id))
    if not found:
        return
    later("DELETE FROM jmap_upload_charge WHERE account_id = ? AND blob_id = ?", (account_id, blob_id))
    charge(config, changes, account_id, UPLOADS, octets=-int(found[0][0]))


def release_expired_uploads(config: Any, ttl_seconds: int) -> int:
    """Release the charges of uploads older than ``ttl_seconds`` (``jmapd gc``:
    the blobs themselves go if nothing references them). Returns how many."""
    import datetime

    from .db import write_transaction
    from .state import ChangeLog

    cutoff = now() - datetime.timedelta(seconds=ttl_seconds)
    accounts = [r[0] for r in tuples(UploadCharge.select(UploadCharge.account_id).where(
        UploadCharge.created < cutoff).distinct())]
    released = 0
    for account_id in accounts:
        log = ChangeLog()
        with write_transaction(account_id):
            rows = list(tuples(UploadCharge.select(UploadCharge.blob_id, UploadCharge.octets).where(
                (UploadCharge.account_id == account_id) & (UploadCharge.created < cutoff))))
            for blob_id, _ in rows:
                UploadCharge.delete().where(
                    (UploadCharge.account_id == account_id) & (UploadCharge.blob_id == blob_id)).execute()
            charge(config, log, account_id, UPLOADS, octets=-sum(int(o) for _, o in rows))
            log.flush()
        released += len(rows)
    return released


def quotas(config: Any, account_id: str, octet_types: list[str], counted_types: list[str]) -> list[Quota]:
    """Every Quota object of an account: those with a limit."""
    usage = {
        t: (int(c), int(o))
        for t, c, o in tuples(
            QuotaUsage.select(QuotaUsage.type_name, QuotaUsage.count, QuotaUsage.octets).where(
                QuotaUsage.account_id == account_id
            )
        )
    }
    out = []
    limits = account_limits(account_id)
    storage = account_limit(config, account_id, "octets", limits=limits)
    if storage is not None:
        out.append(Quota(STORAGE_ID, "octets", "account", "storage", storage,
                         sum(o for _, o in usage.values()), list(octet_types), "Storage used by this account."))
    for type_name in counted_types:
        limit = account_limit(config, account_id, "count", type_name, limits=limits)
        if limit is not None:
            out.append(Quota(f"count-{type_name}", "count", "account", f"{type_name} objects", limit,
                             usage.get(type_name, (0, 0))[0], [type_name], f"How many {type_name} objects this account may hold."))
    domain = _domain_of(account_id) if config.quota.domain_storage else None
    if domain and domain in config.quota.domain_storage:
        out.append(Quota("domain-storage", "octets", "domain", domain, config.quota.domain_storage[domain],
                         _domain_used(domain), list(octet_types), f"Storage shared by every account of {domain}."))
    if config.quota.global_storage is not None:
        out.append(Quota("global-storage", "octets", "global", "server", config.quota.global_storage,
                         _used_octets(QuotaUsage.account_id.is_null(False)), list(octet_types), "Storage of the whole server."))
    return out


def set_limit(changes: ChangeLog, account_id: str, resource: str, type_name: str, hard: int | None) -> None:
    """The operator's limit for an account (None: back to the config default)."""
    where = (QuotaLimit.account_id == account_id) & (QuotaLimit.resource == resource) & (QuotaLimit.type_name == type_name)
    QuotaLimit.delete().where(where).execute()
    if hard is not None:
        QuotaLimit.insert(account_id=account_id, resource=resource, type_name=type_name, hard_limit=hard).execute()
    changes.record(account_id, QUOTA_TYPE, STORAGE_ID if resource == "octets" else f"count-{type_name}", UPDATED)
