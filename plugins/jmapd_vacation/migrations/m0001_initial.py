"""The auto-reply log (model frozen here, not imported)."""

from typing import Any

import peewee as pw

from jmapd.db import BaseModel


class ReplyLog(BaseModel):
    account_id = pw.CharField(max_length=64)
    sender = pw.CharField(max_length=320)
    replied_at = pw.DateTimeField()

    class Meta:
        table_name = "vacation_reply_log"
        primary_key = pw.CompositeKey("account_id", "sender")


def up(db: Any) -> None:
    with db.bind_ctx([ReplyLog]):
        db.create_tables([ReplyLog], safe=True)


def down(db: Any) -> None:
    with db.bind_ctx([ReplyLog]):
        db.drop_tables([ReplyLog], safe=True)
