"""The status-at-delivery table (model frozen here, not imported)."""

from typing import Any

import peewee as pw

from jmapd.db import BaseModel


class SmimeEmail(BaseModel):
    email_id = pw.CharField(max_length=64, primary_key=True)
    account_id = pw.CharField(max_length=64)
    status_at_delivery = pw.CharField(max_length=64)
    recorded_at = pw.DateTimeField()

    class Meta:
        table_name = "smime_email"
        indexes = ((("account_id", "status_at_delivery"), False),)


def up(db: Any) -> None:
    with db.bind_ctx([SmimeEmail]):
        db.create_tables([SmimeEmail], safe=True)


def down(db: Any) -> None:
    with db.bind_ctx([SmimeEmail]):
        db.drop_tables([SmimeEmail], safe=True)
