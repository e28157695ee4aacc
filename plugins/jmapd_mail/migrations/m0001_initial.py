"""Mail tables and the engine-specific full-text index, as first released.

The schema is frozen here (not imported from ``jmapd_mail.models``) so a
fresh database and an upgraded one go through the same steps: later
migrations (m0002, ...) alter what this one created.
"""

from typing import Any

import peewee as pw

from jmapd.db import BaseModel, JSONField, is_postgres

FTS_TABLE = "mail_fts"


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
    #: ``ParsedMessage.to_json()``: body structure and headers, for full /get.
    parsed = JSONField()

    class Meta:
        table_name = "mail_email"
        indexes = (
            (("account_id", "id"), True),
            (("account_id", "received_at"), False),
            (("account_id", "thread_id"), False),
            (("account_id", "blob_id"), False),
        )


class EmailMailbox(BaseModel):
    account_id = pw.CharField(max_length=64)
    email_id = pw.CharField(max_length=64)
    mailbox_id = pw.CharField(max_length=64)
    thread_id = pw.CharField(max_length=64)
    received_at = pw.DateTimeField()
    unread = pw.BooleanField(default=True)

    class Meta:
        table_name = "mail_email_mailbox"
        primary_key = pw.CompositeKey("email_id", "mailbox_id")
        indexes = (
            (("mailbox_id", "received_at"), False),
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


MODELS = [Mailbox, Email, EmailMailbox, EmailKeyword, ThreadRef, EmailHeader, SearchText]


def create_index(db: Any) -> None:
    if is_postgres(db):
        db.execute_sql(
            f"CREATE TABLE IF NOT EXISTS {FTS_TABLE} (seq BIGINT PRIMARY KEY, account_id VARCHAR(64) NOT NULL,"
            " tsv_all TSVECTOR NOT NULL, tsv_body TSVECTOR NOT NULL)"
        )
        db.execute_sql(f"CREATE INDEX IF NOT EXISTS {FTS_TABLE}_all ON {FTS_TABLE} USING GIN (tsv_all)")
        db.execute_sql(f"CREATE INDEX IF NOT EXISTS {FTS_TABLE}_body ON {FTS_TABLE} USING GIN (tsv_body)")
    else:
        db.execute_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
            "head, body, tokenize = 'unicode61 remove_diacritics 2')"
        )


def up(db: Any) -> None:
    with db.bind_ctx(MODELS):
        db.create_tables(MODELS, safe=True)
    create_index(db)


def down(db: Any) -> None:
    db.execute_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    with db.bind_ctx(MODELS):
        db.drop_tables(MODELS, safe=True)
