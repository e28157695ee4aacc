"""The newest Email of each (Mailbox, Thread) pair (``EmailMailbox.is_latest``).

Apart from ``store`` because thread merging (``threads``) needs it too, and
``store`` calls ``threads``: one module both can import keeps the graph acyclic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jmapd.db import tuples

from .models import EmailMailbox


def refresh_latest(account_id: str, pairs: Iterable[tuple[str, str]]) -> None:
    """Re-mark the newest Email of each (Mailbox, Thread) pair (``EmailMailbox.is_latest``).

    Called after every change to memberships, threads or Emails; writes only
    the rows whose flag actually moves.
    """
    by_thread: dict[str, set[str]] = {}
    for mailbox_id, thread_id in pairs:
        by_thread.setdefault(thread_id, set()).add(mailbox_id)
    em = EmailMailbox
    for thread_id in sorted(by_thread):
        # Filter by Thread only (no ORDER BY): the planner must not walk a
        # Mailbox's (received_at, seq) index to avoid a sort of a few rows.
        rows = tuples(
            em.select(em.mailbox_id, em.email_id, em.received_at, em.seq, em.is_latest)
            .where((em.account_id == account_id) & (em.thread_id == thread_id))
        )
        groups: dict[str, list[tuple[Any, int, str, bool]]] = {}
        for mailbox_id, email_id, received_at, seq, latest in rows:
            if mailbox_id in by_thread[thread_id]:
                groups.setdefault(mailbox_id, []).append((received_at, seq, email_id, bool(latest)))
        for mailbox_id in sorted(groups):
            group = sorted(groups[mailbox_id], reverse=True)
            stale = [email_id for _, _, email_id, latest in group[1:] if latest]
            if stale:
                em.update(is_latest=False).where((em.mailbox_id == mailbox_id) & em.email_id.in_(stale)).execute()
            if not group[0][3]:
                em.update(is_latest=True).where((em.mailbox_id == mailbox_id) & (em.email_id == group[0][2])).execute()


def thread_pairs(account_id: str, thread_id: str) -> list[tuple[str, str]]:
    rows = tuples(
        EmailMailbox.select(EmailMailbox.mailbox_id)
        .where((EmailMailbox.account_id == account_id) & (EmailMailbox.thread_id == thread_id))
        .distinct()
    )
    return [(r[0], thread_id) for r in rows]
