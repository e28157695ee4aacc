"""The mail tables (all prefixed ``mail_``).

What list views need is denormalised onto the rows they scan: an
``EmailMailbox`` row carries the thread, receivedAt and unread flag so
Mailbox counts and "open inbox" are single index range scans, and the
parsed message is stored as JSON so nothing is ever parsed twice.
"""

from __future__ import annotations

import zlib
from typing import Any

import peewee as pw

from jmapd.db import BaseModel, BlobField, JSONField


class ZJSONField(BlobField):
    """JSON, orjson-encoded and zlib-compressed (the parsed structure is ~4x smaller)."""

    def db_value(self, value: Any) -> bytes | None:
        if value is None:
            return None
        import orjson

        return zlib.compress(orjson.dumps(value), 6)

    def python_value(self, value: Any) -> Any:
        if value is None:
            return None
        import orjson

        if isinstance(value, memoryview):
            value = value.tobytes()
        return orjson.loads(zlib.decompress(value))


class Mailbox(BaseModel):
    id = pw.CharField(max_length=64, primary_key=True)
    account_id = pw.CharField(max_length=64, index=True)
    name = pw.TextField()
    parent_id = pw.CharField(max_length=64, null=True)
    role = pw.CharField(max_length=64, null=True)
    sort_order = pw.BigIntegerField(default=0)
    is_subscribed = pw.BooleanField(default=True)

    class Meta:
        table_name = "mail_mailbox"


class Email(BaseModel):
    """One Email; ``seq`` is the integer key the full-text index uses."""

    seq = pw.AutoField()
    id = pw.CharField(max_length=64)
    account_id = pw.CharField(max_length=64)
    thread_id = pw.CharField(max_length=64)
    blob_id = pw.CharField(max_length=80)
    size = pw.BigIntegerField()
    received_at = pw.DateTimeField()
    sent_at = pw.DateTimeField(null=True)
    message_id = pw.TextField(null=True)
    subject_sort = pw.TextField(default="")
    from_sort = pw.TextField(default="")
    to_sort = pw.TextField(default="")
    has_attachment = pw.BooleanField(default=False)
    unread = pw.BooleanField(default=True)
    keywords = JSONField(default=list)
    #: The convenience header properties plus preview: enough for list views.
    summary = JSONField()
    #: ``ParsedMessage.to_json()``, compressed: body structure and headers, for full /get.
    parsed = ZJSONField(column_name="parsed_z")

    class Meta:
        table_name = "mail_email"
        indexes = (
            (("account_id", "id"), True),
            (("account_id", "received_at", "seq"), False),
            (("account_id", "thread_id"), False),
            (("account_id", "blob_id"), False),
        )


class EmailMailbox(BaseModel):
    """Membership of an Email in a Mailbox, with what "open a Mailbox" sorts and collapses by.

    ``is_latest`` marks the Email that is newest (receivedAt, then seq) of its
    Thread in this Mailbox: the rows a collapsed, newest-first listing shows,
    kept up to date by :func:`jmapd_mail.store.refresh_latest` on every change.
    """

    account_id = pw.CharField(max_length=64)
    email_id = pw.CharField(max_length=64)
    mailbox_id = pw.CharField(max_length=64)
    thread_id = pw.CharField(max_length=64)
    received_at = pw.DateTimeField()
    unread = pw.BooleanField(default=True)
    seq = pw.BigIntegerField(default=0)
    is_latest = pw.BooleanField(default=False)

    class Meta:
        table_name = "mail_email_mailbox"
        primary_key = pw.CompositeKey("email_id", "mailbox_id")
        indexes = (
            (("mailbox_id", "received_at", "seq"), False),
            (("account_id", "thread_id"), False),
        )


class EmailKeyword(BaseModel):
    account_id = pw.CharField(max_length=64)
    email_id = pw.CharField(max_length=64)
    keyword = pw.CharField(max_length=255)

    class Meta:
        table_name = "mail_email_keyword"
        primary_key = pw.CompositeKey("email_id", "keyword")
        indexes = ((("account_id", "keyword"), False),)


class ThreadRef(BaseModel):
    """A Message-ID an Email has or refers to, for threading (RFC 8621 §3)."""

    account_id = pw.CharField(max_length=64)
    msgid = pw.CharField(max_length=64)  # sha1 of the id: ids can be arbitrarily long
    subject = pw.CharField(max_length=64)  # sha1 of the base subject
    email_id = pw.CharField(max_length=64)
    thread_id = pw.CharField(max_length=64)

    class Meta:
        table_name = "mail_thread_ref"
        primary_key = False
        indexes = (
            (("account_id", "msgid"), False),
            (("email_id",), False),
        )


class EmailHeader(BaseModel):
    """Decoded header values, for the Email/query ``header`` condition."""

    account_id = pw.CharField(max_length=64)
    email_id = pw.CharField(max_length=64)
    name = pw.CharField(max_length=255)
    value = pw.TextField()

    class Meta:
        table_name = "mail_email_header"
        primary_key = False
        indexes = ((("email_id", "name"), False),)


class SearchText(BaseModel):
    """Per-field text of an Email for the address/subject conditions (substring match)."""

    seq = pw.BigIntegerField(primary_key=True)
    account_id = pw.CharField(max_length=64, index=True)
    subject = pw.TextField(default="")
    from_ = pw.TextField(default="", column_name="from_addr")
    to = pw.TextField(default="")
    cc = pw.TextField(default="")
    bcc = pw.TextField(default="")

    class Meta:
        table_name = "mail_search_text"


class MailboxCount(BaseModel):
    """A Mailbox's four counts, moved by every write (:mod:`jmapd_mail.counts`).

    No row means all four are 0: a Mailbox gets one with its first Email.
    """

    mailbox_id = pw.CharField(max_length=64, primary_key=True)
    account_id = pw.CharField(max_length=64, index=True)
    total_emails = pw.BigIntegerField(default=0)
    unread_emails = pw.BigIntegerField(default=0)
    total_threads = pw.BigIntegerField(default=0)
    unread_threads = pw.BigIntegerField(default=0)

    class Meta:
        table_name = "mail_mailbox_count"




class ImportKey(BaseModel):
    """A message ``jmapd import`` brought into a Mailbox, by the SHA-256 of its bytes.

    Written in the same transaction as the Email, so a re-run (after Ctrl-C
    or kill -9) skips exactly what is already in, from any source.
    """

    account_id = pw.CharField(max_length=64)
    mailbox_id = pw.CharField(max_length=64)
    digest = pw.CharField(max_length=64)
    email_id = pw.CharField(max_length=64)

    class Meta:
        table_name = "mail_import_key"
        primary_key = pw.CompositeKey("account_id", "mailbox_id", "digest")
        indexes = ((("account_id", "digest"), False),)


class ImportState(BaseModel):
    """How far an IMAP import got in one source folder: its UIDVALIDITY and the highest UID in."""

    account_id = pw.CharField(max_length=64)
    source = pw.CharField(max_length=255)
    folder = pw.TextField()
    uidvalidity = pw.BigIntegerField()
    last_uid = pw.BigIntegerField(default=0)

    class Meta:
        table_name = "mail_import_state"
        primary_key = False
        indexes = ((("account_id", "source", "folder"), True),)


MODELS = [Mailbox, Email, EmailMailbox, EmailKeyword, ThreadRef, EmailHeader, SearchText, MailboxCount, ImportKey, ImportState]
