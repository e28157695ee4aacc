"""/get (RFC 8620 §5.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ... import sharing
from ...protocol.errors import MethodError
from ...state import current_state
from .args import check_args

if TYPE_CHECKING:
    from ..context import CallContext
    from ..types import DataType

SPEC = {"accountId": ("Id", True), "ids": ("Any", False), "properties": ("String[]", False)}


def requested_properties(dt: DataType, properties: list[str] | None) -> list[str]:
    if properties is None:
        return dt.default_properties()
    bad = [p for p in properties if dt.property(p) is None]
    if bad:
        raise MethodError("invalidArguments", f"unknown property: {bad[0]}")
    props = list(dict.fromkeys(properties))
    if "id" not in props:
        props.insert(0, "id")
    return props


def standard_get(dt: DataType, ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    args = check_args(args, SPEC, dt.get_arguments)
    account = ctx.account(args["accountId"], dt.capability)
    ids = args.get("ids")
    limit = ctx.config.limits.max_objects_in_get
    if ids is not None:
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise MethodError("invalidArguments", "ids must be a list of ids or null")
        ids = list(dict.fromkeys(ctx.resolve_id(i) for i in ids))
        if len(ids) > limit:
            raise MethodError("requestTooLarge", f"at most {limit} ids per call")
    props = requested_properties(dt, args.get("properties"))
    dt.check_get_args(ctx, args)
    dt.prologue(ctx, "get", account.id, args)
    state = current_state(dt.log_account(account.id), dt.name)
    found = dt.load(ctx, account.id, ids, props, args)
    if dt.sharing is not None:
        found = sharing.decorate(dt, ctx, account.id, found)
    if ids is None and len(found) > limit and not dt.singleton:
        raise MethodError("requestTooLarge", f"more than {limit} objects; ask by ids")
    order = ids if ids is not None else list(found)
    listed = []
    not_found = []
    for object_id in order:
        obj = found.get(object_id)
        if obj is None:
            not_found.append(object_id)
            continue
        listed.append(dt.present(obj, props, args.get("properties") is not None))
    return {"accountId": account.id, "state": state, "list": listed, "notFound": not_found}
