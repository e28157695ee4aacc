"""State strings and the change log (RFC 8620 §1.6.2, §5.2).

Every change to an object is one row with its own modseq, taken from a
counter on the account and written in the transaction that made the
change. A type's state string is the modseq of its newest change, so
``/changes`` is a range scan, intermediate states are any modseq in
between, and another worker (or host) learns of a change by reading it
back from the database, never from process memory.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from .db import database, insert_rows, tuples
from .models import Account, Change, QuotaUsage, TypeState, now

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
    #: Rows inserted at the end of the transaction, many per statement
    #: (:meth:`defer_insert`); dropped with their object's savepoint too.
    deferred: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    #: Quota usage deltas (account, type, count, octets) not written yet
    #: (:func:`jmapd.quota.charge`); one UPDATE per account and type at the end.
    usage: list[tuple[str, str, int, int]] = field(default_factory=list)
    #: What a transaction read once and may reuse (quota limits, usage).
    memo: dict[Any, Any] = field(default_factory=dict)
    #: Work for the end of the transaction (:meth:`defer`): (function, item), each
    #: function run once with all its items; dropped with their object's savepoint.
    jobs: list[tuple[Callable[[list[Any]], None], Any]] = field(default_factory=list)

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A database savepoint that also takes back what was buffered in it.

        Quota deltas and deferred rows wait in this log until the end of the
        transaction, so a bare ``database.atomic()`` that rolls back would
        leave them behind (an Email refused over quota still counted). For
        savepoints whose caller does not already :meth:`mark` and
        :meth:`rollback` around them (the engine's /set and /copy loops do).
        """
        mark = self.mark()
        try:
            with database.atomic():
                yield
        except BaseException:
            self.rollback(mark)
            raise

    def mark(self) -> tuple[int, int, int, int]:
        """Where an object's savepoint starts; :meth:`rollback` forgets what it buffered since."""
        return len(self.pending), len(self.deferred), len(self.usage), len(self.jobs)

    def rollback(self, mark: tuple[int, int, int, int]) -> None:
        del self.pending[mark[0]:]
        del self.deferred[mark[1]:]
        del self.usage[mark[2]:]
        del self.jobs[mark[3]:]
        self.memo.clear()  # it may hold what a rolled-back write read

    def defer_insert(self, model: Any, row: dict[str, Any]) -> None:
        """Insert ``row`` into ``model``'s table before the transaction ends.

        NOTE(bulk): an import creates hundreds of objects in one /set; one
        multi-row INSERT per table instead of one statement per object is
        what makes 1,000 cards/s possible on PostgreSQL (a statement costs a
        round trip and Peewee's SQL building). Only for rows nothing reads
        back before :meth:`write_deferred` (the engine calls it after a
        /set's creations, before its updates and destroys), whose
        constraints cannot fail (fresh ids): a failure there fails the call.
        """
        self.deferred.append((model, row))

    def defer(self, job: Callable[[list[Any]], None], item: Any) -> None:
        """Have ``job`` run once, before the transaction ends, with every item
        deferred to it (in order) since it last ran.

        For per-object work that costs a few statements each time but one
        batch for a hundred objects (a bulk keyword change moving Mailbox
        counts). Runs in :meth:`write_deferred`, after the deferred rows are
        written; a job may record changes and defer more. Only for work
        nothing in the transaction reads back before then.
        """
        self.jobs.append((job, item))

    def deferred_rows(self, model: Any) -> Iterator[dict[str, Any]]:
        """Rows of ``model`` buffered and not written yet (to check against them)."""
        return (row for m, row in self.deferred if m is model)

    def write_deferred(self) -> None:
        """Write the buffered rows and usage deltas (inside the write transaction)."""
        if self.deferred:
            by_model: dict[Any, list[dict[str, Any]]] = {}
            for model, row in self.deferred:
                by_model.setdefault(model, []).append(row)
            self.deferred = []
            for model, rows in by_model.items():
                for chunk in range(0, len(rows), 200):
                    _insert_rows(model, rows[chunk:chunk + 200])
        while self.jobs:
            jobs, self.jobs = self.jobs, []
            by_job: dict[Callable[[list[Any]], None], list[Any]] = {}
            for job, item in jobs:
                by_job.setdefault(job, []).append(item)
            for job, items in by_job.items():
                job(items)
            if self.deferred:
                self.write_deferred()
        if self.usage:
            totals: dict[tuple[str, str], list[int]] = {}
            for account_id, type_name, count, octets in self.usage:
                total = totals.setdefault((account_id, type_name), [0, 0])
                total[0] += count
                total[1] += octets
            self.usage = []
            self.memo.clear()
            for (account_id, type_name), (count, octets) in totals.items():
                _write_usage(account_id, type_name, count, octets)

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
        """Write pending changes (and deferred rows); must run inside the write transaction."""
        self.write_deferred()
        self.memo.clear()
        if not self.pending:
            return {}
        by_account: dict[str, list[PendingChange]] = {}
        for change in self.pending:
            by_account.setdefault(change.account_id, []).append(change)
        self.pending = []
        written: dict[str, dict[str, str]] = {}
        for account_id, changes in by_account.items():
            changes = _collapse(changes)
            n = len(changes)
            top = _advance_modseq(account_id, n) or n
            base = top - n
            rows = []
            newest: dict[str, int] = {}
            stamp = now()
            for i, change in enumerate(changes, start=base + 1):
                if change.object_id:
                    rows.append(
                        {
                            "account_id": account_id,
                            "type_name": change.type_name,
                            "modseq": i,
                            "object_id": change.object_id,
                            "kind": change.kind,
                            "props": change.props,
                            "created": stamp,
                        }
                    )
                newest[change.type_name] = i
            for chunk in range(0, len(rows), 200):
                _insert_rows(Change, rows[chunk : chunk + 200])
            insert_rows(
                TypeState,
                [{"account_id": account_id, "type_name": t, "modseq": m, "low_modseq": 0} for t, m in newest.items()],
                conflict='ON CONFLICT ("account_id", "type_name") DO UPDATE SET "modseq" = excluded."modseq"',
                later=True,
            )
            written[account_id] = {t: encode_state(m) for t, m in newest.items()}
        for account_id, changed in written.items():
            self.committed.setdefault(account_id, {}).update(changed)
        return written


def _collapse(changes: list[PendingChange]) -> list[PendingChange]:
    """The pending changes without repeats of an identical update (the last one kept).

    NOTE(bulk): an import batch touches the same Mailbox's counts, Thread and
    quota once per message; the repeats say nothing a reader of the change log
    could tell apart (no state between them was ever handed out: they commit
    together), so one row per object stands for all of them. Only updates with
    the very same properties are folded: those props are also the sharees'
    Mailbox tags. Touches (no object) are kept, they only advance the state.
    """
    seen: set[tuple[str, str, tuple[str, ...] | None]] = set()
    kept: list[PendingChange] = []
    for change in reversed(changes):
        if change.kind == UPDATED and change.object_id:
            key = (change.type_name, change.object_id, tuple(change.props) if change.props is not None else None)
            if key in seen:
                continue
            seen.add(key)
        kept.append(change)
    kept.reverse()
    return kept


def _advance_modseq(account_id: str, n: int) -> int | None:
    """Move the account's modseq on by ``n``; the new value (None: no such account).

    NOTE(perf): one statement (UPDATE ... RETURNING), not an UPDATE and a
    SELECT; with the upserts below, a delivery's change log costs three
    statements instead of seven (round trips on PostgreSQL, issue #17)."""
    db = database.obj
    row = db.execute_sql(
        f'UPDATE "jmap_account" SET "modseq" = "modseq" + {db.param} WHERE "id" = {db.param} RETURNING "modseq"',
        (n, account_id),
    ).fetchone()
    return int(row[0]) if row else None


def _write_usage(account_id: str, type_name: str, count: int, octets: int) -> None:
    """Add a transaction's summed quota deltas to the stored usage (:mod:`jmapd.quota`)."""
    if not count and not octets:
        return
    insert_rows(
        QuotaUsage, [{"account_id": account_id, "type_name": type_name, "count": count, "octets": octets}],
        conflict='ON CONFLICT ("account_id", "type_name") DO UPDATE SET "count" = "jmap_quota_usage"."count"'
        ' + excluded."count", "octets" = "jmap_quota_usage"."octets" + excluded."octets"',
        later=True,
    )


def _insert_rows(model: Any, rows: list[dict[str, Any]]) -> None:
    """One multi-row INSERT of ``rows`` (:func:`jmapd.db.insert_rows`), fresh rows
    whose statement may go out with the next one (:func:`jmapd.db.later`)."""
    insert_rows(model, rows, later=True)


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
