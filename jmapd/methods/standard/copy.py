"""/copy (RFC 8620 §5.4): between two accounts, then optionally destroy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...db import database
from ...protocol.errors import MethodError, SetError
from ...state import CREATED, current_state
from .args import check_args
from .set import prepare_create, run_set, top_names, type_rule_paths

if TYPE_CHECKING:
    from ..context import CallContext
    from ..types import DataType

SPEC = {
    "fromAccountId": ("Id", True),
    "ifFromInState": ("String", False),
    "accountId": ("Id", True),
    "ifInState": ("String", False),
    "create": ("Object", True),
    "onSuccessDestroyOriginal": ("Boolean", False),
    "destroyFromIfInState": ("String", False),
}


def standard_copy(dt: DataType, ctx: CallContext, args: dict[str, Any]) -> Any:
    args = check_args(args, SPEC, dt.copy_arguments)
    from_account = ctx.account(
        args["fromAccountId"], dt.capability,
        not_found="fromAccountNotFound", not_supported="fromAccountNotSupportedByMethod",
    )
    account = ctx.account(args["accountId"], dt.capability, write=True)
    if from_account.id == account.id:
        raise MethodError("invalidArguments", "fromAccountId and accountId must differ")
    dt.prologue(ctx, "copy", account.id, args)
    create = args["create"]
    if len(create) > ctx.config.limits.max_objects_in_set:
        raise MethodError("requestTooLarge")
    if args.get("ifFromInState") is not None and args["ifFromInState"] != current_state(from_account.id, dt.name):
        raise MethodError("stateMismatch", "ifFromInState does not match")
    sources: dict[str, Any] = {}
    for cid, obj in create.items():
        if isinstance(obj, dict) and isinstance(obj.get("id"), str):
            sources[cid] = ctx.resolve_id(obj["id"])
    originals = dt.load(ctx, from_account.id, list(set(sources.values())), dt.default_properties(), {})
    if dt.sharing is not None:
        from ... import sharing

        originals = {k: sharing.storable(v) for k, v in sharing.decorate(dt, ctx, from_account.id, originals).items()}
    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    with ctx.write(account.id):
        old_state = current_state(account.id, dt.name)
        if args.get("ifInState") is not None and args["ifInState"] != old_state:
            raise MethodError("stateMismatch")
        for cid, overrides in create.items():
            mark = ctx.changes.mark()
            try:
                if cid not in sources:
                    raise SetError("invalidProperties", "the id of the record to copy is required", properties=["id"])
                source = originals.get(sources[cid])
                if source is None:
                    raise SetError("notFound", f"no {dt.name} {sources[cid]} in the from account")
                obj = dt.copy_object(ctx, from_account.id, account.id, source, overrides)
                with database.atomic():  # the loop's mark/rollback takes back what it buffered
                    result = dt.insert_copy(ctx, from_account.id, account.id, source, obj)
                    if result is None:
                        full, filled, problems = prepare_create(dt, ctx, obj)
                        if problems:
                            named = top_names(problems.paths)
                            full.setdefault("id", dt.new_id(ctx, account.id, full))
                            for path in type_rule_paths(dt, ctx, account.id, full, None, named):
                                problems.add(path)
                            problems.check()
                        full["id"] = dt.new_id(ctx, account.id, full)
                        dt.validate(ctx, account.id, full, None)
                        extra = dt.insert(ctx, account.id, full) or {}
                        from .set import charge_quota

                        charge_quota(dt, ctx, account.id, None, full)
                        result = {"id": full["id"], **filled, **extra}
                ctx.changes.record(account.id, dt.name, result["id"], CREATED)
                created[cid] = result
                ctx.request.created_ids[cid] = result["id"]
            except SetError as exc:
                ctx.changes.rollback(mark)  # with the savepoint go its change rows and deferred writes
                not_created[cid] = exc.to_json()
    response = {
        "fromAccountId": from_account.id,
        "accountId": account.id,
        "oldState": old_state,
        "newState": current_state(account.id, dt.name),
        "created": created or None,
        "notCreated": not_created or None,
    }
    if not args.get("onSuccessDestroyOriginal") or not created:
        return response
    destroy = [sources[cid] for cid in created]
    try:
        if not ctx.principal.accounts[from_account.id].read_only:
            set_args = {"ifInState": args.get("destroyFromIfInState")}
            result = run_set(dt, ctx, from_account.id, set_args, {}, {}, destroy)
        else:
            raise MethodError("accountReadOnly")
    except MethodError as exc:
        return [(f"{dt.name}/copy", response), ("error", exc.to_args())]
    return [(f"{dt.name}/copy", response), (f"{dt.name}/set", result)]
