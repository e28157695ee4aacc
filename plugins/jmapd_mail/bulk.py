"""Storing many new Emails at once: ``jmapd import`` and Email/import.

:func:`jmapd_mail.store.create_email` spends some twenty statements on one
Email, and on a busy machine building them costs more than running them.
Here a batch is written with one statement per table: threads decided in
memory after one lookup (:class:`jmapd_mail.threads.ThreadPlan`), the blob
files written and their rows inserted together, Mailbox counts moved by one
before/after diff over the batch's Threads, the newest-of-Thread flags set
in one pass, and the search index filled in the same transaction. Every
row, count and change record is what ``create_email`` would have written
for the same Emails in the same order, so the two may be mixed freely; an
Email that would merge two Threads goes through ``create_email`` (the
batch is split around it).

The caller holds the write transaction, and (for files) the blob store's
:meth:`~jmapd.blobs.BlobStore.deferred_sync`, so the bytes are durable
before the rows commit.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from jmapd import quota
from jmapd.db import insert_rows
from jmapd.models import BlobRef, new_id
from jmapd.protocol.errors import SetError
from jmapd.state import CREATED, UPDATED, ChangeLog

from . import counts, extensions, search, sql
from .domain.parse import ParsedMessage
from .latest import refresh_latest
from .models import Email, EmailHeader, EmailKeyword, EmailMailbox, ThreadRef
from .store import (
    create_email,
    email_row,
    header_rows,
    is_unread,
    thread_mailboxes,
    touch_mailboxes,
    utcnow,
)
from .threads import ThreadPlan, thread_keys

#: Rows per INSERT of the wide tables (SQLite binds at most 32,766 values).
CHUNK = 100


@dataclass
class NewEmail:
    """One Email to store: parsed bytes, where it goes, its keywords and date."""

    raw: bytes
    mailbox_ids: list[str]
    keywords: list[str]
    parsed: ParsedMessage
    received_at: datetime.datetime | None = None
    #: ``raw`` is this stored blob, already visible to the account (Email/import of an upload).
    blob_id: str | None = None


@dataclass
class _Planned:
    index: int
    item: NewEmail
    email_id: str
    thread_id: str
    thread_is_new: bool
    keywords: list[str]
    received_at: datetime.datetime
    blob_id: str = ""


def create_emails(services: Any, changes: ChangeLog, account_id: str, items: list[NewEmail]) -> list[dict[str, Any] | SetError]:
    """Store ``items`` in order; per item its result (id, blobId, threadId, size) or the SetError
    (overQuota) that left it out. Other errors propagate: the caller's savepoint takes the batch back."""
    results: list[dict[str, Any] | SetError] = []
    rest = list(enumerate(items))
    blobs = [item.blob_id or services.blobs.id_for(item.raw) for item in items]  # each message hashed once
    uploads = _upload_charges(account_id, blobs)
    released: set[str] = set()
    while rest:
        done, out = _segment(services, changes, account_id, rest, blobs, uploads, released)
        results += out
        rest = rest[done:]
        if rest:  # it would merge Threads: stored the careful way
            index, item = rest.pop(0)
            blob = blobs[index]
            try:
                with changes.savepoint():
                    results.append(create_one(services, changes, account_id, item))
                released.add(blob)  # create_email released (and deleted) its upload charge
            except SetError as exc:
                results.append(exc)
    return results


def create_one(services: Any, changes: ChangeLog, account_id: str, item: NewEmail) -> dict[str, Any]:
    """One item through :func:`~jmapd_mail.store.create_email`, its change records in the bulk order."""
    result = create_email(services, changes, account_id, item.raw, item.mailbox_ids, item.keywords, item.received_at,
                          parsed=item.parsed, blob_id=item.blob_id, defer=True, record_self=False)
    changes.record(account_id, "Email", result["id"], CREATED)
    return result


def _upload_charges(account_id: str, blob_ids: list[str]) -> dict[str, int]:
    """What each of these blobs still counts as an upload (:func:`jmapd.quota.release_upload`)."""
    from jmapd.models import UploadCharge

    out: dict[str, int] = {}
    ids = sorted(set(blob_ids))
    for chunk in range(0, len(ids), 300):
        part = ids[chunk:chunk + 300]
        rows = sql.rows(f"SELECT blob_id, octets FROM {UploadCharge._meta.table_name}"
                        f" WHERE account_id = ? AND blob_id IN ({sql.marks(len(part))})", (account_id, *part))
        out.update((b, int(o)) for b, o in rows)
    return out


def _segment(
    services: Any, changes: ChangeLog, account_id: str, items: list[tuple[int, NewEmail]], blobs: list[str],
    uploads: dict[str, int], released: set[str],
) -> tuple[int, list[dict[str, Any] | SetError]]:
    """Write the items up to the first that would merge Threads; (how many were handled, results)."""
    config = services.config
    keys = [thread_keys(item.parsed.props) for _, item in items]
    plan = ThreadPlan(account_id, keys)
    planned: list[_Planned] = []
    results: list[dict[str, Any] | SetError] = []
    releasing: list[str] = []
    done = 0
    for (index, item), (refs, subject) in zip(items, keys, strict=True):
        blob = blobs[index]
        mark = changes.mark()
        try:
            # As create_email: the upload's own charge goes, the Email's is checked, before anything is stored.
            if blob in uploads and blob not in released:
                quota.charge(config, changes, account_id, quota.UPLOADS, octets=-uploads[blob])
            quota.charge(config, changes, account_id, "Email", count=1, octets=len(item.raw))
        except SetError as exc:
            changes.rollback(mark)
            results.append(exc)
            done += 1
            continue
        email_id = new_id("M")
        thread = plan.assign(email_id, refs, subject)
        if thread is None:
            changes.rollback(mark)
            break
        if blob in uploads and blob not in released:
            released.add(blob)
            releasing.append(blob)
        planned.append(_Planned(index, item, email_id, thread[0], thread[1], sorted({k.lower() for k in item.keywords}),
                                (item.received_at or utcnow()).replace(microsecond=0), blob))
        results.append({})  # filled in below
        done += 1
    if planned:
        _write(services, changes, account_id, planned, plan.rows, releasing)
        filled = iter(planned)
        for i, result in enumerate(results):
            if isinstance(result, dict):
                p = next(filled)
                results[i] = {"id": p.email_id, "blobId": p.blob_id, "threadId": p.thread_id, "size": len(p.item.raw)}
    return done, results


def _write(
    services: Any, changes: ChangeLog, account_id: str, planned: list[_Planned], thread_rows: list[dict[str, Any]],
    releasing: list[str],
) -> None:
    from jmapd.models import UploadCharge

    for chunk in range(0, len(releasing), 300):
        UploadCharge.delete().where((UploadCharge.account_id == account_id)
                                    & UploadCharge.blob_id.in_(releasing[chunk:chunk + 300])).execute()
    fresh = [p for p in planned if p.item.blob_id is None]
    services.blobs.put_many(account_id, [p.item.raw for p in fresh], "message/rfc822", ids=[p.blob_id for p in fresh])
    for chunk in range(0, len(thread_rows), 300):
        insert_rows(ThreadRef, thread_rows[chunk:chunk + 300], later=True)
    seqs: dict[str, int] = {}
    for chunk in range(0, len(planned), CHUNK):
        rows = [email_row(account_id, p.email_id, p.thread_id, p.blob_id, len(p.item.raw), p.received_at, p.keywords,
                          p.item.parsed) for p in planned[chunk:chunk + CHUNK]]
        seqs.update((email_id, int(seq)) for seq, email_id in insert_rows(Email, rows, returning=("seq", "id")))
    for p in planned:
        extensions.stored(services, account_id, p.email_id, p.item.raw, p.received_at)
    memberships = [
        {"account_id": account_id, "email_id": p.email_id, "mailbox_id": m, "thread_id": p.thread_id,
         "received_at": p.received_at, "unread": is_unread(p.keywords), "seq": seqs[p.email_id], "is_latest": False}
        for p in planned for m in dict.fromkeys(p.item.mailbox_ids)
    ]
    threads = sorted({p.thread_id for p in planned})
    with counts.moving(account_id, threads):
        for chunk in range(0, len(memberships), 300):
            insert_rows(EmailMailbox, memberships[chunk:chunk + 300], later=True)
    refresh_latest(account_id, {(m, p.thread_id) for p in planned for m in p.item.mailbox_ids})
    max_chars = services.config.section("mail").search_max_chars
    search.index_emails(account_id, [(seqs[p.email_id], p.item.parsed.search_fields(max_chars)) for p in planned],
                        changes)
    for p in planned:
        for keyword in p.keywords:
            changes.defer_insert(EmailKeyword, {"account_id": account_id, "email_id": p.email_id, "keyword": keyword})
        for row in header_rows(account_id, p.email_id, p.item.parsed):
            changes.defer_insert(EmailHeader, row)
        # put_many made the blob visible to the account (or the caller read it as visible).
        changes.defer_insert(BlobRef, {"account_id": account_id, "blob_id": p.blob_id, "type_name": "Email",
                                       "object_id": p.email_id})
        # The Thread first, as Email/import always did: an Email query's state (the newest
        # Email change) then covers the Thread changes its /queryChanges looks at.
        changes.record(account_id, "Thread", p.thread_id, CREATED if p.thread_is_new else UPDATED)
        changes.record(account_id, "Email", p.email_id, CREATED)
    boxes = {m for p in planned for m in p.item.mailbox_ids}
    touch_mailboxes(changes, account_id, boxes | thread_mailboxes(account_id, threads))
    # RFC 8621 §1.5: the push-only EmailDelivery state moves when Emails are added.
    changes.touch(account_id, "EmailDelivery")
