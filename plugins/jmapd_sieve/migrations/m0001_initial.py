"""The run-error log (model frozen here, not imported)."""

from typing import Any

import peewee as pw

from jmapd.db import BaseModel


class RunError(BaseModel):
    id = pw.AutoField()
    account_id = pw.CharField(max_length=64, index=True)
    script_id = pw.CharField(max_length=64)
    email_id = pw.CharField(max_length=64, null=True)
    error = pw.TextField()
    at = pw.DateTimeField()

    class Meta:
        table_name = "sieve_run_error"


def up(db: Any) -> None:
    with db.bind_ctx([RunError]):
        db.create_tables([RunError], safe=True)


def down(db: Any) -> None:
    with db.bind_ctx([RunError]):
        db.drop_tables([RunError], safe=True)
