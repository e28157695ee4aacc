"""Uploads count toward the storage quota until an Email keeps them (#11).

The model is frozen here as it is in this revision.
"""

import datetime
from typing import Any

import peewee as pw


class UploadCharge(pw.Model):
    account_id = pw.CharField(max_length=64)
    blob_id = pw.CharField(max_length=80)
    octets = pw.BigIntegerField()
    created = pw.DateTimeField(default=datetime.datetime.now)

    class Meta:
        table_name = "jmap_upload_charge"
        primary_key = pw.CompositeKey("account_id", "blob_id")


def up(db: Any) -> None:
    with db.bind_ctx([UploadCharge]):
        db.create_tables([UploadCharge], safe=True)


def down(db: Any) -> None:
    with db.bind_ctx([UploadCharge]):
        db.drop_tables([UploadCharge], safe=True)
