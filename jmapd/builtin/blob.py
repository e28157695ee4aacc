"""Blobs as methods: Blob/copy (RFC 8620 §6.3) and RFC 9404 (Blob/upload, get, lookup)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from jmapd import hookimpl
from jmapd.accounts import AccountInfo
from jmapd.db import tuples
from jmapd.methods.context import CallContext
from jmapd.methods.registry import Capability, Method
from jmapd.methods.standard.args import check_args
from jmapd.models import BlobRef
from jmapd.protocol.envelope import CORE
from jmapd.protocol.errors import MethodError, SetError
from jmapd.sharing import may_upload, own_upload, uploader

BLOB = "urn:ietf:params:jmap:blob"
DIGESTS = {"sha": hashlib.sha1, "sha-256": hashlib.sha256}
MAX_DATA_SOURCES = 64


def _account_value(account_id: str, services: Any) -> dict[str, Any]:
    return {
        "maxSizeBlobSet": services.config.limits.max_size_upload,
        "maxDataSources": MAX_DATA_SOURCES,
        "supportedTypeNames": sorted(services.registry.data_types),
        "supportedDigestAlgorithms": sorted(DIGESTS),
    }


def is_sharee(ctx: CallContext, account_id: str) -> bool:
    """A sharee of single objects, who reads only the blobs of what they may
    read and their own uploads."""
    account = ctx.principal.accounts.get(account_id)
    return account is not None and account.level == "shared"


def read_blob(ctx: CallContext, account_id: str, blob_id: Any) -> bytes | None:
    if not isinstance(blob_id, str):
        return None
    blob_id = ctx.resolve_id(blob_id)
    services = ctx.services
    if is_sharee(ctx, account_id) and services.hooks.shared_blob(ctx, account_id, blob_id) is None:
        return None
    data = services.blobs.get(account_id, blob_id)
    if data is None:
        data = services.hooks.resolve_blob(services, account_id, blob_id)
    return data


def writable_account(ctx: CallContext, account_id: Any, capability: str | None = None) -> AccountInfo:
    """The account a Blob method stores into: the caller's, a write
    delegate's, or one where their shares let them upload (the upload URL's
    rule, :func:`jmapd.sharing.may_upload`; else ``forbidden``)."""
    shared = isinstance(account_id, str) and is_sharee(ctx, account_id)
    account = ctx.account(account_id, BLOB if shared else capability, write=True)
    if shared and not may_upload(ctx, account.id):
        raise MethodError("forbidden", "your rights in this account do not let you store blobs in it")
    return account


def store_blob(ctx: CallContext, account_id: str, data: bytes, media_type: str) -> str:
    """Charge and store one blob (the upload URL's transaction): charged to
    the account it goes into (RFC 9425), recording a sharee as its uploader
    so it opens to them alone; the ``overQuota`` SetError when it does not fit."""
    from jmapd.blobs import blob_id_for
    from jmapd.db import database
    from jmapd.quota import charge_upload

    with ctx.write(account_id), database.atomic():  # charged and stored together, or neither
        charge_upload(ctx.config, ctx.changes, account_id, blob_id_for(data), len(data))
        return ctx.services.blobs.put(account_id, data, media_type, uploader(ctx, account_id))


def blob_copy(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    args = check_args(
        args, {"fromAccountId": ("Id", True), "accountId": ("Id", True), "blobIds": ("String[]", True)}, {}
    )
    # a sharee of single objects copies out of the account only the blobs an
    # object they may read opens to them (read_blob asks jmapd_shared_blob)
    shared = is_sharee(ctx, args["fromAccountId"]) if isinstance(args["fromAccountId"], str) else False
    from_account = ctx.account(args["fromAccountId"], BLOB if shared else None, not_found="fromAccountNotFound",
                               not_supported="fromAccountNotFound")
    account = writable_account(ctx, args["accountId"])
    copied: dict[str, str] = {}
    not_copied: dict[str, Any] = {}
    for blob_id in args["blobIds"]:
        data = read_blob(ctx, from_account.id, blob_id)
        if data is None:
            not_copied[blob_id] = SetError("notFound").to_json()
            continue
        try:
            copied[blob_id] = store_blob(ctx, account.id, data, "application/octet-stream")
        except SetError as exc:
            not_copied[blob_id] = exc.to_json()
    return {
        "fromAccountId": from_account.id,
        "accountId": account.id,
        "copied": copied or None,
        "notCopied": not_copied or None,
    }


def _source_bytes(ctx: CallContext, account_id: str, source: Any, path: str) -> bytes:
    if not isinstance(source, dict):
        raise SetError("invalidProperties", "a DataSourceObject must be an object", properties=[path])
    keys = set(source)
    if keys == {"data:asText"} and isinstance(source["data:asText"], str):
        return source["data:asText"].encode("utf-8")
    if keys == {"data:asBase64"} and isinstance(source["data:asBase64"], str):
        try:
            return base64.b64decode(source["data:asBase64"], validate=True)
        except ValueError:
            raise SetError("invalidProperties", "bad base64", properties=[path]) from None
    if "blobId" in keys and keys <= {"blobId", "offset", "length"}:
        offset, length = source.get("offset"), source.get("length")
        for name, value in (("offset", offset), ("length", length)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise SetError("invalidProperties", f"{name} must be an UnsignedInt", properties=[f"{path}/{name}"])
        data = read_blob(ctx, account_id, source["blobId"])
        if data is None:
            raise SetError("blobNotFound", "blob not found", notFound=[source["blobId"]])
        start = offset or 0
        end = len(data) if length is None else start + length
        if start > len(data) or end > len(data):
            raise SetError("invalidProperties", "range outside the blob", properties=[path])
        return data[start:end]
    raise SetError("invalidProperties", "unknown DataSourceObject", properties=[path])


def blob_upload(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    args = check_args(args, {"accountId": ("Id", True), "create": ("Object", True)}, {})
    account = writable_account(ctx, args["accountId"], BLOB)  # as the upload URL
    limit = ctx.config.limits.max_size_upload
    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    for cid, upload in args["create"].items():
        try:
            if not isinstance(upload, dict) or set(upload) - {"data", "type"}:
                raise SetError("invalidProperties", "UploadObject has data and type", properties=["data"])
            sources = upload.get("data")
            media_type = upload.get("type")
            if not isinstance(sources, list) or not sources:
                raise SetError("invalidProperties", "data must be a non-empty list", properties=["data"])
            if len(sources) > MAX_DATA_SOURCES:
                raise SetError("invalidProperties", f"at most {MAX_DATA_SOURCES} data sources", properties=["data"])
            if media_type is not None and not isinstance(media_type, str):
                raise SetError("invalidProperties", "type must be a string", properties=["type"])
            parts = []
            size = 0
            for i, source in enumerate(sources):
                chunk = _source_bytes(ctx, account.id, source, f"data/{i}")
                size += len(chunk)
                if size > limit:
                    raise SetError("tooLarge", f"larger than {limit} octets")
                parts.append(chunk)
            data = b"".join(parts)
            blob_id = store_blob(ctx, account.id, data, media_type or "application/octet-stream")
            created[cid] = {"id": blob_id, "type": media_type, "size": len(data)}
            ctx.request.created_ids[cid] = blob_id
        except SetError as exc:
            not_created[cid] = exc.to_json()
    return {"accountId": account.id, "created": created or None, "notCreated": not_created or None}


GET_PROPS = {"data", "data:asText", "data:asBase64", "size"} | {f"digest:{d}" for d in DIGESTS}


def blob_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    args = check_args(
        args,
        {
            "accountId": ("Id", True),
            "ids": ("String[]", True),
            "properties": ("String[]", False),
            "offset": ("UnsignedInt", False),
            "length": ("UnsignedInt", False),
        },
        {},
    )
    account = ctx.account(args["accountId"], BLOB)
    props = args.get("properties") or ["data", "size"]
    bad = [p for p in props if p not in GET_PROPS]
    if bad:
        raise MethodError("invalidArguments", f"unknown property {bad[0]}")
    ids = list(dict.fromkeys(ctx.resolve_id(i) for i in args["ids"]))
    if len(ids) > ctx.config.limits.max_objects_in_get:
        raise MethodError("requestTooLarge")
    offset = args.get("offset") or 0
    length = args.get("length")
    listed, not_found = [], []
    for blob_id in ids:
        data = read_blob(ctx, account.id, blob_id)
        if data is None:
            not_found.append(blob_id)
            continue
        end = len(data) if length is None else offset + length
        chunk = data[offset:end]
        item: dict[str, Any] = {"id": blob_id}
        if end > len(data) or offset > len(data):
            item["isTruncated"] = True
        for prop in props:
            if prop == "size":
                item["size"] = len(data)
            elif prop.startswith("digest:"):
                item[prop] = base64.b64encode(DIGESTS[prop[7:]](chunk).digest()).decode()
            elif prop == "data:asBase64":
                item[prop] = base64.b64encode(chunk).decode()
            else:
                try:
                    text = chunk.decode("utf-8")
                    item["data:asText"] = text
                except UnicodeDecodeError:
                    if prop == "data":
                        item["data:asBase64"] = base64.b64encode(chunk).decode()
                    else:
                        item["data:asText"] = None
                        item["isEncodingProblem"] = True
        listed.append(item)
    return {"accountId": account.id, "list": listed, "notFound": not_found}


def blob_lookup(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    args = check_args(args, {"accountId": ("Id", True), "typeNames": ("String[]", True), "ids": ("String[]", True)}, {})
    account = ctx.account(args["accountId"], BLOB)
    known = ctx.services.registry.data_types
    unknown = [t for t in args["typeNames"] if t not in known]
    if unknown:
        raise MethodError("unknownDataType", f"unknown type {unknown[0]}")
    listed, not_found = [], []
    sharee = is_sharee(ctx, account.id)
    for blob_id in dict.fromkeys(ctx.resolve_id(i) for i in args["ids"]):
        real = blob_id
        if sharee:  # only the objects they may read, and only if one of them opens the blob
            opened = ctx.services.hooks.shared_blob(ctx, account.id, real)
            if opened is None:
                not_found.append(blob_id)
            else:
                listed.append({"id": blob_id, "matchedIds": {t: list(opened.get(t, [])) for t in args["typeNames"]}})
            continue
        visible = ctx.services.blobs.visible(account.id, real) or read_blob(ctx, account.id, real) is not None
        if not visible:
            not_found.append(blob_id)
            continue
        matched: dict[str, list[str]] = {t: [] for t in args["typeNames"]}
        rows = BlobRef.select(BlobRef.type_name, BlobRef.object_id).where(
            (BlobRef.account_id == account.id) & (BlobRef.blob_id == real) & BlobRef.type_name.in_(args["typeNames"])
        ).tuples()
        for type_name, object_id in tuples(rows):
            if object_id not in matched[type_name]:
                matched[type_name].append(object_id)
        listed.append({"id": blob_id, "matchedIds": matched})
    return {"accountId": account.id, "list": listed, "notFound": not_found}


@hookimpl
def jmapd_shared_blob(ctx: CallContext, account_id: str, blob_id: str) -> dict[str, list[str]] | None:
    """A sharee's own upload opens to them, referenced by nothing they were
    not shown (the plugins answer for the objects that reference it)."""
    return {} if own_upload(ctx, account_id, blob_id) else None


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    return [Capability(BLOB, session={}, account=_account_value, requires=(CORE,))]


@hookimpl
def jmapd_methods(config: Any) -> list[Method]:
    return [
        Method("Blob/copy", blob_copy, CORE),
        Method("Blob/upload", blob_upload, BLOB),
        Method("Blob/get", blob_get, BLOB),
        Method("Blob/lookup", blob_lookup, BLOB),
    ]
