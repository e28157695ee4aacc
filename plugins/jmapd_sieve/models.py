"""What went wrong when a script ran at delivery, per account (RFC 5228
§2.10.6: the message was kept, the error is for the user to see)."""

from __future__ import annotations

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
