"""What an AddressBook needs to know of the cards in it (through the index).

AddressBook/set destroy answers ``addressBookHasContents`` while a card is
in the book, or with ``onDestroyRemoveContents`` takes the book out of
every card, destroying those in no other (RFC 9610 §2.3).
"""

from __future__ import annotations

from typing import Any

from jmapd.db import tuples
from jmapd.models import BlobRef, Document
from jmapd.sharing import tag
from jmapd.state import DESTROYED, UPDATED

from .index import drop_index, write_index
from .models import ContactBook

CARD_TYPE = "ContactCard"


def book_has_cards(account_id: str, book_id: str) -> bool:
    return bool(ContactBook.select().where(
        (ContactBook.account_id == account_id) & (ContactBook.book_id == book_id)).exists())


def remove_book_from_cards(ctx: Any, account_id: str, book_id: str) -> None:
    import orjson

    ids = [r for (r,) in tuples(ContactBook.select(ContactBook.object_id).where(
        (ContactBook.account_id == account_id) & (ContactBook.book_id == book_id)))]
    for object_id, data in tuples(Document.select(Document.object_id, Document.data).where(
            (Document.account_id == account_id) & (Document.type_name == CARD_TYPE)
            & Document.object_id.in_(ids or [""]))):
        card = orjson.loads(data) if isinstance(data, (str, bytes)) else dict(data)
        books = {k: v for k, v in (card.get("addressBookIds") or {}).items() if k != book_id}
        where = ((Document.account_id == account_id) & (Document.type_name == CARD_TYPE)
                 & (Document.object_id == object_id))
        if books:
            card["addressBookIds"] = books
            Document.update(data=card).where(where).execute()
            write_index(account_id, object_id, card)
            ctx.changes.record(account_id, CARD_TYPE, object_id, UPDATED, props=[tag(book_id)])
        else:
            Document.delete().where(where).execute()
            BlobRef.delete().where((BlobRef.account_id == account_id) & (BlobRef.type_name == CARD_TYPE)
                                   & (BlobRef.object_id == object_id)).execute()
            drop_index(account_id, object_id)
            ctx.changes.record(account_id, CARD_TYPE, object_id, UPDATED,
                               props=[tag(b) for b in sorted(card.get("addressBookIds") or {})])
            ctx.changes.record(account_id, CARD_TYPE, object_id, DESTROYED)
