"""Which blobs a sharee of single Mailboxes may read (``jmapd_shared_blob``).

A sharee reads the Emails in Mailboxes where they have ``mayReadItems``
(RFC 8621 §2), so they may read what such an Email is and holds: its raw
message (``blobId``) and every part of it (the part blob ids of its
``bodyStructure``, derived from the message's blob id). Nothing else of the
account opens: the blob of an Email only in Mailboxes they cannot read
stays ``notFound`` (404), and so does an upload of the owner's. Rights are
read per call, so a revoked share closes the blob at once.

The answer mirrors the owner's Blob/lookup: the raw message names the
Emails that reference it (only those the sharee can read); a part blob is
derived, referenced by no object in the owner's answer either, so it opens
with empty lists.
"""

from __future__ import annotations

from typing import Any

from jmapd.db import tuples

from .blobs import split_part_blob_id
from .domain.parse import ParsedMessage
from .models import Email
from .rights import readable, readable_exists

EMAIL = "Email"


def shared_blob(ctx: Any, account_id: str, blob_id: str) -> dict[str, list[str]] | None:
    mailboxes = readable(ctx, account_id)
    split = split_part_blob_id(blob_id)
    message = split[0] if split else blob_id
    # (account_id, blob_id) is indexed and readable_exists probes the
    # membership primary key per row: no walk over the account's Emails
    query = Email.select(Email.id, Email.parsed).where((Email.account_id == account_id) & (Email.blob_id == message))
    if mailboxes is not None:
        query = query.where(readable_exists(Email.id, mailboxes))
    rows = list(tuples(query))
    if split:
        # a part the message does not have opens nothing, as for the owner
        return {} if rows and _has_part(rows[0][1], split[1]) else None
    return {EMAIL: sorted(r[0] for r in rows)} if rows else None


def _has_part(parsed: dict[str, Any], part_id: str) -> bool:
    try:
        ParsedMessage.from_json(parsed).part(part_id)
    except KeyError:
        return False
    return True
