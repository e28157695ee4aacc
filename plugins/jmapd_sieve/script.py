"""SieveScript (RFC 9661 §2): a named script whose content is a blob.

Scripts are documents; the content stays in the blob store under the
``blobId`` the client uploaded (blob ids name their bytes, so the content of
a stored script cannot change under it). Every script is parsed and checked
before it is stored, so what delivery runs is always a script that checked.
"""

from __future__ import annotations

from typing import Any

from jmapd.db import tuples
from jmapd.methods.documents import DocumentType
from jmapd.methods.types import Invalid, P
from jmapd.models import Document
from jmapd.protocol.errors import MethodError, SetError
from jmapd.state import UPDATED, current_state

from .capability import SIEVE
from .config import SieveConfig
from .domain.checker import check
from .domain.lexer import SieveSyntaxError


def _name_ok(value: Any) -> None:
    # RFC 5804 §1.6: no control characters in a script name; empty is no name.
    if value == "" or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in value):
        raise Invalid("", "a script name must be non-empty and hold no control characters")


class SieveScript(DocumentType):
    name = "SieveScript"
    capability = SIEVE
    id_prefix = "S"
    verbs = ("get", "changes", "set", "query", "queryChanges")
    properties = {
        "name": P("String", nullable=True, default=None, check=_name_ok),
        "blobId": P("Id", required=True),
        "isActive": P("Boolean", server_set=True),
    }
    set_arguments = {"onSuccessActivateScript": None, "onSuccessDeactivateScript": None}
    filters = {"name": "String", "isActive": "Boolean"}
    predicates = {
        "name": lambda obj, value: value.casefold() in (obj.get("name") or "").casefold(),
        "isActive": lambda obj, value: bool(obj.get("isActive")) is value,
    }
    sorts = frozenset({"name", "isActive"})

    @property
    def section(self) -> SieveConfig:
        return self.config.section(SieveConfig)  # type: ignore[no-any-return]

    def sort_value(self, obj: dict[str, Any], prop: str) -> Any:
        return bool(obj.get("isActive")) if prop == "isActive" else obj.get(prop)

    def check_set_args(self, ctx: Any, args: dict[str, Any]) -> None:
        target = args.get("onSuccessActivateScript")
        if target is not None and not isinstance(target, str):
            raise MethodError("invalidArguments", "onSuccessActivateScript must be an id")
        if args.get("onSuccessDeactivateScript") not in (None, True, False):
            raise MethodError("invalidArguments", "onSuccessDeactivateScript must be a boolean")

    def validate(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        name = obj.get("name")
        if name is not None and len(name.encode()) > self.section.max_script_name:
            raise SetError("invalidProperties", f"name is longer than {self.section.max_script_name} octets",
                           properties=["name"])
        others = {k: v for k, v in _all(account_id).items() if k != obj["id"]}
        if old is None and len(others) >= self.section.max_scripts:
            raise SetError("overQuota", f"an account holds at most {self.section.max_scripts} scripts")
        if name is not None:
            for other_id, other in others.items():
                if other.get("name") == name:
                    raise SetError("alreadyExists", f"a script named {name!r} exists", existingId=other_id)
        if old is None or obj["blobId"] != old.get("blobId"):
            error = script_error(ctx, account_id, obj["blobId"], self.section)
            if error is not None:
                raise error

    def insert(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        extra: dict[str, Any] = {"isActive": False}
        if obj.get("name") is None:  # RFC 9661 §2: the server names a script created without one
            taken = {o.get("name") for o in _all(account_id).values()}
            name, n = obj["id"], 1
            while name in taken:
                n += 1
                name = f"{obj['id']}-{n}"
            extra["name"] = name
        obj.update(extra)
        super().insert(ctx, account_id, obj)
        return extra

    def check_destroy(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        if obj.get("isActive"):
            raise SetError("sieveIsActive", "the active script cannot be destroyed; deactivate it first")

    def blob_ids(self, obj: dict[str, Any]) -> list[str]:
        return [obj["blobId"]] if obj.get("blobId") else []

    def after_set(self, ctx: Any, account_id: str, args: dict[str, Any], response: dict[str, Any]) -> list[Any]:
        """onSuccessDeactivateScript, then onSuccessActivateScript (RFC 9661
        §2.4), only when every create, update and destroy succeeded; an id
        that names no script is ignored and the active script stays."""
        deactivate = args.get("onSuccessDeactivateScript") is True
        target = args.get("onSuccessActivateScript")
        if not deactivate and target is None:
            return []
        if response["notCreated"] or response["notUpdated"] or response["notDestroyed"]:
            return []
        if isinstance(target, str):
            target = ctx.creation_ref(target)
        with ctx.write(account_id):
            scripts = _all(account_id)
            active = {k for k, v in scripts.items() if v.get("isActive")}
            wanted = set(active)
            if deactivate:
                wanted = set()
            if target is not None and target in scripts:
                wanted = {target}
            for object_id in sorted(active ^ wanted):
                data = scripts[object_id]
                data["isActive"] = object_id in wanted
                Document.update(data={k: v for k, v in data.items() if k != "id"}).where(
                    (Document.account_id == account_id)
                    & (Document.type_name == self.name)
                    & (Document.object_id == object_id)
                ).execute()
                ctx.changes.record(account_id, self.name, object_id, UPDATED, props={"isActive"})
                _report(response, object_id, object_id in wanted)
        response["newState"] = current_state(account_id, self.name)
        return []


def _all(account_id: str) -> dict[str, dict[str, Any]]:
    import orjson

    rows = tuples(
        Document.select(Document.object_id, Document.data)
        .where((Document.account_id == account_id) & (Document.type_name == SieveScript.name))
        .order_by(Document.id)
    )
    return {oid: orjson.loads(data) if isinstance(data, (str, bytes)) else dict(data) for oid, data in rows}


def _report(response: dict[str, Any], object_id: str, is_active: bool) -> None:
    """RFC 9661 §2.4: an activated script shows ``isActive: true`` in created
    or updated, a deactivated one ``false`` in updated."""
    if is_active:
        for entry in (response["created"] or {}).values():
            if entry.get("id") == object_id:
                entry["isActive"] = True
                return
    updated = response["updated"] = response["updated"] or {}
    updated[object_id] = {**(updated.get(object_id) or {}), "isActive": is_active}


def script_error(ctx: Any, account_id: str, blob_id: str, section: SieveConfig) -> SetError | None:
    """Why the blob cannot be a script here (blobNotFound, tooLarge,
    invalidSieve with the line and reason), or None if it can."""
    data = ctx.services.blobs.get(account_id, blob_id)
    if data is None:
        return SetError("blobNotFound", f"no blob {blob_id}", notFound=[blob_id])
    if len(data) > section.max_script_size:
        return SetError("tooLarge", f"a script may hold at most {section.max_script_size} octets",
                        maxSize=section.max_script_size)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return SetError("invalidSieve", f"line {line}: a script must be UTF-8 (RFC 5228 §2.1)")
    try:
        check(text)
    except SieveSyntaxError as exc:
        return SetError("invalidSieve", f"line {exc.line}: {exc.reason}")
    except RecursionError:
        return SetError("invalidSieve", "line 1: the script nests too deeply")
    return None
