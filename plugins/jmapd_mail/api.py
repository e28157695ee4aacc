"""The stable in-process API other plugins use (delivery, submission).

These functions are the contract with plugins/jmapd_submission: their
signatures do not change without both sides agreeing. They run on the
caller's thread, open their own transaction where they write, and never
require a JMAP request context.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from jmapd.db import ensure_connected, tuples, write_transaction
from jmapd.models import new_id
from jmapd.protocol.errors import SetError
from jmapd.state import CREATED, ChangeLog

from . import bulk, defaults, store
from .domain.parse import parse_message
from .extensions import EmailExtension
from .models import Email, Mailbox
from .msgid import message_id_domain

if TYPE_CHECKING:
    from jmapd.services import Services

__all__ = [
    "deliver", "find_mailbox", "mailbox_at", "email_raw", "email_blob_id", "emails_with_message_id", "email_headers",
    "message_id_domain", "MailboxNotFound", "EmailExtension", "email_blobs", "email_blob_ids",
]


class MailboxNotFound(LookupError):
    """The target mailbox of a delivery does not exist in the account."""


def deliver(
    services: Any,
    account_id: str,
    raw: bytes,
    *,
    mailbox_id: str | None = None,
    mailbox_role: str = "inbox",
    mailbox_ids: Sequence[str] = (),
    keywords: Iterable[str] = (),
    received_at: datetime.datetime | None = None,
    on_stored: Callable[[str], None] | None = None,
) -> str:
    """Import one message into ``account_id`` and return the new Email id.

    The message goes to ``mailbox_id`` if given, else to the Mailbox with
    ``mailbox_role`` (inbox by default), and to each of ``mailbox_ids`` too
    (one Email in several Mailboxes, as Sieve's fileinto and keep ask);
    :class:`MailboxNotFound` if one does not exist; :class:`jmapd.quota.OverQuota` (nothing stored) if the message
    does not fit the account's quota. Parsing happens before the write transaction so the account's
    lock is held only for the inserts; the blob is durable before commit.
    After commit the changes-committed hook fires (push, etc.).

    ``on_stored(email_id)`` runs inside the write transaction once the
    Email exists, so a caller's own record of the delivery (the outbound
    queue's "delivered to this recipient") commits with it or not at all;
    if it raises, nothing is stored.
    """
    ensure_connected()
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError("raw must be bytes")
    raw = bytes(raw)
    parsed = parse_message(raw)
    if received_at is not None and received_at.tzinfo is not None:
        received_at = received_at.astimezone(datetime.UTC).replace(tzinfo=None)
    for keyword in keywords:
        if not store.valid_keyword(keyword):
            raise ValueError(f"invalid keyword {keyword!r}")
    changes = ChangeLog()
    with write_transaction(account_id):
        target = mailbox_id
        if target is not None:
            if not store.existing_mailboxes(account_id, [target]):
                raise MailboxNotFound(f"no mailbox {target} in account {account_id}")
        else:
            target = defaults.find_mailbox(account_id, role=mailbox_role)
            if target is None:
                raise MailboxNotFound(f"no {mailbox_role} mailbox in account {account_id}")
        targets = list(dict.fromkeys([target, *mailbox_ids]))
        if mailbox_ids and len(store.existing_mailboxes(account_id, targets)) != len(targets):
            raise MailboxNotFound(f"a mailbox of {targets} is not in account {account_id}")
        # The batch writer with a batch of one: the same rows as create_email, written with
        # fewer and cheaper statements (this runs for every delivered message).
        [result] = bulk.create_emails(services, changes, account_id,
                                      [bulk.NewEmail(raw, targets, list(keywords), parsed, received_at)])
        if isinstance(result, SetError):
            raise result  # OverQuota: nothing was written
        if on_stored is not None:
            on_stored(str(result["id"]))
        changes.flush()
    services.changes_committed(changes.committed)
    return str(result["id"])


def find_mailbox(account_id: str, *, role: str | None = None, name: str | None = None) -> str | None:
    """The id of the account's Mailbox with this role and/or exact name, or None."""
    ensure_connected()
    return defaults.find_mailbox(account_id, role=role, name=name)


def mailbox_at(services: Any, account_id: str, path: str, *, create: bool = False) -> str | None:
    """The Mailbox at ``path`` (names joined by ``/``; ``INBOX`` in any case
    is the inbox), or None; with ``create`` the missing ones are made (and
    logged, so clients see them) in a transaction of their own.

    For Sieve's ``fileinto`` and ``mailbox :create`` (RFC 5490): an exact
    name of any Mailbox is tried first, so a name holding ``/`` still works.
    """
    ensure_connected()
    if path.upper() == "INBOX":
        return defaults.find_mailbox(account_id, role="inbox")
    found = defaults.find_mailbox(account_id, name=path)
    if found is not None or not path:
        return found
    parts = path.split("/")
    if any(not p for p in parts):
        return None
    changes = ChangeLog()
    with write_transaction(account_id):
        rows = list(Mailbox.select(Mailbox.id, Mailbox.name, Mailbox.parent_id).where(Mailbox.account_id == account_id))
        parent: str | None = None
        for i, name in enumerate(parts):
            match = next((r.id for r in rows if r.parent_id == parent and r.name == name), None)
            if match is None and i == 0 and name.upper() == "INBOX":
                match = defaults.find_mailbox(account_id, role="inbox")
            if match is None:
                if not create:
                    return None
                match = new_id("m")
                Mailbox.insert(id=match, account_id=account_id, name=name, parent_id=parent).execute()
                changes.record(account_id, "Mailbox", match, CREATED)
            parent = match
        changes.flush()
    services.changes_committed(changes.committed)
    return parent


def email_raw(services: Services, account_id: str, email_id: str) -> bytes | None:
    """The raw RFC 5322 octets of an Email, or None if the account has no such Email."""
    ensure_connected()
    row = Email.select(Email.blob_id).where((Email.account_id == account_id) & (Email.id == email_id)).first()
    if row is None:
        return None
    return services.blobs.read(row.blob_id)


def email_blob_id(account_id: str, email_id: str) -> str | None:
    """The blobId of an Email's raw message, or None if the account has no such Email."""
    ensure_connected()
    row = Email.select(Email.blob_id).where((Email.account_id == account_id) & (Email.id == email_id)).first()
    return str(row.blob_id) if row is not None else None


def emails_with_message_id(account_id: str, message_id: str) -> list[str]:
    """Ids of the account's Emails whose first Message-ID is ``message_id``
    (without angle brackets): how a report names the message it is about."""
    ensure_connected()
    rows = Email.select(Email.id).where((Email.account_id == account_id) & (Email.message_id == message_id))
    return [str(r.id) for r in rows.limit(50)]



def email_headers(account_id: str, email_id: str) -> dict[str, Any]:
    """Parsed addresses and ids of an Email, for submission (envelope, Bcc).

    Keys: from, sender, to, cc, bcc (lists of {name, email} or None),
    messageId (list of ids or None), subject (str or None). Empty dict if
    the Email does not exist.
    """
    ensure_connected()
    row = Email.select(Email.summary).where((Email.account_id == account_id) & (Email.id == email_id)).first()
    if row is None:
        return {}
    summary = row.summary
    return {key: summary.get(key) for key in ("from", "sender", "to", "cc", "bcc", "messageId", "subject")}


def email_blobs(account_id: str, after: str = "", limit: int = 500) -> list[tuple[str, str, datetime.datetime]]:
    """``(email id, blob id, receivedAt)`` of up to ``limit`` of the account's
    Emails with ids after ``after``, in id order: for a plugin that goes over
    stored mail once (``jmapd smime scan``) in pages."""
    ensure_connected()
    rows = (Email.select(Email.id, Email.blob_id, Email.received_at)
            .where((Email.account_id == account_id) & (Email.id > after)).order_by(Email.id).limit(limit))
    return [(str(i), str(b), r) for i, b, r in tuples(rows)]


def email_blob_ids(account_id: str, email_ids: Sequence[str]) -> dict[str, str]:
    """The blobId of each of ``email_ids`` the account has (one query per 500)."""
    ensure_connected()
    out: dict[str, str] = {}
    ids = list(email_ids)
    for start in range(0, len(ids), 500):
        rows = Email.select(Email.id, Email.blob_id).where(
            (Email.account_id == account_id) & Email.id.in_(ids[start:start + 500]))
        out.update((str(i), str(b)) for i, b in tuples(rows))
    return out
