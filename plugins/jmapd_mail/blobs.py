"""Blob ids of MIME parts: derived, not stored, resolvable by jmapd_resolve_blob.

A part's blobId names the message's content blob and the part, so two
copies of one message share part blob ids, and the bytes are cut from the
stored raw message using the offsets recorded at parse time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .domain.parse import ParsedMessage
from .models import Email

if TYPE_CHECKING:
    from jmapd.services import Services

PART_RE = re.compile(r"^P([0-9a-f]{64})_([0-9][0-9-]{0,200})$")


def part_blob_id(message_blob_id: str) -> Callable[[str], str]:
    """A function partId → blobId for one message."""
    digest = message_blob_id[1:]
    return lambda part_id: f"P{digest}_{part_id.replace('.', '-')}"


def split_part_blob_id(blob_id: str) -> tuple[str, str] | None:
    """(message blobId, partId) for a part blob id, else None."""
    m = PART_RE.match(blob_id or "")
    if not m:
        return None
    return "B" + m.group(1), m.group(2).replace("-", ".")


def resolve_part(services: Any, account_id: str, blob_id: str) -> bytes | None:
    """The decoded bytes of a part of an Email in ``account_id``, or None."""
    split = split_part_blob_id(blob_id)
    if split is None:
        return None
    message_blob, part_id = split
    row = (
        Email.select(Email.parsed)
        .where((Email.account_id == account_id) & (Email.blob_id == message_blob))
        .first()
    )
    if row is None:
        return None
    raw = services.blobs.read(message_blob)
    if raw is None:
        return None
    parsed = ParsedMessage.from_json(row.parsed, raw=raw)
    try:
        return parsed.part_bytes(part_id)
    except KeyError:
        return None


def read_any_blob(services: Services, account_id: str, blob_id: str) -> bytes | None:
    """An uploaded/stored blob or a derived part blob visible to the account."""
    if not isinstance(blob_id, str):
        return None
    data = services.blobs.get(account_id, blob_id)
    if data is None:
        data = services.hooks.resolve_blob(services, account_id, blob_id)
    return data
