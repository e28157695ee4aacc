"""The core's tables: principals, accounts, state and change log, blobs.

Plugin tables live in their plugins; the core only knows these.
"""

from __future__ import annotations

import datetime
import secrets

import peewee as pw

from .db import BaseModel, BlobField, JSONField


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def new_id(prefix: str = "") -> str:
    """An opaque JMAP Id: URL-safe, never starting with a dash or digit."""
    return (prefix or "x") + secrets.token_urlsafe(9).replace("-", "A").replace("_", "B")


class User(BaseModel):
    #: Peewee adds this AutoField itself; declared so type checkers see it.
    id = pw.AutoField()
    name = pw.CharField(max_length=255, unique=True)
    password_hash = pw.TextField(null=True)
    created = pw.DateTimeField(default=now)
    disabled = pw.BooleanField(default=False)

    class Meta:
        table_name = "jmap_user"


class Token(BaseModel):
    """An app password / bearer token; only its SHA-256 is stored."""

    #: Peewee adds this AutoField itself; declared so type checkers see it.
    id = pw.AutoField()
    user = pw.ForeignKeyField(User, on_delete="CASCADE", backref="tokens")
    name = pw.CharField(max_length=255)
    token_hash = pw.CharField(max_length=64, unique=True)
    created = pw.DateTimeField(default=now)
    expires = pw.DateTimeField(null=True)
    scope = pw.CharField(max_length=64, default="api")

    class Meta:
        table_name = "jmap_token"


class Account(BaseModel):
    id = pw.CharField(max_length=64, primary_key=True)
    name = pw.CharField(max_length=255)
    owner = pw.ForeignKeyField(User, on_delete="CASCADE", backref="accounts")
    owner_id: int  # Peewee's accessor for the foreign key's column
    is_personal = pw.BooleanField(default=True)
    modseq = pw.BigIntegerField(default=0)

    class Meta:
        table_name = "jmap_account"


class AccountAccess(BaseModel):
    """Access of a user to an account they do not own (sharing)."""

    #: Peewee adds this AutoField itself; declared so type checkers see it.
    id = pw.AutoField()
    account = pw.ForeignKeyField(Account, on_delete="CASCADE")
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    read_only = pw.BooleanField(default=False)
    #: A delegate who may also send as the owner (``jmapd share grant --rights submit``).
    may_submit = pw.BooleanField(default=False)

    class Meta:
        table_name = "jmap_account_access"
        indexes = ((("account", "user"), True),)


class TypeState(BaseModel):
    """Per account and data type: the newest change and the oldest kept."""

    account_id = pw.CharField(max_length=64)
    type_name = pw.CharField(max_length=64)
    modseq = pw.BigIntegerField(default=0)
    low_modseq = pw.BigIntegerField(default=0)

    class Meta:
        table_name = "jmap_type_state"
        primary_key = pw.CompositeKey("account_id", "type_name")


class Change(BaseModel):
    """One change to one object; ``props`` names the only properties touched."""

    #: Peewee adds this AutoField itself; declared so type checkers see it.
    id = pw.AutoField()
    account_id = pw.CharField(max_length=64)
    type_name = pw.CharField(max_length=64)
    modseq = pw.BigIntegerField()
    object_id = pw.CharField(max_length=255)
    kind = pw.SmallIntegerField()  # 0 created, 1 updated, 2 destroyed
    props = JSONField(null=True)
    created = pw.DateTimeField(default=now)

    class Meta:
        table_name = "jmap_change"
        indexes = ((("account_id", "type_name", "modseq"), False),)


class Blob(BaseModel):
    """Content-addressed bytes: one row per distinct content."""

    id = pw.CharField(max_length=80, primary_key=True)
    size = pw.BigIntegerField()
    created = pw.DateTimeField(default=now)

    class Meta:
        table_name = "jmap_blob"


class BlobData(BaseModel):
    """Bytes of the database blob store (multi-host deployments)."""

    blob_id = pw.CharField(max_length=80, primary_key=True)
    data = BlobField()

    class Meta:
        table_name = "jmap_blob_data"


class AccountBlob(BaseModel):
    """A blob visible to an account: uploaded there or stored by an object."""

    account_id = pw.CharField(max_length=64)
    blob_id = pw.CharField(max_length=80)
    type = pw.CharField(max_length=255, default="application/octet-stream")
    created = pw.DateTimeField(default=now)

    class Meta:
        table_name = "jmap_account_blob"
        primary_key = pw.CompositeKey("account_id", "blob_id")


class BlobRef(BaseModel):
    """An object that keeps a blob alive (and answers Blob/lookup)."""

    #: Peewee adds this AutoField itself; declared so type checkers see it.
    id = pw.AutoField()
    account_id = pw.CharField(max_length=64)
    blob_id = pw.CharField(max_length=80)
    type_name = pw.CharField(max_length=64)
    object_id = pw.CharField(max_length=255)

    class Meta:
        table_name = "jmap_blob_ref"
        indexes = (
            (("account_id", "blob_id"), False),
            (("account_id", "type_name", "object_id"), False),
        )


class Document(BaseModel):
    """Objects of plugin types that need no tables of their own (JSON documents)."""

    #: Peewee adds this AutoField itself; declared so type checkers see it.
    id = pw.AutoField()
    account_id = pw.CharField(max_length=64)
    type_name = pw.CharField(max_length=64)
    object_id = pw.CharField(max_length=255)
    data = JSONField()
    created = pw.DateTimeField(default=now)

    class Meta:
        table_name = "jmap_document"
        indexes = ((("account_id", "type_name", "object_id"), True),)


class PrincipalRecord(BaseModel):
    """An RFC 9670 Principal: one per user, plus operator-made groups and resources."""

    id = pw.CharField(max_length=64, primary_key=True)
    type = pw.CharField(max_length=16, default="individual")
    name = pw.CharField(max_length=255)
    description = pw.TextField(null=True)
    email = pw.CharField(max_length=255, null=True)
    time_zone = pw.CharField(max_length=64, null=True)
    user = pw.ForeignKeyField(User, on_delete="CASCADE", null=True, unique=True)
    user_id: int | None  # Peewee's accessor for the foreign key's column
    created = pw.DateTimeField(default=now)

    class Meta:
        table_name = "jmap_principal"


class GroupMember(BaseModel):
    """A member of a group Principal; sharing with the group reaches them."""

    group = pw.ForeignKeyField(PrincipalRecord, on_delete="CASCADE", backref="members")
    member = pw.ForeignKeyField(PrincipalRecord, on_delete="CASCADE")

    class Meta:
        table_name = "jmap_group_member"
        primary_key = pw.CompositeKey("group", "member")


class ShareGrant(BaseModel):
    """Rights of a Principal on one object of a shareable type (its ``shareWith`` entry)."""

    #: Peewee adds this AutoField itself; declared so type checkers see it.
    id = pw.AutoField()
    account_id = pw.CharField(max_length=64)
    type_name = pw.CharField(max_length=64)
    object_id = pw.CharField(max_length=255)
    principal = pw.ForeignKeyField(PrincipalRecord, on_delete="CASCADE")
    rights = JSONField()

    class Meta:
        table_name = "jmap_share_grant"
        indexes = (
            (("account_id", "type_name", "object_id", "principal"), True),
            (("principal", "account_id"), False),
        )


class PerUserValue(BaseModel):
    """Properties a shareable type keeps per sharee (``isSubscribed``)."""

    #: Peewee adds this AutoField itself; declared so type checkers see it.
    id = pw.AutoField()
    account_id = pw.CharField(max_length=64)
    type_name = pw.CharField(max_length=64)
    object_id = pw.CharField(max_length=255)
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    data = JSONField()

    class Meta:
        table_name = "jmap_per_user_value"
        indexes = ((("account_id", "type_name", "user", "object_id"), True),)


SHARING_MODELS = [PrincipalRecord, GroupMember, ShareGrant, PerUserValue]


class QuotaUsage(BaseModel):
    """What an account's objects of one type use (RFC 9425 ``used``), kept
    exact by charging in the transaction that writes the objects."""

    account_id = pw.CharField(max_length=64)
    type_name = pw.CharField(max_length=64)
    count = pw.BigIntegerField(default=0)
    octets = pw.BigIntegerField(default=0)

    class Meta:
        table_name = "jmap_quota_usage"
        primary_key = pw.CompositeKey("account_id", "type_name")


class QuotaLimit(BaseModel):
    """An operator's limit for one account (``jmapd quota set``), over the config defaults.

    ``type_name`` is empty for the storage (octets) limit, else the type counted.
    """

    account_id = pw.CharField(max_length=64)
    resource = pw.CharField(max_length=16)
    type_name = pw.CharField(max_length=64, default="")
    hard_limit = pw.BigIntegerField()

    class Meta:
        table_name = "jmap_quota_limit"
        primary_key = pw.CompositeKey("account_id", "resource", "type_name")


class UploadCharge(BaseModel):
    """An upload charged to its account's storage until an Email keeps its
    octets (and is charged for them instead) or ``jmapd gc`` expires it."""

    account_id = pw.CharField(max_length=64)
    blob_id = pw.CharField(max_length=80)
    octets = pw.BigIntegerField()
    created = pw.DateTimeField(default=now)

    class Meta:
        table_name = "jmap_upload_charge"
        primary_key = pw.CompositeKey("account_id", "blob_id")


class BlobUploader(BaseModel):
    """A sharee who uploaded a blob into another user's account.

    A sharee of single objects reads no blob of the account but those an
    object they may read opens (``jmapd_shared_blob``); this row also opens
    the blobs they uploaded there themselves, to them alone: the bytes are
    shared by content, the right to read them is not (another sharee, who
    uploaded nothing, must not read the first one's file). The owner and
    delegates read every blob of the account and need no row. ``jmapd gc``
    forgets it with the upload (``blobs.unreferenced_ttl``).
    """

    account_id = pw.CharField(max_length=64)
    blob_id = pw.CharField(max_length=80)
    principal = pw.ForeignKeyField(PrincipalRecord, on_delete="CASCADE")
    created = pw.DateTimeField(default=now)

    class Meta:
        table_name = "jmap_blob_uploader"
        primary_key = pw.CompositeKey("account_id", "blob_id", "principal")


QUOTA_MODELS = [QuotaUsage, QuotaLimit]


class LoginFailure(BaseModel):
    """Failed logins per throttle key (``user:NAME``, ``ip:ADDR``, ``net:V6/64``).

    In the database, not in a worker, so every gunicorn worker on every host
    counts against one budget: N workers must not give a guesser N times the
    guesses. Times are Unix seconds (wall clock: it is compared across hosts).
    """

    key = pw.CharField(max_length=255, primary_key=True)
    failures = pw.IntegerField(default=0)
    #: Start of the fixed window ``failures`` counts in.
    window_start = pw.DoubleField()
    #: Every attempt for this key is refused before the hash until then.
    locked_until = pw.DoubleField(default=0.0)

    class Meta:
        table_name = "jmap_login_failure"


CORE_MODELS = [
    User, Token, Account, AccountAccess, TypeState, Change, Blob, BlobData, AccountBlob, BlobRef, Document,
    *SHARING_MODELS, *QUOTA_MODELS, LoginFailure, UploadCharge, BlobUploader,
]
