"""Thread assignment (RFC 8621 §3): shared Message-IDs plus the same base subject.

Two Emails are in one Thread if one's Message-ID, In-Reply-To or References
names an id the other has or names, and their base subjects (RFC 5256
§2.1, simplified) agree; the subject check keeps unrelated replies that
reuse an old message as a template out of the conversation. When an Email
links Threads that were separate, they are merged into one.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from jmapd.models import new_id
from jmapd.state import CREATED, DESTROYED, UPDATED

from .models import Email, EmailMailbox, ThreadRef

_PREFIX_RE = re.compile(r"^(?:\s*(?:\[[^\[\]]*\]\s*)*(?:re|fwd?|aw|sv|wg|antw|tr|rif|enc)\s*(?:\[\d+\])?\s*:\s*)", re.I)
_BLOB_RE = re.compile(r"^\s*\[[^\[\]]*\]\s*")
_TRAILER_RE = re.compile(r"\s*\((?:fwd)\)\s*$", re.I)


def base_subject(subject: str | None) -> str:
    """The subject with reply/forward prefixes, list tags and "(fwd)" removed, case-folded."""
    text = " ".join((subject or "").split())
    while True:
        before = text
        text = _TRAILER_RE.sub("", text)
        text = _PREFIX_RE.sub("", text)
        stripped = _BLOB_RE.sub("", text)
        if stripped:
            text = stripped
        if text.lower().startswith("[fwd:") and text.endswith("]"):
            text = text[5:-1]
        text = text.strip()
        if text == before:
            break
    return text.casefold()


def _h(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8", "surrogatepass")).hexdigest()


def message_refs(props: dict[str, Any]) -> list[str]:
    """Every Message-ID the Email has or refers to."""
    ids: list[str] = []
    for key in ("messageId", "inReplyTo", "references"):
        ids.extend(props.get(key) or [])
    return list(dict.fromkeys(i for i in ids if i))


def assign_thread(changes: Any, account_id: str, email_id: str, props: dict[str, Any]) -> tuple[str, bool]:
    """The thread id for a new Email (merging Threads it links); (id, is_new).

    Records Thread and Email changes caused by a merge; the caller records
    the new Email's own creation and its Thread's create/update.
    """
    refs = [_h(r) for r in message_refs(props)]
    subject = _h(base_subject(props.get("subject")))
    found: list[str] = []
    if refs:
        rows = (
            ThreadRef.select(ThreadRef.thread_id)
            .where((ThreadRef.account_id == account_id) & ThreadRef.msgid.in_(refs) & (ThreadRef.subject == subject))
            .distinct()
            .tuples()
        )
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
    moved = [
        r[0]
        for r in Email.select(Email.id).where((Email.account_id == account_id) & (Email.thread_id == source)).tuples()
    ]
    Email.update(thread_id=target).where((Email.account_id == account_id) & (Email.thread_id == source)).execute()
    EmailMailbox.update(thread_id=target).where(
        (EmailMailbox.account_id == account_id) & (EmailMailbox.thread_id == source)
    ).execute()
    ThreadRef.update(thread_id=target).where(
        (ThreadRef.account_id == account_id) & (ThreadRef.thread_id == source)
    ).execute()
    for email_id in moved:
        changes.record(account_id, "Email", email_id, UPDATED, props=["threadId"])
    changes.record(account_id, "Thread", source, DESTROYED)
    changes.record(account_id, "Thread", target, UPDATED)


__all__ = ["assign_thread", "base_subject", "message_refs", "CREATED"]
