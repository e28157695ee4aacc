"""The durable outbound queue: one row per message still to relay.

The queue keeps its own copy of the bytes (Bcc already stripped) and of
the envelope, so destroying the Email or the EmailSubmission never
changes what is sent (RFC 8621 §7), and a restart loses nothing: every
worker, in any process, finds due rows in the database.
"""

from __future__ import annotations

import peewee as pw

from jmapd.db import BaseModel, BlobField, JSONField
from jmapd.models import now

QUEUED, SENDING, DONE, CANCELED = "queued", "sending", "done", "canceled"


class QueueItem(BaseModel):
    #: Peewee adds this AutoField itself; declared so type checkers see it.
    id = pw.AutoField()
    account_id = pw.CharField(max_length=64)
    #: The EmailSubmission whose status this row updates (null: an auto-reply).
    submission_id = pw.CharField(max_length=255, null=True)
    kind = pw.CharField(max_length=16, default="submission")
    state = pw.CharField(max_length=16, default=QUEUED)
    due = pw.DateTimeField()
    created = pw.DateTimeField(default=now)
    first_attempt = pw.DateTimeField(null=True)
    attempts = pw.IntegerField(default=0)
    mail_from = pw.TextField()
    mail_params = JSONField(null=True)
    #: Recipients still to deliver: [{"email": ..., "parameters": ..., "local": true?}];
    #: a ``local`` one is delivered into its account here, the rest relayed.
    rcpt_to = JSONField()
    #: Whether any recipient is remote: a worker without a relay claims only rows without.
    needs_relay = pw.BooleanField(default=True)
    #: Results of local deliveries already made: [{"email", "code", "reply", "outcome"}],
    #: written in the delivery's own transaction (see queue.QueueWorker.deliver_local).
    local_results = JSONField(null=True)
    message = BlobField()
    claimed_by = pw.CharField(max_length=64, null=True)
    claimed_at = pw.DateTimeField(null=True)
    last_reply = pw.TextField(null=True)
    #: When the row became final (done or canceled); the worker prunes it
    #: ``finished_retention`` seconds later.
    finished_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "submission_queue"
        indexes = (
            (("state", "due"), False),
            (("account_id", "submission_id"), False),
        )
