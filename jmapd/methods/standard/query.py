"""/query and /queryChanges (RFC 8620 §5.5, §5.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ... import sharing
from ...protocol.errors import MethodError
from ...state import CannotCalculate, changes_since, current_state, decode_state
from ..collation import COLLATIONS
from ..paging import window
from .args import check_args, max_changes

if TYPE_CHECKING:
    from ..context import CallContext
    from ..types import DataType

QUERY_SPEC = {
    "accountId": ("Id", True),
    "filter": ("Object", False),
    "sort": ("Object[]", False),
    "position": ("Int", False),
    "anchor": ("Id", False),
    "anchorOffset": ("Int", False),
    "limit": ("UnsignedInt", False),
    "calculateTotal": ("Boolean", False),
}
QUERY_CHANGES_SPEC = {
    "accountId": ("Id", True),
    "filter": ("Object", False),
    "sort": ("Object[]", False),
    "sinceQueryState": ("String", True),
    "maxChanges": ("Any", False),
    "upToId": ("Id", False),
    "calculateTotal": ("Boolean", False),
}
MAX_FILTER_DEPTH = 16
#: Conditions and operators one filter may hold (docs/operator.rst). Every
#: node becomes SQL (a full-text condition a search of its own), so an OR
#: of hundreds of terms ran for a minute or broke the database's limits;
#: beyond the bound the call is refused up front, never retried in vain.
MAX_FILTER_NODES = 1024


def check_filter(dt: DataType, node: Any, depth: int = 0, _seen: list[int] | None = None) -> None:
    """Syntax errors are invalidArguments; conditions we cannot run, unsupportedFilter."""
    seen = _seen if _seen is not None else [0]
    seen[0] += 1
    if seen[0] > MAX_FILTER_NODES:
        raise MethodError(
            "unsupportedFilter",
            f"the filter holds more than {MAX_FILTER_NODES} conditions and operators (this server's bound); "
            "split it into several queries",
        )
    if depth > MAX_FILTER_DEPTH:
        raise MethodError("unsupportedFilter", f"filter nested deeper than {MAX_FILTER_DEPTH} levels")
    if not isinstance(node, dict):
        raise MethodError("invalidArguments", "a filter must be an object")
    if "operator" in node:
        if node["operator"] not in ("AND", "OR", "NOT"):
            raise MethodError("invalidArguments", f"unknown filter operator {node['operator']!r}")
        conditions = node.get("conditions")
        if set(node) - {"operator", "conditions"} or not isinstance(conditions, list):
            raise MethodError("invalidArguments", "a FilterOperator has operator and conditions")
        for condition in conditions:
            check_filter(dt, condition, depth + 1, seen)
        return
    for name, value in node.items():
        if name not in dt.filters:
            raise MethodError("unsupportedFilter", f"unsupported filter condition {name!r}")
        if not dt.check_filter(name, value):
            raise MethodError("invalidArguments", f"bad value for filter condition {name!r}")


#: RFC 8620 §5.5; a type adds its own (Email's ``keyword``) as ``comparator_keys``.
COMPARATOR_KEYS = frozenset({"property", "isAscending", "collation"})


def check_sort(dt: DataType, sort: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for comparator in sort or []:
        if not isinstance(comparator, dict):
            raise MethodError("invalidArguments", "a Comparator must be an object")
        prop = comparator.get("property")
        unknown = sorted(set(comparator) - COMPARATOR_KEYS - set(dt.comparator_keys))
        if unknown:
            raise MethodError("invalidArguments", f"unknown Comparator property {unknown[0]!r}")
        if not isinstance(prop, str):
            raise MethodError("invalidArguments", "a Comparator needs a property")
        if "isAscending" in comparator and not isinstance(comparator["isAscending"], bool):
            raise MethodError("invalidArguments", "isAscending must be a boolean")
        collation = comparator.get("collation")
        if collation is not None and not isinstance(collation, str):
            raise MethodError("invalidArguments", "collation must be a string")
        if prop not in dt.sorts:
            raise MethodError("unsupportedSort", f"cannot sort by {prop!r}")
        if collation is not None and collation not in COLLATIONS:
            raise MethodError("unsupportedSort", f"unknown collation {collation!r}")
        dt.check_comparator(comparator)
        out.append({"isAscending": True, **comparator})
    return out


def standard_query(dt: DataType, ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    args = check_args(args, QUERY_SPEC, dt.query_arguments)
    account = ctx.account(args["accountId"], dt.capability)
    if args.get("filter") is not None:
        check_filter(dt, args["filter"])
    sort = check_sort(dt, args.get("sort"))
    dt.check_query_args(ctx, args)
    dt.prologue(ctx, "query", account.id, args)
    state = current_state(dt.log_account(account.id), dt.name)
    max_limit = ctx.config.limits.max_query_limit
    requested = args.get("limit")
    limit = max_limit if requested is None or requested > max_limit else requested
    want_total = bool(args.get("calculateTotal"))
    if dt.sharing is None:
        position, page, total = dt.query_page(ctx, account.id, args.get("filter"), sort, args, limit, want_total)
    else:
        # What a sharee may read is a set of ids: filter them all, then page.
        ids = sharing.filter_ids(dt, ctx, account.id, list(dt.query(ctx, account.id, args.get("filter"), sort, args)))
        position, page, _ = window(ids, args, limit)
        total = len(ids) if want_total else None
    response: dict[str, Any] = {
        "accountId": account.id,
        "queryState": state,
        "canCalculateChanges": dt.can_calculate_changes(args),
        "position": position,
        "ids": page,
    }
    if want_total:
        response["total"] = total
    if requested is not None and requested > max_limit:
        response["limit"] = max_limit
    return response


def standard_query_changes(dt: DataType, ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Generic and always correct: every object changed since the old state is
    reported removed, and re-added at its new index if it still matches."""
    args = check_args(args, QUERY_CHANGES_SPEC, dt.query_arguments)
    account = ctx.account(args["accountId"], dt.capability)
    if args.get("filter") is not None:
        check_filter(dt, args["filter"])
    sort = check_sort(dt, args.get("sort"))
    dt.check_query_args(ctx, args)
    dt.prologue(ctx, "queryChanges", account.id, args)
    limit = max_changes(args, 10**9)
    if not dt.can_calculate_changes(args):
        raise MethodError("cannotCalculateChanges", "this query cannot be tracked")
    since = decode_state(args["sinceQueryState"])
    if since is None:
        raise MethodError("cannotCalculateChanges", "unknown queryState")
    state = current_state(dt.log_account(account.id), dt.name)
    try:
        changes = changes_since(dt.log_account(account.id), dt.name, since, 10**9)
    except CannotCalculate:
        raise MethodError("cannotCalculateChanges", "queryState too old") from None
    touched, removed = dt.query_changes_touched(ctx, account.id, since, state, changes, args, sort)
    if dt.sharing is None:
        _, ids, _ = dt.query_page(ctx, account.id, args.get("filter"), sort, {**args, "position": 0}, 10**9, False)
    else:
        ids = sharing.filter_ids(dt, ctx, account.id, list(dt.query(ctx, account.id, args.get("filter"), sort, args)))
    return query_changes_response(account.id, args, state, ids, touched, removed, limit, len(ids))


def query_changes_response(
    account_id: str,
    args: dict[str, Any],
    new_state: str,
    ids: list[str],
    touched: set[str],
    removed: set[str],
    max_changes: int,
    total: int,
) -> dict[str, Any]:
    """The /queryChanges response from the current results and the ids that
    may have moved: every touched id still in the results is re-added at its
    index (RFC 8620 §5.6 allows removing extra ids)."""
    added = [{"id": i, "index": n} for n, i in enumerate(ids) if i in touched]
    if len(removed) + len(added) > max_changes:
        raise MethodError("tooManyChanges")
    response: dict[str, Any] = {
        "accountId": account_id,
        "oldQueryState": args["sinceQueryState"],
        "newQueryState": new_state,
        "removed": sorted(removed),
        "added": added,
    }
    if args.get("calculateTotal"):
        response["total"] = total
    return response
