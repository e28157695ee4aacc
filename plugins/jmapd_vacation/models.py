"""When each sender last got an auto-reply, per account (RFC 3834 §2)."""

from __future__ import annotations

import peewee as pw

from jmapd.db import BaseModel


class ReplyLog(BaseModel):
    account_id = pw.CharField(max_length=64)
    #: Envelope sender, domain lower-cased (local parts are case-sensitive).
    sender = pw.CharField(max_length=320)
    replied_at = pw.DateTimeField()

    class Meta:
        table_name = "vacation_reply_log"
        primary_key = pw.CompositeKey("account_id", "sender")
