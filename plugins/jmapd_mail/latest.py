"""The newest Email of each (Mailbox, Thread) pair (``EmailMailbox.is_latest``).

Apart from ``store`` because thread merging (``threads``) needs it too, and
``store`` calls ``threads``: one module both can import keeps the graph acyclic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jmapd.db import tuples

from . import sql
from .models import EmailMailbox


def refresh_latest(account_id: str, pairs: Iterable[tuple[str, str]]) -> None:
    """Re-mark the newest Email of each (Mailbox, Thread) pair (``EmailMailbox.is_latest``).

    Called after every change to memberships, threads or Emails; writes only
    the rows whose flag actually moves, in one UPDATE per direction (an
    import batch names hundreds of pairs).
    """
    by_thread: dict[str, set[str]] = {}
    for mailbox_id, thread_id in pairs:
        by_thread.setdefault(thread_id, set()).add(mailbox_id)
    groups: dict[tuple[str, str], list[tuple[Any, int, str, bool]]] = {}
    threads = sorted(by_thread)
    for chunk in range(0, len(threads), 300):
        part = threads[chunk:chunk + 300]
        # Filter by Thread only (no ORDER BY): the planner must not walk a
        # Mailbox's (received_at, seq) index to avoid a sort of a few rows.
        # received_at is compared only with its own column's values (SQLite's
        # text sorts as the datetimes do).
        rows = sql.rows("SELECT thread_id, mailbox_id, email_id, received_at, seq, is_latest FROM mail_email_mailbox"
                        f" WHERE account_id = ? AND thread_id IN ({sql.marks(len(part))})", (account_id, *part))
        for thread_id, mailbox_id, email_id, received_at, seq, latest in rows:
            if mailbox_id in by_thread[thread_id]:
                groups.setdefault((mailbox_id, thread_id), []).append((received_at, seq, email_id, bool(latest)))
    stale: list[tuple[str, str]] = []
    fresh: list[tuple[str, str]] = []
    for (mailbox_id, _), group in sorted(groups.items()):
        group.sort(reverse=True)
        stale += [(mailbox_id, email_id) for _, _, email_id, latest in group[1:] if latest]
        if not group[0][3]:
            fresh.append((mailbox_id, group[0][2]))
    for keys, value in ((stale, False), (fresh, True)):
        for chunk in range(0, len(keys), 300):
            pairs = keys[chunk:chunk + 300]
            sql.later("UPDATE mail_email_mailbox SET is_latest = ? WHERE (mailbox_id, email_id) IN ("
                    + ", ".join(["(?, ?)"] * len(pairs)) + ")", (value, *(v for key in pairs for v in key)))


def thread_pairs(account_id: str, thread_id: str) -> list[tuple[str, str]]:
    rows = tuples(
        EmailMailbox.select(EmailMailbox.mailbox_id)
        .where((EmailMailbox.account_id == account_id) & (EmailMailbox.thread_id == thread_id))
        .distinct()
    )
    return [(r[0], thread_id) for r in rows]
