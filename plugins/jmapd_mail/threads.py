"""Thread assignment (RFC 8621 §3): shared Message-IDs plus the same base subject.

Two Emails are in one Thread if one's Message-ID, In-Reply-To or References
names an id the other has or names, and their base subjects (RFC 5256
§2.1, simplified) agree; the subject check keeps unrelated replies that
reuse an old message as a template out of the conversation. When an Email
links Threads that were separate, they are merged into one.
"""

from __future__ import annotations

import hashlib
from typing import Any

from jmapd.db import tuples
from jmapd.models import new_id
from jmapd.sharing import tag
from jmapd.state import CREATED, DESTROYED, UPDATED  # noqa: F401 (CREATED re-exported)

from . import counts
from .domain.thread import subject_key, thread_ids_of
from .latest import refresh_latest, thread_pairs
from .models import Email, EmailMailbox, ThreadRef


def _h(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8", "surrogatepass")).hexdigest()


def base_subject(subject: str | None) -> str:
    """The comparison key of a subject (case-folded RFC 5256 base subject)."""
    return subject_key(subject)


EMPTY = hashlib.sha1(b"").hexdigest()


def assign_thread(changes: Any, account_id: str, email_id: str, props: dict[str, Any]) -> tuple[str, bool]:
    """The thread id for a new Email (merging Threads it links); (id, is_new).

    Records Thread and Email changes caused by a merge; the caller records
    the new Email's own creation and its Thread's create/update.
    """
    refs = [_h(r) for r in thread_ids_of(props)]
    subject = _h(base_subject(props.get("subject")))
    found: list[str] = []
    if refs:
        # An empty base subject is compatible with any other (domain.thread.same_thread_subject).
        where = (ThreadRef.account_id == account_id) & ThreadRef.msgid.in_(refs)
        if subject != EMPTY:
            where &= (ThreadRef.subject == subject) | (ThreadRef.subject == EMPTY)
        rows = tuples(ThreadRef.select(ThreadRef.thread_id).where(where).distinct())
        found = sorted(r[0] for r in rows)
    if not found:
        thread_id = new_id("T")
        is_new = True
    else:
        thread_id, is_new = found[0], False
        for other in found[1:]:
            _merge(changes, account_id, other, thread_id)
    if refs:
        ThreadRef.insert_many(
            [{"account_id": account_id, "msgid": r, "subject": subject, "email_id": email_id, "thread_id": thread_id} for r in refs]
        ).execute()
    return thread_id, is_new


def _merge(changes: Any, account_id: str, source: str, target: str) -> None:
    # The Mailboxes the vanishing Thread was in, for sharees' Thread/changes (jmapd_mail.rights).
    boxes = tuples(EmailMailbox.select(EmailMailbox.mailbox_id).where(
        (EmailMailbox.account_id == account_id) & (EmailMailbox.thread_id == source)
    ).distinct())
    where = sorted({tag(m) for (m,) in boxes})
    moved = [
        r[0]
        for r in tuples(Email.select(Email.id).where((Email.account_id == account_id) & (Email.thread_id == source)))
    ]
    Email.update(thread_id=target).where((Email.account_id == account_id) & (Email.thread_id == source)).execute()
    with counts.moving(account_id, [source, target]):
        EmailMailbox.update(thread_id=target).where(
            (EmailMailbox.account_id == account_id) & (EmailMailbox.thread_id == source)
        ).execute()
    ThreadRef.update(thread_id=target).where(
        (ThreadRef.account_id == account_id) & (ThreadRef.thread_id == source)
    ).execute()
    refresh_latest(account_id, thread_pairs(account_id, target))
    for email_id in moved:
        changes.record(account_id, "Email", email_id, UPDATED, props=["threadId"])
    changes.record(account_id, "Thread", source, DESTROYED, props=where)
    changes.record(account_id, "Thread", target, UPDATED)


__all__ = ["assign_thread", "base_subject", "CREATED"]
