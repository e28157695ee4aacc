"""Note and NoteFolder, declared on the core's standard-method engine."""

from __future__ import annotations

import datetime
from typing import Any

from jmapd.methods.documents import DocumentType
from jmapd.methods.types import Invalid, P
from jmapd.models import Document
from jmapd.protocol.errors import SetError, invalid_properties

NOTES = "urn:example:notes"


def _utcnow() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_title(value: str) -> None:
    if not value.strip():
        raise Invalid("", "title must not be blank")
    if len(value) > 200:
        raise Invalid("", "title longer than 200 characters")


class NoteFolder(DocumentType):
    name = "NoteFolder"
    capability = NOTES
    id_prefix = "f"
    verbs = ("get", "changes", "set", "query", "queryChanges")
    properties = {
        "name": P("String", required=True, check=_check_title),
        "parentId": P("Id", nullable=True, ref="id"),
        "sortOrder": P("UnsignedInt", default=0),
    }
    filters = {"name": "String"}
    predicates = {"name": lambda obj, value: value.lower() in obj["name"].lower()}
    sorts = frozenset({"name", "sortOrder"})

    def validate(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        parent = obj.get("parentId")
        if parent is not None and not Document.select().where(
            (Document.account_id == account_id) & (Document.type_name == "NoteFolder") & (Document.object_id == parent)
        ).exists():
            raise invalid_properties("parentId", description=f"no NoteFolder {parent}")

    def check_destroy(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        notes = Note().load(ctx, account_id, None, ["folderId"], {})
        if any(n.get("folderId") == obj["id"] for n in notes.values()):
            raise SetError("folderHasNotes", "move or destroy the notes first")


class Note(DocumentType):
    name = "Note"
    capability = NOTES
    id_prefix = "n"
    verbs = ("get", "changes", "set", "copy", "query", "queryChanges")
    properties = {
        "title": P("String", required=True, check=_check_title),
        "body": P("String", default=""),
        "folderId": P("Id", nullable=True, ref="id"),
        "tags": P("String[Boolean]", default=dict),
        "pinned": P("Boolean", default=False),
        "meta": P("Object", nullable=True),
        "attachmentBlobId": P("Id", nullable=True),
        "created": P("UTCDate", server_set=True),
        "revision": P("UnsignedInt", server_set=True),
        "size": P("UnsignedInt", server_set=True),
    }
    filters = {"text": "String", "pinned": "Boolean", "hasTag": "String", "inFolder": "Id"}
    predicates = {
        "text": lambda obj, v: v.lower() in (obj["title"] + " " + obj.get("body", "")).lower(),
        "pinned": lambda obj, v: obj.get("pinned") is v,
        "hasTag": lambda obj, v: v in (obj.get("tags") or {}),
        "inFolder": lambda obj, v: obj.get("folderId") == v,
    }
    sorts = frozenset({"title", "created", "pinned", "size"})

    def validate(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        folder = obj.get("folderId")
        if folder is not None and not Document.select().where(
            (Document.account_id == account_id) & (Document.type_name == "NoteFolder") & (Document.object_id == folder)
        ).exists():
            raise invalid_properties("folderId", description=f"no NoteFolder {folder}")
        blob = obj.get("attachmentBlobId")
        if blob is not None and not ctx.services.blobs.visible(account_id, blob):
            raise SetError("blobNotFound", f"no blob {blob}", notFound=[blob])
        if len(obj.get("body") or "") > 100_000:
            raise SetError("tooLarge", "a note body is at most 100000 characters")

    def insert(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        extra = {"created": _utcnow(), "revision": 1, "size": len(obj.get("body") or "")}
        obj.update(extra)
        super().insert(ctx, account_id, obj)
        return extra

    def replace(self, ctx: Any, account_id: str, old: dict[str, Any], new: dict[str, Any], changed: set[str]) -> dict[str, Any] | None:
        extra = {"revision": old["revision"] + 1}
        if "body" in changed:
            extra["size"] = len(new.get("body") or "")
        new.update(extra)
        super().replace(ctx, account_id, old, new, changed)
        return extra

    def copy_object(self, ctx: Any, from_account: str, to_account: str, source: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        obj = super().copy_object(ctx, from_account, to_account, source, overrides)
        if "folderId" not in overrides:
            obj["folderId"] = None  # folders do not exist in the other account
        return obj

    def blob_ids(self, obj: dict[str, Any]) -> list[str]:
        return [obj["attachmentBlobId"]] if obj.get("attachmentBlobId") else []
