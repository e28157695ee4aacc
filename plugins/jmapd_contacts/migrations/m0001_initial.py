"""The card query index (models frozen here, not imported)."""

from typing import Any

import peewee as pw

from jmapd.db import BaseModel


class ContactIndex(BaseModel):
    account_id = pw.CharField(max_length=64)
    object_id = pw.CharField(max_length=255)
    uid = pw.TextField(null=True)
    kind = pw.CharField(max_length=255, null=True)
    created = pw.DateTimeField(null=True)
    updated = pw.DateTimeField(null=True)
    given = pw.TextField(null=True)
    surname = pw.TextField(null=True)
    surname2 = pw.TextField(null=True)
    name_text = pw.TextField(default="")
    given_text = pw.TextField(default="")
    surname_text = pw.TextField(default="")
    surname2_text = pw.TextField(default="")
    nickname_text = pw.TextField(default="")
    organization_text = pw.TextField(default="")
    email_text = pw.TextField(default="")
    phone_text = pw.TextField(default="")
    online_text = pw.TextField(default="")
    address_text = pw.TextField(default="")
    note_text = pw.TextField(default="")
    all_text = pw.TextField(default="")

    class Meta:
        table_name = "contacts_card_index"
        primary_key = pw.CompositeKey("account_id", "object_id")
        indexes = ((("account_id", "uid"), False),)


class ContactBook(BaseModel):
    account_id = pw.CharField(max_length=64)
    object_id = pw.CharField(max_length=255)
    book_id = pw.CharField(max_length=255)

    class Meta:
        table_name = "contacts_card_book"
        primary_key = pw.CompositeKey("account_id", "object_id", "book_id")
        indexes = ((("account_id", "book_id"), False),)


class ContactMember(BaseModel):
    account_id = pw.CharField(max_length=64)
    object_id = pw.CharField(max_length=255)
    member = pw.TextField()

    class Meta:
        table_name = "contacts_card_member"
        indexes = ((("account_id", "object_id"), False),)


MODELS = [ContactIndex, ContactBook, ContactMember]


def up(db: Any) -> None:
    with db.bind_ctx(MODELS):
        db.create_tables(MODELS, safe=True)


def down(db: Any) -> None:
    with db.bind_ctx(MODELS):
        db.drop_tables(MODELS, safe=True)
