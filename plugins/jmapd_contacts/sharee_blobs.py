"""Which blobs a sharee of single address books may read (``jmapd_shared_blob``).

A sharee sees the cards of the books they may read, so they may read what
those cards hold or are: a Media blob (a photo) referenced by such a card,
the vCard export of such a card, and the export of a book they may read.
Nothing else of the account opens: a blob of a card only in books they
cannot read, or an upload of the owner's, stays ``notFound`` (404).
"""

from __future__ import annotations

from typing import Any

from jmapd.db import tuples
from jmapd.methods.types import is_id
from jmapd.models import BlobRef, Document
from jmapd.sharing import access

from .cards import CARD_TYPE
from .models import ContactBook
from .vcards import EXPORT_PREFIX


def _readable_cards(account_id: str, ids: list[str], books: set[str] | None) -> list[str]:
    """Those of ``ids`` in one of ``books`` (None: every book)."""
    if not ids:
        return []
    query = ContactBook.select(ContactBook.object_id).where(
        (ContactBook.account_id == account_id) & ContactBook.object_id.in_(ids))
    if books is not None:
        query = query.where(ContactBook.book_id.in_(sorted(books) or [""]))
    found = {r for (r,) in tuples(query.distinct())}
    return [i for i in ids if i in found]


def shared_blob(ctx: Any, account_id: str, blob_id: str) -> dict[str, list[str]] | None:
    books = access(ctx, account_id).with_right("AddressBook", "mayRead")
    if blob_id.startswith(EXPORT_PREFIX) and is_id(blob_id[1:]):
        object_id = blob_id[1:]
        row = (Document.select(Document.type_name).where(
            (Document.account_id == account_id) & (Document.object_id == object_id)
            & Document.type_name.in_([CARD_TYPE, "AddressBook"])).tuples().first())
        if row is None:
            return None
        if row[0] == "AddressBook":
            return {} if books is None or object_id in books else None
        return {} if _readable_cards(account_id, [object_id], books) else None
    holders = [r for (r,) in tuples(BlobRef.select(BlobRef.object_id).where(
        (BlobRef.account_id == account_id) & (BlobRef.type_name == CARD_TYPE) & (BlobRef.blob_id == blob_id)))]
    cards = _readable_cards(account_id, sorted(set(holders)), books)
    return {CARD_TYPE: cards} if cards else None
