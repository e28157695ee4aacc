"""The outbound queue table (model frozen here, not imported)."""

from typing import Any

import peewee as pw

from jmapd.db import BaseModel, BlobField, JSONField


class QueueItem(BaseModel):
    account_id = pw.CharField(max_length=64)
    submission_id = pw.CharField(max_length=255, null=True)
    kind = pw.CharField(max_length=16, default="submission")
    state = pw.CharField(max_length=16, default="queued")
    due = pw.DateTimeField()
    created = pw.DateTimeField()
    first_attempt = pw.DateTimeField(null=True)
    attempts = pw.IntegerField(default=0)
    mail_from = pw.TextField()
    mail_params = JSONField(null=True)
    rcpt_to = JSONField()
    message = BlobField()
    claimed_by = pw.CharField(max_length=64, null=True)
    claimed_at = pw.DateTimeField(null=True)
    last_reply = pw.TextField(null=True)

    class Meta:
        table_name = "submission_queue"
        indexes = (
            (("state", "due"), False),
            (("account_id", "submission_id"), False),
        )


def up(db: Any) -> None:
    with db.bind_ctx([QueueItem]):
        db.create_tables([QueueItem], safe=True)


def down(db: Any) -> None:
    with db.bind_ctx([QueueItem]):
        db.drop_tables([QueueItem], safe=True)
