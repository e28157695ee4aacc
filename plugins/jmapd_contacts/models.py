"""Query index of ContactCards.

The card itself is the JSContact document in ``jmap_document`` (kept
verbatim, so nothing a client sent is lost); these tables only hold what
ContactCard/query filters and sorts on, so /query runs in the database
instead of loading every card. Text columns hold casefolded text
(``i;unicode-casemap``), so a LIKE on them is case-insensitive on SQLite
and PostgreSQL alike. They are derived data: :func:`jmapd_contacts.index.reindex`
rebuilds them from the documents.
"""

from __future__ import annotations

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
    """A card's membership of one address book (``addressBookIds``)."""

    account_id = pw.CharField(max_length=64)
    object_id = pw.CharField(max_length=255)
    book_id = pw.CharField(max_length=255)

    class Meta:
        table_name = "contacts_card_book"
        primary_key = pw.CompositeKey("account_id", "object_id", "book_id")
        indexes = ((("account_id", "book_id"), False),)


class ContactMember(BaseModel):
    """One uid in a group card's ``members`` (the hasMember condition)."""

    account_id = pw.CharField(max_length=64)
    object_id = pw.CharField(max_length=255)
    member = pw.TextField()

    class Meta:
        table_name = "contacts_card_member"
        indexes = ((("account_id", "object_id"), False),)


MODELS = [ContactIndex, ContactBook, ContactMember]
