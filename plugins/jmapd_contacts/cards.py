"""What an AddressBook needs to know of the cards in it.

ContactCard documents carry their ``addressBookIds``; these helpers read
them so AddressBook/set destroy can answer ``addressBookHasContents`` or,
with ``onDestroyRemoveContents``, take the book out of every card.
"""

from __future__ import annotations

from typing import Any

from jmapd.models import Document
from jmapd.state import DESTROYED, UPDATED

CARD_TYPE = "ContactCard"


def _cards(account_id: str) -> Any:
    return Document.select(Document.object_id, Document.data).where(
        (Document.account_id == account_id) & (Document.type_name == CARD_TYPE)
    )


def _decode(data: Any) -> dict[str, Any]:
    import orjson

    return orjson.loads(data) if isinstance(data, (str, bytes)) else dict(data)


def book_has_cards(account_id: str, book_id: str) -> bool:
    return any(book_id in (_decode(data).get("addressBookIds") or {}) for _, data in _cards(account_id).tuples())


def remove_book_from_cards(ctx: Any, account_id: str, book_id: str) -> None:
    """onDestroyRemoveContents: out of the book, destroyed if in no other (RFC 9610 §2.3)."""
    for object_id, data in _cards(account_id).tuples():
        card = _decode(data)
        ids = dict(card.get("addressBookIds") or {})
        if book_id not in ids:
            continue
        where = (
            (Document.account_id == account_id)
            & (Document.type_name == CARD_TYPE)
            & (Document.object_id == object_id)
        )
        del ids[book_id]
        if ids:
            card["addressBookIds"] = ids
            Document.update(data=card).where(where).execute()
            ctx.changes.record(account_id, CARD_TYPE, object_id, UPDATED)
        else:
            Document.delete().where(where).execute()
            ctx.changes.record(account_id, CARD_TYPE, object_id, DESTROYED)
