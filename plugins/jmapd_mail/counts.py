"""Mailbox counts kept in rows that every write moves, so reading them costs nothing.

Counting on read (a grouped scan of every membership row) made ``Mailbox/get``
grow with the mailbox: 72 ms at 20,000 Emails. Here each write primitive of
:mod:`jmapd_mail.store` wraps its change of ``mail_email_mailbox`` in
:func:`moving`, which looks at the Threads it touches before and after and adds
the difference to ``mail_mailbox_count``. A Thread is small, so a write costs
two index lookups however large the mailbox is.

The diff runs inside the caller's write transaction (and its savepoint), so a
failed object, a rollback or a ``kill -9`` leaves the counts exactly as the
rows are; writers to one account are already serialised by
:func:`jmapd.db.write_transaction`, so no two diffs interleave.

:func:`count_by_scanning` is the definition the rows must equal; it rebuilds
an account's rows when the trash changes (the trash changes what
``unreadThreads`` means for every Mailbox) and in the migration, and the tests
compare the two after random writes.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import peewee as pw

from jmapd.db import database, is_postgres, later, tuples
from jmapd.state import type_modseq

from . import sql
from .models import EmailMailbox, Mailbox

COUNTS = ("totalEmails", "unreadEmails", "totalThreads", "unreadThreads")
TABLE = "mail_mailbox_count"
_COLUMNS = ("total_emails", "unread_emails", "total_threads", "unread_threads")

#: Per Thread: mailbox id -> (Emails of the Thread in it, unread ones).
Snapshot = dict[str, dict[str, tuple[int, int]]]


def trash_of(account_id: str) -> str:
    found = sql.rows("SELECT id FROM mail_mailbox WHERE account_id = ? AND role = ? LIMIT 1", (account_id, "trash"))
    return str(found[0][0]) if found else ""


def _snapshot(account_id: str, thread_ids: list[str] | None) -> Snapshot:
    """Per Thread and Mailbox, its Emails and unread ones: of these Threads, or (None) all."""
    out: Snapshot = defaultdict(dict)
    rows: list[tuple[Any, ...]] = []
    query = ("SELECT thread_id, mailbox_id, COUNT(email_id), SUM(CASE WHEN unread THEN 1 ELSE 0 END)"
             " FROM mail_email_mailbox WHERE account_id = ?")
    if thread_ids is None:
        rows = sql.rows(query + " GROUP BY thread_id, mailbox_id", (account_id,))
    for chunk in range(0, len(thread_ids or ()), 500):
        part = (thread_ids or [])[chunk:chunk + 500]
        rows += sql.rows(f"{query} AND thread_id IN ({sql.marks(len(part))}) GROUP BY thread_id, mailbox_id",
                         (account_id, *part))
    for thread_id, mailbox_id, total, unread in rows:
        out[thread_id][mailbox_id] = (int(total), int(unread or 0))
    return out


def _contributions(snapshot: Snapshot, trash_id: str) -> dict[str, list[int]]:
    """What these Threads add to each Mailbox's four counts.

    unreadThreads follows RFC 8621 §2's "quality implementation": a Thread
    with an unread Email outside the trash is unread in every Mailbox holding
    it, except the trash, which counts only Threads unread in the trash.
    """
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for per_mailbox in snapshot.values():
        thread_unread = any(u for m, (_, u) in per_mailbox.items() if m != trash_id)
        for mailbox_id, (total, unread) in per_mailbox.items():
            if not total:
                continue
            counts = out[mailbox_id]
            counts[0] += total
            counts[1] += unread
            counts[2] += 1
            if mailbox_id == trash_id:
                counts[3] += 1 if unread else 0
            else:
                counts[3] += 1 if thread_unread else 0
    return out


@contextlib.contextmanager
def moving(account_id: str, thread_ids: Iterable[str]) -> Iterator[None]:
    """Wrap a change to these Threads' Mailbox memberships or unread flags.

    Every Thread whose rows the block changes must be named, including one a
    merge empties; a Thread created inside the block may be named too.
    """
    ids = sorted(set(thread_ids))
    if not ids:
        yield
        return
    trash_id = trash_of(account_id)
    before = _contributions(_snapshot(account_id, ids), trash_id)
    yield
    after = _contributions(_snapshot(account_id, ids), trash_id)
    _add(account_id, _difference(before, after))


def mark_unread(account_id: str, flags: dict[str, tuple[str, bool]]) -> set[str]:
    """Set the unread flag of these Emails' membership rows (email id -> (thread id,
    unread)) and move the counts: one diff and two UPDATEs for a whole batch.

    The Mailboxes holding any Email of their Threads are returned (their
    unreadThreads may have moved, so their state does)."""
    threads = sorted({thread_id for thread_id, _ in flags.values()})
    if not threads:
        return set()
    trash_id = trash_of(account_id)
    before = _snapshot(account_id, threads)
    mark = "%s" if is_postgres() else "?"
    for value in (True, False):
        ids = sorted(e for e, (_, unread) in flags.items() if unread is value)
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            database.execute_sql(
                f"UPDATE mail_email_mailbox SET unread = {mark} WHERE email_id IN ({', '.join([mark] * len(part))})",
                (value, *part),
            )
    after = _snapshot(account_id, threads)
    _add(account_id, _difference(_contributions(before, trash_id), _contributions(after, trash_id)))
    return {m for per_mailbox in after.values() for m in per_mailbox}


def _difference(before: dict[str, list[int]], after: dict[str, list[int]]) -> dict[str, list[int]]:
    deltas = {}
    for mailbox_id in set(before) | set(after):
        old, new = before.get(mailbox_id, [0, 0, 0, 0]), after.get(mailbox_id, [0, 0, 0, 0])
        delta = [n - o for n, o in zip(new, old, strict=True)]
        if any(delta):
            deltas[mailbox_id] = delta
    return deltas


def _add(account_id: str, deltas: dict[str, list[int]]) -> None:
    if not deltas:
        return
    mark = "%s" if is_postgres() else "?"
    updates = ", ".join(f"{c} = {TABLE}.{c} + excluded.{c}" for c in _COLUMNS)
    sql = (
        f"INSERT INTO {TABLE} (mailbox_id, account_id, {', '.join(_COLUMNS)})"
        f" VALUES ({', '.join([mark] * 6)}) ON CONFLICT (mailbox_id) DO UPDATE SET {updates}"
    )
    for mailbox_id in sorted(deltas):
        later(sql, (mailbox_id, account_id, *deltas[mailbox_id]))  # an upsert: sent with the next statement


def read(account_id: str) -> dict[str, dict[str, int]]:
    """The four counts of every Mailbox of the account that has any Email."""
    mark = "%s" if is_postgres() else "?"
    cursor = database.execute_sql(
        f"SELECT mailbox_id, {', '.join(_COLUMNS)} FROM {TABLE} WHERE account_id = {mark}", (account_id,)
    )
    return {row[0]: dict(zip(COUNTS, (int(v) for v in row[1:]), strict=True)) for row in cursor.fetchall()}


#: Sharee counts already worked out, by (account, Mailbox modseq, readable Mailboxes);
#: oldest dropped first. Per worker process.
_SHAREE_VIEWS: OrderedDict[tuple[str, int, frozenset[str]], dict[str, dict[str, int]]] = OrderedDict()
_SHAREE_VIEWS_MAX = 512
_SHAREE_LOCK = threading.Lock()


def for_reader(account_id: str, readable: set[str]) -> dict[str, dict[str, int]]:
    """The counts a sharee who reads only ``readable`` Mailboxes sees, worked out
    once per Mailbox state.

    Every write that can move a count — of any Mailbox, including one the
    sharee cannot read, which can make a Thread they see unread — records
    a change of each Mailbox of the Threads it touches, so the Mailbox
    state names the rows the view was computed from: a sharee polling
    Mailbox/get pays :func:`for_sharee` once per change, not per request.
    The state is read before the rows, so a view is never filed under a
    state newer than its rows."""
    if database.in_transaction():  # rows this transaction moved are not under any state yet
        return for_sharee(account_id, read(account_id), readable)
    key = (account_id, type_modseq(account_id, "Mailbox"), frozenset(readable))
    with _SHAREE_LOCK:
        view = _SHAREE_VIEWS.get(key)
        if view is not None:
            _SHAREE_VIEWS.move_to_end(key)
    if view is None:
        view = for_sharee(account_id, read(account_id), readable)
        with _SHAREE_LOCK:
            _SHAREE_VIEWS[key] = view
            while len(_SHAREE_VIEWS) > _SHAREE_VIEWS_MAX:
                _SHAREE_VIEWS.popitem(last=False)
    return {m: dict(c) for m, c in view.items()}


def for_sharee(account_id: str, stored: dict[str, dict[str, int]], readable: set[str]) -> dict[str, dict[str, int]]:
    """The counts a sharee who reads only ``readable`` Mailboxes sees.

    The Emails of a readable Mailbox are all visible, so its stored
    totalEmails, unreadEmails and totalThreads are the sharee's too. Only
    unreadThreads can differ: the owner's count holds a Thread unread for an
    unread Email in a Mailbox the sharee cannot read. Those Threads — unread
    in a hidden Mailbox other than the trash, unread in no readable one but
    the trash — are counted per readable Mailbox in one query driven by the
    hidden Mailboxes' unread rows, and taken off (the trash's own count
    holds only Threads unread in it, which the sharee sees alike).
    """
    out = {m: dict(c) for m, c in stored.items() if m in readable}
    trash_id = trash_of(account_id)
    visible = sorted(readable - {trash_id})
    # Named, so their rows are reached by the (mailbox_id, …) index rather
    # than a walk over every row of the account.
    hidden = sorted({r[0] for r in tuples(Mailbox.select(Mailbox.id).where(Mailbox.account_id == account_id))}
                    - readable - {trash_id})
    if not visible or not hidden:
        return out
    h, m, v = EmailMailbox.alias("h"), EmailMailbox.alias("m"), EmailMailbox.alias("v")
    # A scalar subquery, probed per hidden row through the (account_id,
    # thread_id) index: as NOT EXISTS, PostgreSQL hashes every unread row of
    # the readable Mailboxes first.
    seen_unread = pw.fn.COALESCE(v.select(pw.SQL("1")).where(
        (v.account_id == account_id) & (v.thread_id == h.thread_id) & v.unread & v.mailbox_id.in_(visible)
    ).limit(1), 0)
    rows = tuples(
        h.select(m.mailbox_id, pw.fn.COUNT(m.thread_id.distinct()))
        # CROSS: SQLite keeps h (the few hidden unread rows) as the outer loop
        # instead of walking every row of the readable Mailboxes.
        .join(m, pw.JOIN.CROSS)
        .where(h.mailbox_id.in_(hidden) & h.unread & (m.account_id == h.account_id) & (m.thread_id == h.thread_id)
               & m.mailbox_id.in_(visible) & (seen_unread == 0))
        .group_by(m.mailbox_id)
    )
    for mailbox_id, threads in rows:
        if mailbox_id in out:
            out[mailbox_id]["unreadThreads"] -= int(threads)
    return out


def forget(mailbox_id: str) -> None:
    """Drop a destroyed Mailbox's row (its Emails were moved or destroyed first)."""
    mark = "%s" if is_postgres() else "?"
    database.execute_sql(f"DELETE FROM {TABLE} WHERE mailbox_id = {mark}", (mailbox_id,))


def count_by_scanning(account_id: str) -> dict[str, dict[str, int]]:
    """The counts by definition, from every membership row of the account."""
    scanned = _contributions(_snapshot(account_id, None), trash_of(account_id))
    return {m: dict(zip(COUNTS, c, strict=True)) for m, c in scanned.items()}


def rebuild(account_id: str) -> None:
    """Replace an account's rows by :func:`count_by_scanning` (inside a write transaction)."""
    mark = "%s" if is_postgres() else "?"
    database.execute_sql(f"DELETE FROM {TABLE} WHERE account_id = {mark}", (account_id,))
    _add(account_id, {m: [c[k] for k in COUNTS] for m, c in count_by_scanning(account_id).items()})
