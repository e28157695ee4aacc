"""Tables of the events plugin: push subscriptions (prefixed ``events_``).

A PushSubscription belongs to a user, not to an account (RFC 8620 §7.2),
so it references ``jmap_user`` and is dropped with it. It is also tied to the
credential that created it: a bearer token (``token``, so revoking the token
deletes the subscription in the same statement) or the user's password as it
was then (``credential`` ``basic:<fingerprint>``; a new password orphans it).
"""

from __future__ import annotations

import peewee as pw

from jmapd.db import BaseModel, JSONField
from jmapd.models import Token, User, now


class PushSubscription(BaseModel):
    id = pw.CharField(max_length=64, primary_key=True)
    user = pw.ForeignKeyField(User, on_delete="CASCADE", backref="push_subscriptions")
    user_id: int  # Peewee's accessor for the foreign key's column
    #: ``token:<jmap_token id>``, ``basic:<sha256 of the password hash>``, or
    #: ``user`` when a plugin authenticated the request (see pushsub.Credential).
    credential = pw.CharField(max_length=100)
    token = pw.ForeignKeyField(Token, null=True, on_delete="CASCADE", backref="+")
    device_client_id = pw.CharField(max_length=255)
    url = pw.TextField()
    #: RFC 8291 keys, or null for unencrypted pushes.
    p256dh = pw.TextField(null=True)
    auth = pw.TextField(null=True)
    #: The code sent in the PushVerification; the client must echo it.
    expected_code = pw.CharField(max_length=64)
    #: The code the client set (null until then); only it is ever returned.
    verification_code = pw.CharField(max_length=64, null=True)
    verified = pw.BooleanField(default=False)
    expires = pw.DateTimeField()
    types = JSONField(null=True)
    created = pw.DateTimeField(default=now)

    class Meta:
        table_name = "events_push_subscription"
        indexes = (
            (("user", "credential", "device_client_id"), True),
            (("expires",), False),
            (("token",), False),
        )


MODELS = [PushSubscription]
