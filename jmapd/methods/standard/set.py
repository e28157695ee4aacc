"""/set (RFC 8620 §5.3): create, update, destroy, each object atomic.

Every object runs in its own savepoint inside the call's write
transaction: an object that fails leaves nothing behind, the others
commit. Changes are logged only for objects that succeeded.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from ... import sharing
from ...db import database
from ...protocol.envelope import unstorable_path
from ...protocol.errors import MethodError, PropertyProblems, SetError, invalid_properties
from ...protocol.patch import PatchError, UnknownProperty, apply_patch, unknown_keys
from ...state import CREATED, DESTROYED, UPDATED, current_state
from ..types import Invalid
from .args import check_args

if TYPE_CHECKING:
    from ..context import CallContext
    from ..types import DataType, Prop

log = logging.getLogger("jmapd.set")

SPEC = {
    "accountId": ("Id", True),
    "ifInState": ("String", False),
    "create": ("Object", False),
    "update": ("Object", False),
    "destroy": ("String[]", False),
}


def resolve_refs(ctx: CallContext, prop: Prop, value: Any, path: str) -> Any:
    """Replace ``#creationId`` references in a foreign-key property (and
    normalise case-insensitive map keys)."""
    if prop.normalize_key is not None and isinstance(value, dict):
        value = {prop.normalize_key(k) if isinstance(k, str) else k: v for k, v in value.items()}
    if prop.ref is None or value is None:
        return value

    def one(v: Any, where: str) -> Any:
        if isinstance(v, str) and v.startswith("#"):
            real = ctx.request.created_ids.get(v[1:])
            if real is None:
                raise Invalid(where, f"unknown creation id {v}")
            return real
        return v

    if prop.ref == "id":
        return one(value, path)
    if prop.ref == "ids" and isinstance(value, list):
        return [one(v, f"{path}/{i}") for i, v in enumerate(value)]
    if prop.ref == "idmap" and isinstance(value, dict):
        return {one(k, f"{path}/{k}"): v for k, v in value.items()}
    return value


def invalid_props(dt: DataType, obj: dict[str, Any], names: list[str] | set[str]) -> tuple[list[str], list[str]]:
    """Every invalid path among ``names`` and what is wrong with each."""
    bad: list[str] = []
    descriptions: list[str] = []
    for name in names:
        prop = dt.property(name)
        if prop is None:
            bad.append(name)
            continue
        try:
            prop.validate(obj.get(name))
        except Invalid as exc:
            for path, description in exc.problems:
                bad.append(f"{name}/{path}" if path else name)
                if description:
                    descriptions.append(f"{bad[-1]}: {description}")
    return bad, descriptions


def top_names(paths: list[str]) -> set[str]:
    """The properties the paths are in (``textBody/0/type`` is in textBody)."""
    return {path.split("/", 1)[0] for path in paths}


def type_rule_paths(
    dt: DataType, ctx: CallContext, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None,
    named: set[str],
) -> list[str]:
    """What the type's own rules (:meth:`DataType.validate`) find invalid in an
    object the engine already refuses, so the one SetError names every
    invalid property (RFC 8620 §5.3) and not only those of the generic checks.

    ``obj`` holds only what passed those checks (the rest is its default, its
    old value or absent). A rule may not cope with that: an error other than
    invalidProperties, or a rule failing outright on a missing property, adds
    nothing, since the object is refused either way. It runs in a savepoint
    of its own, so whatever it wrote or failed on is rolled back.
    """
    found = PropertyProblems()
    try:
        with database.atomic():
            dt.validate(ctx, account_id, obj, old)
            raise _Discard
    except _Discard:
        pass
    except SetError as exc:
        found.absorb(exc)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        log.debug("%s rules skipped on a refused object: %r", dt.name, exc)
    return [p for p in found.paths if p.split("/", 1)[0] not in named]


class _Discard(Exception):
    """Rolls back the savepoint of a rule run only to find invalid properties."""


def validate_props(dt: DataType, obj: dict[str, Any], names: list[str] | set[str]) -> None:
    bad, descriptions = invalid_props(dt, obj, names)
    if bad:
        raise invalid_properties(*bad, description="; ".join(descriptions) or None)


def refuse_unstorable(obj: dict[str, Any]) -> None:
    """invalidProperties for a U+0000 anywhere in the object, before any backend sees it."""
    bad = unstorable_path(obj)
    if bad is not None:
        raise invalid_properties(bad[0], description=f"{'/'.join(bad)!r} contains U+0000, which cannot be stored")


def prepare_create(
    dt: DataType, ctx: CallContext, obj: Any
) -> tuple[dict[str, Any], dict[str, Any], PropertyProblems]:
    """The full object to insert, the defaults the server filled in, and
    every invalid property the generic checks found (the object holds their
    defaults instead, for the type's rules to look at)."""
    if not isinstance(obj, dict):
        raise SetError("invalidProperties", "object expected")
    refuse_unstorable(obj)
    # RFC 8620 §5.3: the SetError SHOULD list every invalid property, so
    # each check adds to one list and the object is refused once.
    unknown = [k for k in obj if dt.property(k) is None]
    server_set = [k for k in obj if k not in unknown and dt.property(k).server_set]  # type: ignore[union-attr]
    bad: list[str] = unknown + server_set
    descriptions = ["unknown or server-set properties: " + ", ".join(bad)] if bad else []
    full: dict[str, Any] = {}
    filled: dict[str, Any] = {}
    for name, value in obj.items():
        if name in bad:
            continue
        prop = dt.property(name)
        try:
            full[name] = resolve_refs(ctx, prop, value, name)  # type: ignore[arg-type]
        except Invalid as exc:
            bad.append(exc.path)
    missing = []
    for name, prop in dt.properties.items():
        if name in obj or prop.server_set:
            continue
        if prop.required:
            missing.append(name)
            continue
        if prop.has_default:
            full[name] = filled[name] = prop.default_value()
        elif prop.nullable:
            full[name] = filled[name] = None
    if missing:
        bad += missing
        descriptions.append("missing: " + ", ".join(missing))
    # full holds only what resolved: unknown, server-set, unresolved and
    # missing properties never reach it
    more, why = invalid_props(dt, full, list(full))
    bad += more
    descriptions += why
    problems = PropertyProblems()
    for path in bad:
        problems.add(path)
    problems.descriptions = descriptions
    if problems:
        # what the type's rules see of a refused object: only what passed
        for name in top_names(bad):
            prop = dt.property(name)
            if name in full and prop is not None:
                if prop.has_default:
                    full[name] = prop.default_value()
                elif prop.nullable:
                    full[name] = None
                else:
                    del full[name]
    return full, filled, problems


def create_order(create: dict[str, Any]) -> list[str]:
    """Creation ids ordered so that a create referencing ``#other`` runs after it."""
    keys = list(create)
    pending = set(keys)

    def refs(value: Any, out: set[str]) -> None:
        if isinstance(value, str):
            if value.startswith("#") and value[1:] in pending:
                out.add(value[1:])
        elif isinstance(value, dict):
            for k, v in value.items():
                refs(k, out)
                refs(v, out)
        elif isinstance(value, list):
            for v in value:
                refs(v, out)

    deps = {}
    for key in keys:
        found: set[str] = set()
        refs(create[key], found)
        found.discard(key)
        deps[key] = found
    ordered: list[str] = []
    state: dict[str, int] = {}

    def visit(key: str) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            return  # cycle: fall back to request order
        state[key] = 1
        for dep in sorted(deps[key], key=keys.index):
            visit(dep)
        state[key] = 2
        ordered.append(key)

    for key in keys:
        visit(key)
    return ordered


def charge_quota(
    dt: DataType, ctx: CallContext, account_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> None:
    """Quota usage of an object the engine stored, changed or removed (inside its savepoint)."""
    if not dt.quota_resources or not dt.engine_charges_quota:
        return
    from ...quota import charge_call

    count = (new is not None) - (old is not None) if "count" in dt.quota_resources else 0
    octets = 0
    if "octets" in dt.quota_resources:
        octets = (dt.quota_octets(new) if new is not None else 0) - (dt.quota_octets(old) if old is not None else 0)
    charge_call(ctx, account_id, dt.name, count=count, octets=octets)


def do_create(dt: DataType, ctx: CallContext, account_id: str, cid: str, obj: Any) -> dict[str, Any]:
    if dt.singleton:
        raise SetError("singleton", f"{dt.name} is a singleton")
    if "create" not in dt.set_verbs:
        raise SetError("forbidden", f"{dt.name} objects cannot be created")
    full, filled, problems = prepare_create(dt, ctx, obj)
    if problems:
        full.setdefault("id", dt.new_id(ctx, account_id, full))
        for path in type_rule_paths(dt, ctx, account_id, full, None, top_names(problems.paths)):
            problems.add(path)
        problems.check()
    with database.atomic() if dt.create_needs_savepoint(full) else contextlib.nullcontext():
        full["id"] = dt.new_id(ctx, account_id, full)
        if dt.sharing is not None:
            sharing.check_create(dt, ctx, account_id, full)
        dt.validate(ctx, account_id, full, None)
        if dt.sharing is not None:
            extra = dt.insert(ctx, account_id, sharing.storable(full)) or {}
            extra.update(sharing.after_create(dt, ctx, account_id, full))
        else:
            extra = dt.insert(ctx, account_id, full) or {}
        charge_quota(dt, ctx, account_id, None, full)
    ctx.changes.record(dt.log_account(account_id), dt.name, full["id"], CREATED)
    return {"id": full["id"], **filled, **extra}


def do_update(
    dt: DataType, ctx: CallContext, account_id: str, object_id: str, patch: Any, old: dict[str, Any] | None,
    raw: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    if old is None:
        raise SetError("notFound")
    if "update" not in dt.set_verbs:
        raise SetError("forbidden", f"{dt.name} objects cannot be updated")
    if not isinstance(patch, dict):
        raise SetError("invalidPatch", "a PatchObject must be an object")
    refuse_unstorable(patch)

    def default_for(name: str) -> tuple[bool, Any]:
        prop = dt.property(name)
        if prop is not None and prop.has_default:
            return True, prop.default_value()
        return False, None

    def resolve_token(prop_name: str, depth: int, token: str) -> str:
        prop = dt.property(prop_name)
        if prop is not None and depth == 1 and prop.normalize_key is not None:
            token = prop.normalize_key(token)
        if prop is not None and prop.ref == "idmap" and depth == 1 and token.startswith("#"):
            real = ctx.request.created_ids.get(token[1:])
            if real is None:
                raise invalid_properties(f"{prop_name}/{token}")
            return real
        return token

    def known(name: str) -> bool:
        return dt.property(name) is not None

    unknown = unknown_keys(patch, known)  # named with the rest, not alone
    try:
        new, touched = apply_patch(
            old, {k: v for k, v in patch.items() if k not in unknown}, known=known, default_for=default_for,
            resolve_token=resolve_token,
        )
    except UnknownProperty as exc:  # pragma: no cover - unknown_keys took them out
        raise invalid_properties(exc.name, description=f"unknown property {exc.name}") from None
    except PatchError as exc:
        raise SetError("invalidPatch", str(exc)) from None
    bad = list(dict.fromkeys(unknown.values()))
    descriptions = ["unknown properties: " + ", ".join(bad)] if bad else []
    fixed = []
    for name in touched:
        prop = dt.property(name)
        assert prop is not None
        if (prop.server_set or prop.immutable) and new.get(name) != old.get(name):
            fixed.append(name)
    if fixed:
        descriptions.append("server-set or immutable: " + ", ".join(fixed))
    bad += fixed
    for name in touched:
        if name in bad:
            continue
        prop = dt.property(name)
        try:
            new[name] = resolve_refs(ctx, prop, new.get(name), name)  # type: ignore[arg-type]
        except Invalid as exc:
            bad.append(exc.path)
    failed = {path.split("/", 1)[0] for path in bad}  # a bad reference names a path inside its property
    more, why = invalid_props(dt, new, [n for n in touched if n not in failed])
    bad += more
    if bad:
        named = top_names(bad)
        rest = {**new, **{n: old.get(n) for n in named if n in old}}  # what the rules see: the bad ones unchanged
        bad += type_rule_paths(dt, ctx, account_id, rest, old, named)
        raise invalid_properties(*bad, description="; ".join(descriptions + why) or None)
    changed = {name for name in touched if new.get(name) != old.get(name)}
    if not changed:
        return None
    savepoint = dt.sharing is not None or dt.update_needs_savepoint(old, new, changed)
    with database.atomic() if savepoint else contextlib.nullcontext():
        if dt.sharing is not None:
            own = sharing.apply_update(dt, ctx, account_id, old, new, changed, raw or old)
            dt.validate(ctx, account_id, new, old)
            stored_old = sharing.storable(raw or old)
            extra = dt.replace(ctx, account_id, stored_old, sharing.storable(new), own) if own else None
            completed = sharing.completed_share_with(dt, new.get("shareWith")) if "shareWith" in changed else None
            if completed is not None:
                extra = {**(extra or {}), "shareWith": completed}
        else:
            dt.validate(ctx, account_id, new, old)
            extra = dt.replace(ctx, account_id, old, new, changed)
        charge_quota(dt, ctx, account_id, raw or old, new)
    ctx.changes.record(dt.log_account(account_id), dt.name, object_id, UPDATED, props=changed)
    return extra or None


def do_destroy(dt: DataType, ctx: CallContext, account_id: str, obj: dict[str, Any] | None, args: dict[str, Any]) -> None:
    if obj is None:
        raise SetError("notFound")
    if dt.singleton:
        raise SetError("singleton", f"{dt.name} is a singleton")
    if "destroy" not in dt.set_verbs:
        raise SetError("forbidden", f"{dt.name} objects cannot be destroyed")
    with database.atomic():
        if dt.sharing is not None:
            sharing.check_destroy(dt, ctx, account_id, obj)
        dt.check_destroy(ctx, account_id, obj, args)
        dt.delete(ctx, account_id, obj, args)
        if dt.sharing is not None:
            sharing.after_destroy(dt, ctx, account_id, obj)
        charge_quota(dt, ctx, account_id, obj, None)
    ctx.changes.record(dt.log_account(account_id), dt.name, obj["id"], DESTROYED)


def standard_set(dt: DataType, ctx: CallContext, args: dict[str, Any]) -> Any:
    args = check_args(args, SPEC, dt.set_arguments)
    account = ctx.account(args["accountId"], dt.capability, write=True)
    dt.check_set_args(ctx, args)
    dt.prologue(ctx, "set", account.id, args)
    create = args.get("create") or {}
    update = args.get("update") or {}
    destroy = args.get("destroy") or []
    total = len(create) + len(update) + len(destroy)
    limit = ctx.config.limits.max_objects_in_set
    if total > limit:
        raise MethodError("requestTooLarge", f"at most {limit} objects per /set")
    response = run_set(dt, ctx, account.id, args, create, update, destroy)
    extra = dt.after_set(ctx, account.id, args, response)
    if extra:
        return [(f"{dt.name}/set", response), *extra]
    return response


def run_set(
    dt: DataType,
    ctx: CallContext,
    account_id: str,
    args: dict[str, Any],
    create: dict[str, Any],
    update: dict[str, Any],
    destroy: list[str],
) -> dict[str, Any]:
    created: dict[str, Any] = {}
    updated: dict[str, Any] = {}
    destroyed: list[str] = []
    not_created: dict[str, Any] = {}
    not_updated: dict[str, Any] = {}
    not_destroyed: dict[str, Any] = {}
    created_ids_before = dict(ctx.request.created_ids)
    try:
        with ctx.write(account_id):
            old_state = current_state(dt.log_account(account_id), dt.name)
            if args.get("ifInState") is not None and args["ifInState"] != old_state:
                raise MethodError("stateMismatch")
            for cid in create_order(create):
                mark = ctx.changes.mark()
                try:
                    created[cid] = do_create(dt, ctx, account_id, cid, create[cid])
                    ctx.request.created_ids[cid] = created[cid]["id"]
                except SetError as exc:
                    ctx.changes.rollback(mark)  # the savepoint is gone: so are its change rows and deferred writes
                    not_created[cid] = exc.to_json()
            ctx.changes.write_deferred()  # what the creations buffered, before anything reads it back
            destroy_ids = [ctx.resolve_id(i) for i in destroy]
            update_ids = {ctx.resolve_id(k): v for k, v in update.items()}
            raw: dict[str, Any] = {}
            if update_ids:
                current = dt.load(ctx, account_id, list(update_ids), dt.default_properties(), {})
                if dt.sharing is not None:
                    raw = current
                    current = sharing.decorate(dt, ctx, account_id, current, for_update=True)
            for object_id, patch in update_ids.items():
                mark = ctx.changes.mark()
                try:
                    if object_id in destroy_ids:
                        raise SetError("willDestroy")
                    updated[object_id] = do_update(
                        dt, ctx, account_id, object_id, patch, current.get(object_id), raw.get(object_id)
                    )
                    current.pop(object_id, None)
                except SetError as exc:
                    ctx.changes.rollback(mark)
                    not_updated[object_id] = exc.to_json()
            if destroy_ids:
                existing = dt.load(ctx, account_id, list(dict.fromkeys(destroy_ids)), dt.default_properties(), {})
                if dt.sharing is not None:
                    existing = sharing.decorate(dt, ctx, account_id, existing)
            for object_id in destroy_ids:
                mark = ctx.changes.mark()
                try:
                    if object_id in destroyed:
                        raise SetError("notFound")
                    do_destroy(dt, ctx, account_id, existing.get(object_id), args)
                    destroyed.append(object_id)
                except SetError as exc:
                    ctx.changes.rollback(mark)
                    not_destroyed[object_id] = exc.to_json()
    except BaseException:
        ctx.request.created_ids.clear()
        ctx.request.created_ids.update(created_ids_before)
        raise
    return {
        "accountId": account_id,
        "oldState": old_state,
        "newState": current_state(dt.log_account(account_id), dt.name),
        "created": created or None,
        "updated": updated or None,
        "destroyed": destroyed or None,
        "notCreated": not_created or None,
        "notUpdated": not_updated or None,
        "notDestroyed": not_destroyed or None,
    }
