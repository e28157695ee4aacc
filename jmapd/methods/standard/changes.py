"""/changes (RFC 8620 §5.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...protocol.errors import MethodError
from ...state import CannotCalculate, changes_since, decode_state, encode_state
from .args import check_args, max_changes

if TYPE_CHECKING:
    from ..context import CallContext
    from ..types import DataType

SPEC = {"accountId": ("Id", True), "sinceState": ("String", True), "maxChanges": ("Any", False)}


def standard_changes(dt: DataType, ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    args = check_args(args, SPEC, {})
    account = ctx.account(args["accountId"], dt.capability)
    limit = max_changes(args, ctx.config.limits.max_changes)
    dt.prologue(ctx, "changes", account.id, args)
    since = decode_state(args["sinceState"])
    if since is None:
        raise MethodError("cannotCalculateChanges", "unknown state")
    try:
        result = changes_since(dt.log_account(account.id), dt.name, since, limit)
    except CannotCalculate:
        raise MethodError("cannotCalculateChanges", "state too old or unknown") from None
    created, updated, destroyed = dt.visible_changes(ctx, account.id, since, result)
    response: dict[str, Any] = {
        "accountId": account.id,
        "oldState": args["sinceState"],
        "newState": encode_state(result.new_modseq),
        "hasMoreChanges": result.has_more,
        "created": created,
        "updated": updated,
        "destroyed": destroyed,
    }
    if dt.reports_updated_properties:
        only_counts = (
            result.updated_props is not None
            and bool(result.updated)
            and not result.created
            and not result.destroyed
            and result.updated_props <= dt.count_properties
        )
        response["updatedProperties"] = sorted(dt.count_properties) if only_counts else None
    return response
