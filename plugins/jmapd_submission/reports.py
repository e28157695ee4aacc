"""Delivery reports that come back for a submission (RFC 8621 §7):
``dsnBlobIds``/``mdnBlobIds`` and ``deliveryStatus`` updated from a received
DSN (RFC 3464) or MDN (RFC 8098). Reading the reports is the mdn plugin's;
this module only finds the EmailSubmission and records what they said."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jmapd.db import write_transaction
from jmapd.models import Document
from jmapd.state import UPDATED, ChangeLog

LISTS = {"dsn": "dsnBlobIds", "mdn": "mdnBlobIds"}


def record_report(
    services: Any,
    account_id: str,
    kind: str,
    blob_id: str,
    *,
    submission_id: str | None = None,
    email_ids: Iterable[str] = (),
    statuses: Mapping[str, Mapping[str, str]] | None = None,
) -> str | None:
    """Add a report to its EmailSubmission; returns the submission id, or
    None when the account has none it belongs to.

    :param kind: ``dsn`` or ``mdn``.
    :param submission_id: the DSN's ENVID (jmapd sends the submission id as ENVID).
    :param email_ids: the Emails whose Message-ID the report names, when
        there is no ENVID; the newest submission of one of them is chosen.
    :param statuses: recipient address → DeliveryStatus members to set
        (``delivered``, ``displayed``); recipients the submission does not
        have are ignored.
    """
    field = LISTS[kind]
    wanted = set(email_ids)
    changes = ChangeLog()
    with write_transaction(account_id):
        rows = Document.select(Document.id, Document.object_id, Document.data).where(
            (Document.account_id == account_id) & (Document.type_name == "EmailSubmission")
        ).order_by(Document.id.desc())
        found = None
        for row in rows:
            data = dict(row.data)
            if (submission_id is not None and row.object_id == submission_id) or \
                    (submission_id is None and data.get("emailId") in wanted):
                found = (row, data)
                break
        if found is None:
            return None
        row, data = found
        blobs = list(data.get(field) or [])
        if blob_id not in blobs:
            blobs.append(blob_id)
        data[field] = blobs
        status = {k: dict(v) for k, v in (data.get("deliveryStatus") or {}).items()}
        by_lower = {k.lower(): k for k in status}
        for address, values in (statuses or {}).items():
            key = by_lower.get(address.lower())
            if key is not None:
                status[key].update(values)
        data["deliveryStatus"] = status
        Document.update(data=data).where(Document.id == row.id).execute()
        changes.record(account_id, "EmailSubmission", str(row.object_id), UPDATED, [field, "deliveryStatus"])
        changes.flush()
    services.changes_committed(changes.committed)
    return str(row.object_id)
