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

from . import counts, sql
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


def thread_keys(props: dict[str, Any]) -> tuple[list[str], str]:
    """The hashed Message-IDs an Email links by and its hashed base subject."""
    return [_h(r) for r in thread_ids_of(props)], _h(base_subject(props.get("subject")))


class ThreadPlan:
    """Threads for a batch of new Emails, decided in memory after one lookup.

    The same rule as :func:`assign_thread` (a linked id with an agreeing or
    empty subject), applied to the stored references and to those of the
    Emails planned before in the batch. An Email that would join two
    Threads gets no plan (:meth:`assign` returns None): merging moves
    stored rows, so the caller writes what is planned and stores that one
    through :func:`assign_thread`.
    """

    def __init__(self, account_id: str, keys: list[tuple[list[str], str]]) -> None:
        self.account_id = account_id
        self.known: dict[str, list[tuple[str, str]]] = {}
        self.rows: list[dict[str, Any]] = []
        refs = sorted({r for refs, _ in keys for r in refs})
        for chunk in range(0, len(refs), 300):
            part = refs[chunk:chunk + 300]
            rows = sql.rows("SELECT DISTINCT msgid, subject, thread_id FROM mail_thread_ref"
                            f" WHERE account_id = ? AND msgid IN ({sql.marks(len(part))})", (account_id, *part))
            for msgid, subject, thread_id in rows:
                self.known.setdefault(msgid, []).append((subject, thread_id))

    def assign(self, email_id: str, refs: list[str], subject: str) -> tuple[str, bool] | None:
        """(thread id, is new) for the next Email of the batch; None when it would merge Threads."""
        found = {
            thread_id
            for r in refs
            for other, thread_id in self.known.get(r, ())
            if subject == EMPTY or other == subject or other == EMPTY
        }
        if len(found) > 1:
            return None
        is_new = not found
        thread_id = new_id("T") if is_new else found.pop()
        for r in refs:
            self.known.setdefault(r, []).append((subject, thread_id))
            self.rows.append({"account_id": self.account_id, "msgid": r, "subject": subject, "email_id": email_id,
                              "thread_id": thread_id})
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


__all__ = ["assign_thread", "base_subject", "thread_keys", "ThreadPlan", "CREATED"]
