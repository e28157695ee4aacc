"""vCard in and out of the JMAP API (RFC 9555 through :mod:`.domain.vcard`).

* ``ContactCard/parse`` — a vendor method under the capability Stalwart
  announces it with, ``urn:ietf:params:jmap:contacts:parse`` (no RFC
  defines either), in its shape: ``blobIds`` of uploaded vCard files in,
  ``parsed`` (blobId → the one Card the file holds, the first of several),
  ``notParsable`` and ``notFound`` out; ``properties`` keeps only the
  listed members a card has. A client written for Stalwart reads
  ``parsed[blobId]`` as a Card, so a list there (what this method answered
  before) broke it. Nothing is stored.
* Export — derived blob ids the download URL serves: ``V`` + a card id is
  that card as a vCard 4.0, ``V`` + an address book id every card in the
  book. Media held as blobs are written back as ``data:`` URIs, so the file
  stands alone.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from jmapd.db import tuples
from jmapd.methods.standard.args import check_args
from jmapd.methods.types import is_id
from jmapd.models import Document
from jmapd.protocol.errors import MethodError

from .domain.vcard import parse_vcards, to_vcard
from .models import ContactBook

EXPORT_PREFIX = "V"
#: Stalwart's URN for ContactCard/parse, announced in the session and each account.
CONTACTS_PARSE = "urn:ietf:params:jmap:contacts:parse"


def decode_text(raw: bytes) -> str:
    """vCard 4.0 is UTF-8 (RFC 6350 §3.1); older exporters wrote Latin-1."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def contact_card_parse(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    args = check_args(args, {"accountId": ("Id", True), "blobIds": ("Id[]", True), "properties": ("String[]", False)}, {})
    account = ctx.account(args["accountId"], CONTACTS_PARSE)
    card_type = ctx.services.registry.data_types["ContactCard"]
    props = args.get("properties")
    if props is not None:
        bad = [p for p in props if card_type.property(p) is None]
        if bad:
            raise MethodError("invalidArguments", f"unknown property {bad[0]!r}")
    if len(args["blobIds"]) > ctx.config.limits.max_objects_in_get:
        raise MethodError("requestTooLarge")
    parsed: dict[str, Any] = {}
    not_found: list[str] = []
    not_parsable: list[str] = []
    for blob_id in dict.fromkeys(args["blobIds"]):
        raw = ctx.services.blobs.get(account.id, ctx.resolve_id(blob_id))
        if raw is None:
            not_found.append(blob_id)
            continue
        result = parse_vcards(decode_text(raw))
        if not result.cards:
            not_parsable.append(blob_id)
            continue
        card = result.cards[0]
        parsed[blob_id] = card if props is None else {p: card[p] for p in props if p in card}
    return {"accountId": account.id, "parsed": parsed or None, "notParsable": not_parsable or None,
            "notFound": not_found or None}


def _decode(data: Any) -> dict[str, Any]:
    return orjson.loads(data) if isinstance(data, (str, bytes)) else dict(data)


def exportable(services: Any, account_id: str, card: dict[str, Any]) -> dict[str, Any]:
    """The card with blob Media turned into data: URIs (for a standalone .vcf)."""
    media = card.get("media")
    if not isinstance(media, dict):
        return card
    out = {}
    for media_id, item in media.items():
        if isinstance(item, dict) and isinstance(item.get("blobId"), str) and "uri" not in item:
            data = services.blobs.get(account_id, item["blobId"]) or b""
            item = {k: v for k, v in item.items() if k != "blobId"}
            media_type = item.get("mediaType") or "application/octet-stream"
            item["uri"] = f"data:{media_type};base64,{base64.b64encode(data).decode()}"
        out[media_id] = item
    return {**card, "media": out}


def cards_of(account_id: str, book_id: str | None = None) -> list[dict[str, Any]]:
    query = Document.select(Document.data).where(
        (Document.account_id == account_id) & (Document.type_name == "ContactCard"))
    if book_id is not None:
        query = query.where(Document.object_id.in_(ContactBook.select(ContactBook.object_id).where(
            (ContactBook.account_id == account_id) & (ContactBook.book_id == book_id))))
    return [_decode(data) for (data,) in tuples(query.order_by(Document.id))]


def export_blob(services: Any, account_id: str, blob_id: str) -> bytes | None:
    """Bytes of an export blob id, or None when it is not one of ours."""
    if not blob_id.startswith(EXPORT_PREFIX) or not is_id(blob_id[1:]):
        return None
    object_id = blob_id[1:]
    row = (Document.select(Document.type_name, Document.data)
           .where((Document.account_id == account_id) & (Document.object_id == object_id)
                  & Document.type_name.in_(["ContactCard", "AddressBook"])).tuples().first())
    if row is None:
        return None
    cards = [_decode(row[1])] if row[0] == "ContactCard" else cards_of(account_id, object_id)
    return "".join(to_vcard(exportable(services, account_id, _bare(c))) for c in cards).encode("utf-8")


def _bare(card: dict[str, Any]) -> dict[str, Any]:
    """The JSContact card without the JMAP members (RFC 9610 §3: id, addressBookIds)."""
    return {k: v for k, v in card.items() if k not in ("id", "addressBookIds")}
