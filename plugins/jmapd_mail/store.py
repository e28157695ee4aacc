"""Storing Emails: the one place rows, threads, indexes and change records are written.

Every writer (Email/set, Email/import, Email/copy, delivery through api.py)
goes through these functions inside an open write transaction, so counts,
threads and the three type states (Email, Mailbox, Thread) always move
together.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

import orjson

from jmapd import quota
from jmapd.db import database, is_postgres, tuples
from jmapd.models import BlobRef, new_id
from jmapd.sharing import tag
from jmapd.state import CREATED, DESTROYED, UPDATED

from . import counts, extensions, search, sql
from .domain.parse import ParsedMessage, parse_message
from .latest import refresh_latest, thread_pairs  # noqa: F401 (thread_pairs kept importable here)
from .models import Email, EmailHeader, EmailKeyword, EmailMailbox, Mailbox, ThreadRef
from .threads import assign_thread

COUNT_PROPS = ("totalEmails", "unreadEmails", "totalThreads", "unreadThreads")
SUMMARY_KEYS = (
    "messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject", "sentAt",
)
BAD_KEYWORD_CHARS = set('(){]%*"\\')


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)


def format_utc(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(value: str) -> datetime.datetime:
    """A JMAP UTCDate/Date as naive UTC (the database's convention)."""
    dt = datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.UTC).replace(tzinfo=None)
    return dt


def valid_keyword(keyword: Any) -> bool:
    """RFC 8621 §4.1.1: 1–255 of %x21–%x7e, none of ( ) { ] % * " \\."""
    return (
        isinstance(keyword, str)
        and 0 < len(keyword) <= 255
        and all(0x21 <= ord(c) <= 0x7E and c not in BAD_KEYWORD_CHARS for c in keyword)
    )


def is_unread(keywords: Iterable[str]) -> bool:
    kw = set(keywords)
    return "$seen" not in kw and "$draft" not in kw


def _sort_text(addresses: list[dict[str, Any]] | None) -> str:
    if not addresses:
        return ""
    first = addresses[0]
    return (first.get("name") or first.get("email") or "").casefold()


def mailbox_tags(mailbox_ids: Iterable[str]) -> list[str]:
    """Tags for the change rows of an Email or Thread leaving or entering these
    Mailboxes: a sharee's /changes reports it destroyed only if one is theirs."""
    return [tag(m) for m in sorted(set(mailbox_ids))]


def touch_mailboxes(changes: Any, account_id: str, mailbox_ids: Iterable[str]) -> None:
    """Record that the counts (only) of these Mailboxes changed."""
    for mailbox_id in sorted(set(mailbox_ids)):
        changes.record(account_id, "Mailbox", mailbox_id, UPDATED, props=COUNT_PROPS)


def thread_mailboxes(account_id: str, thread_ids: Iterable[str]) -> set[str]:
    """Mailboxes holding any Email of these Threads (their unreadThreads may move)."""
    ids = sorted(set(thread_ids))
    out: set[str] = set()
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        out.update(r[0] for r in sql.rows("SELECT DISTINCT mailbox_id FROM mail_email_mailbox"
                                          f" WHERE account_id = ? AND thread_id IN ({sql.marks(len(part))})",
                                          (account_id, *part)))
    return out


def existing_mailboxes(account_id: str, ids: Iterable[str]) -> set[str]:
    ids = list(ids)
    if not ids:
        return set()
    rows = tuples(Mailbox.select(Mailbox.id).where((Mailbox.account_id == account_id) & Mailbox.id.in_(ids)))
    return {r[0] for r in rows}


def create_email(
    services: Any,
    changes: Any,
    account_id: str,
    raw: bytes,
    mailbox_ids: Iterable[str],
    keywords: Iterable[str] = (),
    received_at: datetime.datetime | None = None,
    parsed: ParsedMessage | None = None,
    record_self: bool = True,
    email_id: str | None = None,
    blob_id: str | None = None,
    defer: bool = False,
) -> dict[str, Any]:
    """Store a new Email (caller holds the write transaction); returns id, blobId, threadId, size.

    Every path that adds an Email comes here, so this is where it is charged
    to the account's quota: :class:`jmapd.quota.OverQuota` when it does not
    fit, raised before anything is written.

    The raw octets become a durable blob before any row referencing them is
    written; the message is parsed here (or by the caller) exactly once.
    ``record_self=False`` when the /set or /copy engine logs the Email itself;
    ``blob_id`` when ``raw`` is already a stored blob visible to the account.
    ``defer=True`` (imports) leaves the rows nothing in the transaction reads
    back (keywords, headers, search text, the blob reference) to one
    multi-row INSERT per table when ``changes`` is flushed.
    """
    mailbox_ids = list(dict.fromkeys(mailbox_ids))
    keywords = sorted({k.lower() for k in keywords})
    if parsed is None:
        parsed = parse_message(raw)
    received_at = (received_at or utcnow()).replace(microsecond=0)
    # Charged before anything is stored: over quota, nothing was written (the
    # caller's savepoint or transaction takes the usage back). An upload of
    # this very message stops counting on its own, as the Email counts it.
    quota.release_upload(services.config, changes, account_id, blob_id or services.blobs.id_for(raw))
    quota.charge(services.config, changes, account_id, "Email", count=1, octets=len(raw))
    if blob_id is None:  # else: the caller read ``raw`` from this stored, visible blob
        blob_id = services.blobs.put(account_id, raw, "message/rfc822")
    email_id = email_id or new_id("M")
    props = parsed.props
    thread_id, thread_is_new = assign_thread(changes, account_id, email_id, props)
    unread = is_unread(keywords)
    seq = Email.insert(**email_row(account_id, email_id, thread_id, blob_id, len(raw), received_at, keywords,
                                   parsed)).execute()
    extensions.stored(services, account_id, email_id, raw, received_at)
    if mailbox_ids:
        with counts.moving(account_id, [thread_id]):
            EmailMailbox.insert_many(
                [
                    {"account_id": account_id, "email_id": email_id, "mailbox_id": m, "thread_id": thread_id,
                     "received_at": received_at, "unread": unread, "seq": seq}
                    for m in mailbox_ids
                ]
            ).execute()
        refresh_latest(account_id, [(m, thread_id) for m in mailbox_ids])
    keyword_rows = [{"account_id": account_id, "email_id": email_id, "keyword": k} for k in keywords]
    fields = parsed.search_fields(services.config.section("mail").search_max_chars)
    if defer:
        for row in keyword_rows:
            changes.defer_insert(EmailKeyword, row)
        for row in header_rows(account_id, email_id, parsed):
            changes.defer_insert(EmailHeader, row)
        search.index_email(seq, account_id, fields, changes=changes)
        # put() made the blob visible to the account (or the caller read it as visible).
        changes.defer_insert(BlobRef, {"account_id": account_id, "blob_id": blob_id, "type_name": "Email",
                                       "object_id": email_id})
    else:
        if keyword_rows:
            EmailKeyword.insert_many(keyword_rows).execute()
        _index_headers(account_id, email_id, parsed)
        search.index_email(seq, account_id, fields)
        services.blobs.add_ref(account_id, blob_id, "Email", email_id)
    if record_self:
        changes.record(account_id, "Email", email_id, CREATED)
    changes.record(account_id, "Thread", thread_id, CREATED if thread_is_new else UPDATED)
    touch_mailboxes(changes, account_id, set(mailbox_ids) | thread_mailboxes(account_id, [thread_id]))
    # RFC 8621 §1.5: the push-only EmailDelivery state moves whenever a new
    # Email is added to the store, and on no other change.
    changes.touch(account_id, "EmailDelivery")
    return {"id": email_id, "blobId": blob_id, "threadId": thread_id, "size": len(raw)}


def email_row(
    account_id: str, email_id: str, thread_id: str, blob_id: str, size: int, received_at: datetime.datetime,
    keywords: list[str], parsed: ParsedMessage,
) -> dict[str, Any]:
    """The ``mail_email`` row of a new Email (its seq is the database's)."""
    props = parsed.props
    sent_at = None
    if props.get("sentAt"):
        try:
            sent_at = parse_utc(props["sentAt"])
        except ValueError:
            sent_at = None
    summary = {k: props.get(k) for k in SUMMARY_KEYS}
    summary["preview"] = parsed.preview
    message_ids = props.get("messageId") or []
    return {
        "id": email_id, "account_id": account_id, "thread_id": thread_id, "blob_id": blob_id, "size": size,
        "received_at": received_at, "sent_at": sent_at, "message_id": message_ids[0] if message_ids else None,
        "subject_sort": (props.get("subject") or "").casefold(), "from_sort": _sort_text(props.get("from")),
        "to_sort": _sort_text(props.get("to")), "has_attachment": parsed.has_attachment,
        "unread": is_unread(keywords), "keywords": keywords, "summary": summary, "parsed": parsed.to_json(),
    }


def header_rows(account_id: str, email_id: str, parsed: ParsedMessage) -> list[dict[str, Any]]:
    from .domain.headers import as_text

    return [
        {"account_id": account_id, "email_id": email_id, "name": name.lower()[:255], "value": as_text(value)[:2000]}
        for name, value in parsed.headers[:200]
    ]


def _index_headers(account_id: str, email_id: str, parsed: ParsedMessage) -> None:
    rows = header_rows(account_id, email_id, parsed)
    if rows:
        EmailHeader.insert_many(rows).execute()


def set_keywords(
    changes: Any,
    account_id: str,
    email_id: str,
    keywords: Iterable[str],
    old: Iterable[str] | None = None,
    thread_id: str | None = None,
) -> bool:
    """Replace an Email's keywords (lower-cased); True if anything changed.

    ``old`` and ``thread_id`` (as the caller loaded them) save a read. Only
    the keyword rows that differ are written. The caller records the Email
    change; Mailbox counts are recorded here because whether an Email is
    unread can move every count of its Thread. Other keywords move no
    Mailbox property, so they leave the Mailbox state alone (RFC 8621 §2).
    """
    if old is None or thread_id is None:
        row = Email.select(Email.keywords, Email.thread_id).where(
            (Email.account_id == account_id) & (Email.id == email_id)
        ).first()
        if row is None:
            return False
        old, thread_id = row.keywords or [], row.thread_id
    before = {k.lower() for k in old}
    new = {k.lower() for k in keywords}
    if new == before:
        return False
    unread = is_unread(new)
    # Plain SQL: this runs once per Email of a bulk flag change, and building
    # Peewee queries cost more than running them.
    mark = "%s" if is_postgres() else "?"
    run = database.execute_sql
    run(
        f"UPDATE mail_email SET keywords = {mark}, unread = {mark} WHERE account_id = {mark} AND id = {mark}",
        (orjson.dumps(sorted(new)).decode(), unread, account_id, email_id),
    )
    # The keyword rows and the membership rows' unread flag (with the counts it
    # moves) are written once for the whole /set, before it commits: a bulk
    # flag change then costs one counts diff, not one per Email. Nothing in
    # the call reads them back (its Emails were loaded first; a Mailbox
    # change diffs the rows as they are, and the batch diffs them again).
    removed = sorted(before - new)
    if removed:
        changes.defer(_remove_keywords, (email_id, removed))
    for keyword in sorted(new - before):
        changes.defer_insert(EmailKeyword, {"account_id": account_id, "email_id": email_id, "keyword": keyword})
    if unread != is_unread(before):
        changes.defer(_mark_unread, (changes, account_id, email_id, thread_id, unread))
    return True


def _remove_keywords(items: list[tuple[str, list[str]]]) -> None:
    """The keyword rows a batch of keyword changes took away, one DELETE per keyword."""
    by_keyword: dict[str, list[str]] = {}
    for email_id, keywords in items:
        for keyword in keywords:
            by_keyword.setdefault(keyword, []).append(email_id)
    mark = "%s" if is_postgres() else "?"
    for keyword, ids in sorted(by_keyword.items()):
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            database.execute_sql(
                f"DELETE FROM mail_email_keyword WHERE keyword = {mark} AND email_id IN ({', '.join([mark] * len(part))})",
                (keyword, *part),
            )


def _mark_unread(items: list[tuple[Any, str, str, str, bool]]) -> None:
    """A batch's unread flips, per account: rows, counts, and the Mailboxes' state."""
    by_account: dict[str, tuple[Any, dict[str, tuple[str, bool]]]] = {}
    for changes, account_id, email_id, thread_id, unread in items:
        by_account.setdefault(account_id, (changes, {}))[1][email_id] = (thread_id, unread)
    for account_id, (changes, flags) in by_account.items():
        touch_mailboxes(changes, account_id, counts.mark_unread(account_id, flags))


def set_mailboxes(changes: Any, account_id: str, email_id: str, mailbox_ids: Iterable[str]) -> bool:
    """Replace an Email's Mailboxes; True if anything changed."""
    row = Email.get_or_none((Email.account_id == account_id) & (Email.id == email_id))
    if row is None:
        return False
    new = set(mailbox_ids)
    old = {r[0] for r in tuples(EmailMailbox.select(EmailMailbox.mailbox_id).where(EmailMailbox.email_id == email_id))}
    if new == old:
        return False
    before = thread_mailboxes(account_id, [row.thread_id])
    with counts.moving(account_id, [row.thread_id]):
        if old - new:
            EmailMailbox.delete().where(
                (EmailMailbox.email_id == email_id) & EmailMailbox.mailbox_id.in_(list(old - new))
            ).execute()
        if new - old:
            EmailMailbox.insert_many(
                [
                    {"account_id": account_id, "email_id": email_id, "mailbox_id": m, "thread_id": row.thread_id,
                     "received_at": row.received_at, "unread": row.unread, "seq": row.seq}
                    for m in sorted(new - old)
                ]
            ).execute()
    refresh_latest(account_id, [(m, row.thread_id) for m in new ^ old])
    touch_mailboxes(changes, account_id, before | new | old)
    changes.record(account_id, "Email", email_id, UPDATED, props=["mailboxIds", *mailbox_tags(old ^ new)])
    changes.record(account_id, "Thread", row.thread_id, UPDATED, props=mailbox_tags(old ^ new))
    return True


def destroy_email(services: Any, changes: Any, account_id: str, email_id: str, record_self: bool = True) -> bool:
    """Remove an Email and everything derived from it; records all changes."""
    row = Email.get_or_none((Email.account_id == account_id) & (Email.id == email_id))
    if row is None:
        return False
    mailboxes = thread_mailboxes(account_id, [row.thread_id])
    own = [r[0] for r in tuples(EmailMailbox.select(EmailMailbox.mailbox_id).where(EmailMailbox.email_id == email_id))]
    with counts.moving(account_id, [row.thread_id]):
        EmailMailbox.delete().where(EmailMailbox.email_id == email_id).execute()
    refresh_latest(account_id, [(m, row.thread_id) for m in own])
    EmailKeyword.delete().where(EmailKeyword.email_id == email_id).execute()
    EmailHeader.delete().where(EmailHeader.email_id == email_id).execute()
    ThreadRef.delete().where(ThreadRef.email_id == email_id).execute()
    search.unindex_email(row.seq, account_id, index_fields(services, row))
    Email.delete().where(Email.seq == row.seq).execute()
    extensions.destroyed(services, account_id, email_id)
    services.blobs.drop_refs(account_id, "Email", email_id)
    quota.charge(services.config, changes, account_id, "Email", count=-1, octets=-int(row.size))
    remaining = Email.select().where((Email.account_id == account_id) & (Email.thread_id == row.thread_id)).exists()
    if record_self:
        changes.record(account_id, "Email", email_id, DESTROYED, props=mailbox_tags(own))
    else:  # the engine records the destruction; this row says where the Email was
        changes.record(account_id, "Email", email_id, UPDATED, props=mailbox_tags(own))
    changes.record(account_id, "Thread", row.thread_id, UPDATED if remaining else DESTROYED, props=mailbox_tags(own))
    touch_mailboxes(changes, account_id, mailboxes)
    return True


def index_fields(services: Any, row: Any) -> dict[str, str]:
    """The text an Email was indexed with (re-derived from its stored structure and blob)."""
    if is_postgres():
        return {}
    raw = services.blobs.read(row.blob_id)
    parsed = ParsedMessage.from_json(row.parsed, raw=raw)
    return parsed.search_fields(services.config.section("mail").search_max_chars)


def email_mailbox_map(account_id: str, email_ids: list[str]) -> dict[str, dict[str, bool]]:
    """mailboxIds of Emails already known to be ``account_id``'s."""
    out: dict[str, dict[str, bool]] = {i: {} for i in email_ids}
    for chunk in range(0, len(email_ids), 500):
        # By primary key (email_id, ...) only: with account_id in the WHERE, SQLite
        # may pick the (account_id, thread_id) index and walk the whole account.
        rows = tuples(
            EmailMailbox.select(EmailMailbox.email_id, EmailMailbox.mailbox_id)
            .where(EmailMailbox.email_id.in_(email_ids[chunk : chunk + 500]))
        )
        for email_id, mailbox_id in rows:
            out.setdefault(email_id, {})[mailbox_id] = True
    return out


def load_parsed(row: Any, raw: bytes | None = None) -> ParsedMessage:
    return ParsedMessage.from_json(row.parsed, raw=raw)
