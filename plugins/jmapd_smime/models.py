"""The status at delivery of each S/MIME message (tables prefixed smime_)."""

from __future__ import annotations

import peewee as pw

from jmapd.db import BaseModel


class SmimeEmail(BaseModel):
    """One row per Email whose smimeStatus is not null, written once when it is
    stored: ``status_at_delivery`` is RFC 9219's immutable smimeStatusAtDelivery.
    An Email without a row has no S/MIME structure (or predates the plugin)."""

    email_id = pw.CharField(max_length=64, primary_key=True)
    account_id = pw.CharField(max_length=64)
    status_at_delivery = pw.CharField(max_length=64)
    recorded_at = pw.DateTimeField()

    class Meta:
        table_name = "smime_email"
        indexes = ((("account_id", "status_at_delivery"), False),)


MODELS = (SmimeEmail,)
