"""Reports that arrive for this account's submissions (the delivery
plugin's ``jmapd_message_delivered``): a DSN or MDN is linked to its
EmailSubmission (``dsnBlobIds``/``mdnBlobIds``, ``deliveryStatus``)."""

from __future__ import annotations

import logging
from typing import Any

from .domain.dsn import read

log = logging.getLogger("jmapd.mdn")


def link_report(services: Any, account_id: str, email_id: str, raw: bytes) -> str | None:
    """The EmailSubmission the delivered report was linked to, or None."""
    if not services.pm.has_plugin("submission"):
        return None
    outcome = read(raw)
    if outcome is None:
        return None
    from jmapd_mail.api import email_blob_id, emails_with_message_id
    from jmapd_submission.api import record_report

    blob_id = email_blob_id(account_id, email_id)
    if blob_id is None:
        return None
    email_ids = emails_with_message_id(account_id, outcome.message_id) if outcome.message_id else []
    linked = None
    if outcome.envelope_id:  # jmapd sends the EmailSubmission id as ENVID
        linked = record_report(services, account_id, outcome.kind, blob_id, submission_id=outcome.envelope_id,
                               statuses=outcome.statuses)
    if linked is None and email_ids:
        linked = record_report(services, account_id, outcome.kind, blob_id, email_ids=email_ids,
                               statuses=outcome.statuses)
    if linked is not None:
        log.info("%s %s linked to EmailSubmission %s of %s", outcome.kind.upper(), email_id, linked, account_id)
    return linked
