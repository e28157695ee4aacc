"""PushSubscription/get and /set (RFC 8620 §7.2).

PushSubscription is not per account (no ``accountId``; it belongs to the
user), so the methods are written here rather than derived by the
standard-method engine. Delivery of what they create is in
:mod:`jmapd_events.pushdelivery`.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from jmapd.db import database
from jmapd.methods.standard.args import check_args
from jmapd.models import Token, User, new_id, now
from jmapd.protocol.errors import MethodError, PropertyProblems, SetError, invalid_properties

from .config import EventsConfig
from .domain.ssrf import PushURLRejected, SSRFPolicy, check_push_url
from .domain.statechange import (
    new_verification_code,
    verification_code_matches,
)
from .domain.webpush import WebPushError, encrypt
from .models import PushSubscription

log = logging.getLogger("jmapd.events.push")

DEFAULT_PROPERTIES = ["id", "deviceClientId", "verificationCode", "expires", "types"]
PRIVATE_PROPERTIES = {"url", "keys"}
ALL_PROPERTIES = set(DEFAULT_PROPERTIES) | PRIVATE_PROPERTIES
UPDATABLE = {"verificationCode", "expires", "types"}


# -- dates ---------------------------------------------------------------------
def utc_date(value: datetime.datetime) -> str:
    return value.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc_date(value: Any) -> datetime.datetime | None:
    """A naive UTC datetime from a JMAP UTCDate, or None if it is not one."""
    if not isinstance(value, str) or not value.endswith("Z") or "T" not in value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        return None
    return parsed.astimezone(datetime.UTC).replace(tzinfo=None)


def clamp_expires(
    requested: datetime.datetime | None,
    max_days: int,
    session_expires: datetime.datetime | None = None,
) -> datetime.datetime:
    """The expiry rules of RFC 8620 §7.2.

    Credentials that never expire (passwords, tokens without expiry): at most
    ``max_days`` ahead, and the limit itself when the client gave none.
    Credentials with an expiry of their own: the client's time is not bounded
    by ``max_days``, but the subscription expires with the credential.
    """
    if session_expires is not None:
        limit = session_expires.replace(microsecond=0)
    else:
        limit = now().replace(microsecond=0) + datetime.timedelta(days=max_days)
    if requested is None or requested > limit:
        return limit
    return requested.replace(microsecond=0)


# -- credentials ---------------------------------------------------------------
def password_fingerprint(password_hash: str | None) -> str:
    """Names the user's password as it is now: the argon2 hash has a fresh salt
    each time the password is set, so a new password gives a new fingerprint."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()


@dataclass(frozen=True)
class Credential:
    """The credential a request authenticated with, as subscriptions record it.

    RFC 8620 §7.2: a subscription is tied to the credential that created it;
    only subscriptions created with the caller's credential are returned, and
    the subscription is destroyed when that credential expires or is revoked.
    """

    key: str
    token_id: int | None = None
    expires: datetime.datetime | None = None


def caller_credential(ctx: Any) -> Credential:
    principal = ctx.principal
    named = getattr(principal, "credential", None)
    if isinstance(named, str) and named.startswith("token:"):
        row = Token.get_or_none(Token.token_hash == named[len("token:") :])
        if row is None:  # revoked while this request was running
            raise MethodError("forbidden", "the credential of this request was revoked")
        return Credential(f"token:{row.id}", row.id, row.expires)
    if named == "basic":
        user = User.get_by_id(principal.user_id)
        return Credential("basic:" + password_fingerprint(user.password_hash))
    # Authenticated by a plugin whose credential the core cannot name.
    return Credential("user")


def ssrf_policy(section: Any) -> SSRFPolicy:
    """The SSRF rules of the ``events`` section, for creation and delivery."""
    return SSRFPolicy(allow_http=section.allow_http, allow_list=tuple(section.push_allow))


# -- PushSubscription/get --------------------------------------------------------
def _to_json(row: PushSubscription, properties: list[str]) -> dict[str, Any]:
    values = {
        "id": row.id,
        "deviceClientId": row.device_client_id,
        # Only the code the client itself set: echoing the expected code would
        # let a client skip receiving the verification push.
        "verificationCode": row.verification_code,
        "expires": utc_date(row.expires),
        "types": row.types,
    }
    return {p: values[p] for p in properties}


def push_get(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /get without accountId or state; url and keys are never returned."""
    args = check_args(args, {"ids": ("Id[]", False), "properties": ("String[]", False)}, {})
    properties = args.get("properties")
    if properties is None:
        properties = list(DEFAULT_PROPERTIES)
    else:
        if PRIVATE_PROPERTIES & set(properties):
            raise MethodError("forbidden", "url and keys are never returned")
        unknown = [p for p in properties if p not in ALL_PROPERTIES]
        if unknown:
            raise MethodError("invalidArguments", f"unknown property: {unknown[0]}")
        properties = ["id", *[p for p in dict.fromkeys(properties) if p != "id"]]
    ids = args.get("ids")
    limit = ctx.config.limits.max_objects_in_get
    if ids is not None and len(ids) > limit:
        raise MethodError("requestTooLarge", f"at most {limit} objects per /get")
    credential = caller_credential(ctx)
    query = PushSubscription.select().where(
        (PushSubscription.user == ctx.principal.user_id)
        & (PushSubscription.credential == credential.key)
    )
    if ids is not None:
        query = query.where(PushSubscription.id.in_(list(dict.fromkeys(ids))))
    rows = {row.id: row for row in query.order_by(PushSubscription.created)}
    if ids is None:
        return {"list": [_to_json(r, properties) for r in rows.values()], "notFound": []}
    found = [_to_json(rows[i], properties) for i in dict.fromkeys(ids) if i in rows]
    return {"list": found, "notFound": [i for i in dict.fromkeys(ids) if i not in rows]}


# -- PushSubscription/set --------------------------------------------------------
def _check_types(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise invalid_properties("types", description="types must be null or a list of type names")
    return list(dict.fromkeys(value))


def _check_keys(value: Any) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict) or set(value) != {"p256dh", "auth"}:
        raise invalid_properties("keys", description="keys must be null or {p256dh, auth}")
    if not all(isinstance(v, str) for v in value.values()):
        raise invalid_properties("keys", description="keys values must be base64url strings")
    try:  # a trial encryption validates both keys exactly as delivery will use them
        encrypt(b"{}", value["p256dh"], value["auth"])
    except WebPushError as exc:
        raise invalid_properties("keys", description=f"unusable keys: {exc}") from None
    return value["p256dh"], value["auth"]


def _create(
    ctx: Any, obj: Any, section: Any, credential: Credential
) -> tuple[PushSubscription, dict[str, Any]]:
    if not isinstance(obj, dict):
        raise SetError("invalidProperties", "a PushSubscription must be an object")
    # every invalid property at once (RFC 8620 §5.3), then one refusal
    problems = PropertyProblems()
    for p in obj:
        if p not in ALL_PROPERTIES or p == "id":
            problems.add(p, "unknown or server-set property")
    device = obj.get("deviceClientId")
    if not isinstance(device, str) or not device or len(device) > 255:
        problems.add("deviceClientId", "a String of 1 to 255 characters")
    url = obj.get("url")
    if not isinstance(url, str) or len(url) > 2048:
        problems.add("url", "a String of at most 2048 characters")
    else:
        try:
            check_push_url(url, ssrf_policy(section))
        except PushURLRejected as exc:
            problems.add("url", f"push URL refused: {exc}")
    p256dh = auth = types = None
    try:
        p256dh, auth = _check_keys(obj.get("keys"))
    except SetError as exc:
        problems.absorb(exc)
    if obj.get("verificationCode") is not None:
        problems.add("verificationCode", "must be null on create")
    requested = None
    if obj.get("expires") is not None:
        requested = parse_utc_date(obj["expires"])
        if requested is None or requested <= now():
            problems.add("expires", "expires must be a future UTCDate")
    try:
        types = _check_types(obj.get("types"))
    except SetError as exc:
        problems.absorb(exc)
    problems.check()
    user_id = ctx.principal.user_id
    existing = PushSubscription.get_or_none(
        (PushSubscription.user == user_id)
        & (PushSubscription.credential == credential.key)
        & (PushSubscription.device_client_id == device)
    )
    if existing is not None:
        raise SetError(
            "invalidProperties",
            "this deviceClientId already has a push subscription: update or destroy it",
            properties=["deviceClientId"],
            existingId=existing.id,
        )
    count = PushSubscription.select().where(PushSubscription.user == user_id).count()
    if count >= section.max_subscriptions_per_user:
        raise SetError(
            "overQuota", f"at most {section.max_subscriptions_per_user} push subscriptions"
        )
    expires = clamp_expires(requested, section.max_expires_days, credential.expires)
    row = PushSubscription.create(
        id=new_id("P"),
        user=user_id,
        credential=credential.key,
        token=credential.token_id,
        device_client_id=device,
        url=url,
        p256dh=p256dh,
        auth=auth,
        expected_code=new_verification_code(),
        expires=expires,
        types=types,
    )
    created: dict[str, Any] = {"id": row.id}
    if "expires" not in obj or obj["expires"] != utc_date(expires):
        created["expires"] = utc_date(expires)
    for name, default in (("keys", None), ("types", None), ("verificationCode", None)):
        if name not in obj:
            created[name] = default
    return row, created


def _update(
    ctx: Any, row: PushSubscription, patch: Any, section: Any, credential: Credential
) -> dict[str, Any] | None:
    if not isinstance(patch, dict):
        raise SetError("invalidPatch", "a PatchObject must be an object")
    for key in patch:
        if "/" in key:
            raise SetError("invalidPatch", f"{key}: only whole properties can be patched")
    problems = PropertyProblems()  # all of them, and nothing changed unless none (RFC 8620 §5.3)
    for k in patch:
        if k not in UPDATABLE:
            problems.add(k, "immutable or unknown property")
    returned: dict[str, Any] = {}
    code = patch.get("verificationCode")
    if "verificationCode" in patch and not verification_code_matches(row.expected_code, code):
        problems.add("verificationCode", "wrong verification code")
    requested = None
    if patch.get("expires") is not None:
        requested = parse_utc_date(patch["expires"])
        if requested is None:
            problems.add("expires", "a UTCDate or null")
    types = None
    if "types" in patch:
        try:
            types = _check_types(patch["types"])
        except SetError as exc:
            problems.absorb(exc)
    problems.check()
    if "verificationCode" in patch:
        row.verification_code = code
        row.verified = True
    if "expires" in patch:
        expires = clamp_expires(requested, section.max_expires_days, credential.expires)
        row.expires = expires
        if patch["expires"] != utc_date(expires):
            returned["expires"] = utc_date(expires)
    if "types" in patch:
        row.types = types
    row.save()
    return returned or None


def make_push_set(runtime_of: Any) -> Any:
    """The /set handler; ``runtime_of(services)`` gives the worker's deliverer."""

    def push_set(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
        args = check_args(
            args,
            {"create": ("Object", False), "update": ("Object", False), "destroy": ("Id[]", False)},
            {},
        )
        section = ctx.config.section(EventsConfig)
        create = args.get("create") or {}
        update = args.get("update") or {}
        destroy = args.get("destroy") or []
        limit = ctx.config.limits.max_objects_in_set
        if len(create) + len(update) + len(destroy) > limit:
            raise MethodError("requestTooLarge", f"at most {limit} objects per /set")
        user_id = ctx.principal.user_id
        out: dict[str, Any] = {
            "created": {},
            "updated": {},
            "destroyed": [],
            "notCreated": {},
            "notUpdated": {},
            "notDestroyed": {},
        }
        verify: list[str] = []
        db = database.obj
        credential = caller_credential(ctx)
        mine = (PushSubscription.user == user_id) & (PushSubscription.credential == credential.key)
        for cid, obj in create.items():
            try:
                with db.atomic():
                    row, created = _create(ctx, obj, section, credential)
                out["created"][cid] = created
                ctx.request.created_ids[cid] = row.id
                verify.append(row.id)
            except SetError as exc:
                out["notCreated"][cid] = exc.to_json()
        for sid, patch in update.items():
            real = ctx.resolve_id(sid)
            try:
                with db.atomic():
                    existing = PushSubscription.get_or_none((PushSubscription.id == real) & mine)
                    if existing is None:
                        raise SetError("notFound")
                    out["updated"][real] = _update(ctx, existing, patch, section, credential)
            except SetError as exc:
                out["notUpdated"][real] = exc.to_json()
        for sid in destroy:
            real = ctx.resolve_id(sid)
            # Deleting the row erases the URL and keys (RFC 8620 §7.2 MUST).
            deleted = PushSubscription.delete().where((PushSubscription.id == real) & mine).execute()
            if deleted:
                out["destroyed"].append(real)
            else:
                out["notDestroyed"][real] = SetError("notFound").to_json()
        for key in ("created", "updated", "notCreated", "notUpdated", "notDestroyed"):
            if not out[key]:
                out[key] = None
        if verify:
            runtime_of(ctx.services).deliverer.submit([(sid, None) for sid in verify])
        return out

    return push_set
