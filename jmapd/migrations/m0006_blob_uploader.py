"""Sharees upload into the accounts they share objects in: who uploaded what.

A sharee of single objects may now upload into the owner's account (when a
right its type declares, e.g. mayAddItems on a Mailbox, lets them) and read
their own uploads there, nobody else's. The models are frozen here as they
are in this revision (the Principal only as far as the foreign key needs it).
"""

import datetime
from typing import Any

import peewee as pw


class PrincipalRecord(pw.Model):
    id = pw.CharField(max_length=64, primary_key=True)

    class Meta:
        table_name = "jmap_principal"


class BlobUploader(pw.Model):
    account_id = pw.CharField(max_length=64)
    blob_id = pw.CharField(max_length=80)
    principal = pw.ForeignKeyField(PrincipalRecord, on_delete="CASCADE")
    created = pw.DateTimeField(default=datetime.datetime.now)

    class Meta:
        table_name = "jmap_blob_uploader"
        primary_key = pw.CompositeKey("account_id", "blob_id", "principal")


def up(db: Any) -> None:
    with db.bind_ctx([PrincipalRecord, BlobUploader]):
        db.create_tables([BlobUploader], safe=True)


def down(db: Any) -> None:
    with db.bind_ctx([PrincipalRecord, BlobUploader]):
        db.drop_tables([BlobUploader], safe=True)
