"""Media objects and blobs (RFC 9610 §3: the ``blobId`` member of Media).

A Media may name a blob instead of a ``uri``; a ``data:`` URI given by a
client is stored as a blob and replaced by ``blobId`` + ``mediaType`` (the
RFC's SHOULD: clients then fetch a large photo only when they need it).
A photo or logo must be a recognised image: its bytes are sniffed, since a
declared type proves nothing.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from typing import Any

from jmapd.methods.types import is_id

IMAGE_KINDS = ("photo", "logo")


def sniff_image(data: bytes) -> str | None:
    """The image media type of ``data`` by its magic bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"BM"):
        return "image/bmp"
    if data[4:12] in (b"ftypavif", b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "image/avif" if data[8:12] == b"avif" else "image/heic"
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:2048].lower():
        return "image/svg+xml"
    return None


def _media(card: dict[str, Any]) -> dict[str, Any]:
    media = card.get("media")
    return media if isinstance(media, dict) else {}


def media_blob_ids(card: dict[str, Any]) -> list[str]:
    return [m["blobId"] for m in _media(card).values() if isinstance(m, dict) and isinstance(m.get("blobId"), str)]


def check_media(ctx: Any, account_id: str, card: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """(bad paths, the card as the JSContact validator should see it).

    A Media with a ``blobId`` gets a stand-in ``uri`` for validation only
    (JSContact requires one); the blob must be visible to the account (to a
    sharee: opened to them) and, for a photo or logo, be an image.
    """
    bad: list[str] = []
    media = _media(card)
    if not media:
        return bad, card
    shown = dict(media)
    # a sharee may name only a blob opened to them: else a card of theirs
    # would open any blob of the account whose id they had learnt
    account = ctx.principal.accounts.get(account_id)
    sharee = account is not None and account.level == "shared"
    for media_id, item in media.items():
        if not isinstance(item, dict):
            continue
        path = f"media/{media_id}"
        if "blobId" in item:
            blob_id = item["blobId"]
            if not is_id(blob_id) or not ctx.services.blobs.visible(account_id, blob_id) \
                    or (sharee and ctx.services.hooks.shared_blob(ctx, account_id, blob_id) is None):
                bad.append(f"{path}/blobId")
                continue
            if item.get("kind") in IMAGE_KINDS:
                data = ctx.services.blobs.get(account_id, blob_id) or b""
                if sniff_image(data) is None:
                    bad.append(f"{path}/blobId")
            shown[media_id] = {k: v for k, v in item.items() if k != "blobId"}
            shown[media_id].setdefault("uri", f"blob:{blob_id}")
        elif item.get("kind") in IMAGE_KINDS and isinstance(item.get("uri"), str) \
                and item["uri"].startswith("data:"):
            decoded = decode_data_uri(item["uri"])
            if decoded is None or sniff_image(decoded[1]) is None:
                bad.append(f"{path}/uri")
    return bad, {**card, "media": shown}


def decode_data_uri(uri: str) -> tuple[str, bytes] | None:
    """(media type, bytes) of an RFC 2397 ``data:`` URI, None if malformed."""
    head, sep, body = uri[5:].partition(",")
    if not sep:
        return None
    parts = head.split(";")
    media_type = parts[0] or "text/plain"
    try:
        if parts[-1].lower() == "base64":
            return media_type, base64.b64decode(urllib.parse.unquote(body), validate=True)
        return media_type, urllib.parse.unquote_to_bytes(body)
    except (binascii.Error, ValueError):
        return None


def inline_data_uris(ctx: Any, account_id: str, card: dict[str, Any]) -> bool:
    """Store every ``data:`` Media as a blob; True if the card changed."""
    changed = False
    for item in _media(card).values():
        if not isinstance(item, dict) or "blobId" in item:
            continue
        uri = item.get("uri")
        if not isinstance(uri, str) or not uri.startswith("data:"):
            continue
        decoded = decode_data_uri(uri)
        if decoded is None:
            continue
        declared, data = decoded
        media_type = sniff_image(data) or declared
        item["blobId"] = ctx.services.blobs.put(account_id, data, media_type)
        item.setdefault("mediaType", media_type)
        del item["uri"]
        changed = True
    return changed
