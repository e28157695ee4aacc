"""State strings and the change log (RFC 8620 §1.6.2, §5.2).

Every change to an object is one row with its own modseq, taken from a
counter on the account and written in the transaction that made the
change. A type's state string is the modseq of its newest change, so
``/changes`` is a range scan, intermediate states are any modseq in
between, and another worker (or host) learns of a change by reading it
back from the database, never from process memory.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

import peewee as pw

from .db import tuples
from .models import Account, Change, TypeState

CREATED, UPDATED, DESTROYED = 0, 1, 2


def encode_state(modseq: int) -> str:
    return str(modseq)


def decode_state(state: object) -> int | None:
    """The modseq inside a state string, or None if it is not one of ours."""
    if not isinstance(state, str) or not state.isdigit() or len(state) > 18:
        return None
    return int(state)


def type_modseq(account_id: str, type_name: str) -> int:
    row = (
        TypeState.select(TypeState.modseq)
        .where((TypeState.account_id == account_id) & (TypeState.type_name == type_name))
        .first()
    )
    return row.modseq if row else 0


def current_state(account_id: str, type_name: str) -> str:
    return encode_state(type_modseq(account_id, type_name))


def states(account_id: str, type_names: Iterable[str] | None = None) -> dict[str, str]:
    """Every known type state of an account (for push and Session)."""
    query = TypeState.select().where(TypeState.account_id == account_id)
    if type_names is not None:
        query = query.where(TypeState.type_name.in_(list(type_names)))
    return {row.type_name: encode_state(row.modseq) for row in query}


@dataclass
class PendingChange:
    account_id: str
    type_name: str
    object_id: str
    kind: int
    props: list[str] | None = None


@dataclass
class ChangeLog:
    """Changes made in the current write transaction, written by :meth:`flush`.

    Buffering lets a failed object (rolled back to its savepoint) leave no
    trace; the engine records a change only once an object succeeded.
    """

    pending: list[PendingChange] = field(default_factory=list)
    committed: dict[str, dict[str, str]] = field(default_factory=dict)

    def record(
        self,
        account_id: str,
        type_name: str,
        object_id: str,
        kind: int,
        props: Iterable[str] | None = None,
    ) -> None:
        self.pending.append(
            PendingChange(account_id, type_name, object_id, kind, sorted(props) if props else None)
        )

    def touch(self, account_id: str, type_name: str) -> None:
        """Advance a type's state with no object change (e.g. query results moved)."""
        self.pending.append(PendingChange(account_id, type_name, "", UPDATED))

    def flush(self) -> dict[str, dict[str, str]]:
        """Write pending changes; must run inside the write transaction."""
        if not self.pending:
            return {}
        by_account: dict[str, list[PendingChange]] = {}
        for change in self.pending:
            by_account.setdefault(change.account_id, []).append(change)
        self.pending = []
        written: dict[str, dict[str, str]] = {}
        for account_id, changes in by_account.items():
            n = len(changes)
            Account.update(modseq=Account.modseq + n).where(Account.id == account_id).execute()
            top = Account.select(Account.modseq).where(Account.id == account_id).scalar() or n
            base = top - n
            rows = []
            newest: dict[str, int] = {}
            for i, change in enumerate(changes, start=1):
                if change.object_id:
                    rows.append(
                        {
                            "account_id": account_id,
                            "type_name": change.type_name,
                            "modseq": base + i,
                            "object_id": change.object_id,
                            "kind": change.kind,
                            "props": change.props,
                        }
                    )
                newest[change.type_name] = base + i
            for chunk in range(0, len(rows), 500):
                Change.insert_many(rows[chunk : chunk + 500]).execute()
            for type_name, modseq in newest.items():
                updated = (
                    TypeState.update(modseq=modseq)
                    .where((TypeState.account_id == account_id) & (TypeState.type_name == type_name))
                    .execute()
                )
                if not updated:
                    TypeState.insert(
                        account_id=account_id, type_name=type_name, modseq=modseq, low_modseq=0
                    ).execute()
            written[account_id] = {t: encode_state(m) for t, m in newest.items()}
        for account_id, changed in written.items():
            self.committed.setdefault(account_id, {}).update(changed)
        return written


@dataclass
class ChangeSet:
    created: list[str]
    updated: list[str]
    destroyed: list[str]
    new_modseq: int
    has_more: bool
    #: Union of the properties touched by every update, or None if any
    #: update touched unknown properties.
    updated_props: set[str] | None


class CannotCalculate(Exception):
    pass


def _account_modseq(account_id: str) -> int:
    return int(Account.select(Account.modseq).where(Account.id == account_id).scalar() or 0)


def changes_since(
    account_id: str, type_name: str, since: int, max_changes: int
) -> ChangeSet:
    """Coalesced changes after ``since``, at most ``max_changes`` ids.

    Rows are read oldest first and cut at a modseq boundary, so each
    intermediate state is a real past state: an object is never reported
    created after having been reported updated or destroyed.
    """
    ts = (
        TypeState.select()
        .where((TypeState.account_id == account_id) & (TypeState.type_name == type_name))
        .first()
    )
    current = ts.modseq if ts else 0
    low = ts.low_modseq if ts else 0
    if since < low:
        raise CannotCalculate()
    if since >= current:
        # All types of an account draw modseqs from one counter, so a state
        # above this type's newest change is still a real past state of it
        # (another type's state, or a queryState taken after a change to a
        # type this one depends on): nothing changed since. Only a value
        # beyond the account's counter was never handed out.
        if since > current and since > _account_modseq(account_id):
            raise CannotCalculate()
        return ChangeSet([], [], [], since, False, set())
    rows = (
        Change.select(Change.modseq, Change.object_id, Change.kind, Change.props)
        .where(
            (Change.account_id == account_id)
            & (Change.type_name == type_name)
            & (Change.modseq > since)
        )
        .order_by(Change.modseq)
        .tuples()
        .iterator()
    )
    first_kind: dict[str, int] = {}
    last_kind: dict[str, int] = {}
    props: set[str] | None = set()
    new_modseq = since
    has_more = False
    for modseq, object_id, kind, row_props in rows:
        if object_id not in first_kind:
            if len(first_kind) >= max_changes:
                has_more = True
                break
            first_kind[object_id] = kind
        last_kind[object_id] = kind
        if kind == UPDATED and props is not None:
            props = props | set(row_props) if row_props else None
        new_modseq = modseq
    if not has_more:
        new_modseq = current
    created, updated, destroyed = [], [], []
    for object_id, first in first_kind.items():
        last = last_kind[object_id]
        if first == CREATED:
            if last != DESTROYED:
                created.append(object_id)
        elif last == DESTROYED:
            destroyed.append(object_id)
        else:
            updated.append(object_id)
    return ChangeSet(created, updated, destroyed, new_modseq, has_more, props)


def prune(horizon_days: int) -> int:
    """Drop change rows older than the horizon; later /changes from before
    then answer cannotCalculateChanges (the low-water mark moves up)."""
    cutoff = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(
        days=horizon_days
    )
    return prune_before(cutoff)


def prune_before(cutoff: datetime.datetime, account_id: str | None = None) -> int:
    where = Change.created < cutoff
    if account_id is not None:
        where &= Change.account_id == account_id
    marks = (
        Change.select(Change.account_id, Change.type_name, pw.fn.MAX(Change.modseq).alias("top"))
        .where(where)
        .group_by(Change.account_id, Change.type_name)
        .tuples()
    )
    removed = 0
    for acc, type_name, top in list(tuples(marks)):
        TypeState.update(low_modseq=top).where(
            (TypeState.account_id == acc)
            & (TypeState.type_name == type_name)
            & (TypeState.low_modseq < top)
        ).execute()
        removed += (
            Change.delete()
            .where(
                (Change.account_id == acc)
                & (Change.type_name == type_name)
                & (Change.modseq <= top)
            )
            .execute()
        )
    return removed
