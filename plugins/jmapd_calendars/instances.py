"""Synthetic ids of expanded occurrences (draft §5.8, §5.9) and what
/get and /set do with them.

An instance id is ``<base id>_<recurrenceId without punctuation>``
(``eAbC_20250303T090000``): base ids never contain ``_`` (see
:func:`jmapd.models.new_id`), so the split is unambiguous, the id is a
valid JMAP Id, and the server can resolve it without storing anything.

/set on an instance id is rewritten into an update of the base event's
``recurrenceOverrides`` before the standard /set runs: an update
becomes the override patch of what differs from the un-overridden
occurrence, a destroy becomes ``{"excluded": true}``. The change is
logged for the base id only, so synthetic ids never appear in
/changes (draft §5.2).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from jmapd.protocol.errors import SetError
from jmapd.protocol.patch import PatchError, UnknownProperty, apply_patch

from .domain.recurrence import _instance, get_occurrence, get_occurrences
from .parsed import Parsed

_RID = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$")
#: Properties an occurrence may not override (draft §5: isDraft MUST NOT
#: appear in recurrenceOverrides; the rest are the series' or the store's).
NOT_OVERRIDABLE = frozenset({
    "id", "baseEventId", "calendarIds", "isDraft", "isOrigin", "uid", "created", "recurrenceId",
    "recurrenceIdTimeZone", "recurrenceRule", "excludedRecurrenceRules", "recurrenceOverrides",
    "recurrenceRules", "utcStart", "utcEnd", "@type", "method", "prodId",
})


def instance_id(base_id: str, recurrence_id: str) -> str:
    return f"{base_id}_{recurrence_id.replace('-', '').replace(':', '')}"


def split_id(object_id: str) -> tuple[str, str] | None:
    """(base id, recurrenceId) of a synthetic id, None for a stored event's id."""
    base, sep, tail = object_id.rpartition("_")
    match = _RID.match(tail) if sep and base else None
    if match is None:
        return None
    y, mo, d, h, mi, s = match.groups()
    return base, f"{y}-{mo}-{d}T{h}:{mi}:{s}"


def occurrences(base: dict[str, Any], wanted: dict[str, str], parsed: Parsed | None = None, *,
                shared: bool = False) -> dict[str, dict[str, Any]]:
    """:func:`occurrence` of several instance ids (id → recurrenceId) of one
    base event, which is parsed once (or was: ``parsed``, whose known
    occurrences are not looked up again); ids naming no occurrence are left
    out. ``shared``: see :func:`get_occurrences` (a /get that only serializes)."""
    if not base.get("recurrenceRule") and not base.get("recurrenceOverrides"):
        return {}
    try:
        rids = list(dict.fromkeys(wanted.values()))
        if parsed is None:
            found = get_occurrences(base, rids)
        else:
            found = get_occurrences(base, rids, series=parsed.series("UTC"), known=parsed.occurrences,
                                    shared=shared)
    except (ValueError, KeyError, TypeError):
        return {}
    out = {}
    for object_id, rid in wanted.items():
        inst = found.get(rid)
        if inst is not None:
            out[object_id] = {**inst, "id": object_id, "baseEventId": base["id"], "recurrenceRule": None,
                              "recurrenceOverrides": None, "excludedRecurrenceRules": None}
    return out


def occurrence(base: dict[str, Any], object_id: str, recurrence_id: str) -> dict[str, Any] | None:
    """The event /get returns for an instance id: overrides resolved, start
    and recurrenceId set, the series properties null (draft §5.1)."""
    if not base.get("recurrenceRule") and not base.get("recurrenceOverrides"):
        return None
    try:
        inst = get_occurrence(base, recurrence_id)
    except (ValueError, KeyError, TypeError):
        return None
    if inst is None:
        return None
    inst = {**inst, "id": object_id, "baseEventId": base["id"], "recurrenceRule": None,
            "recurrenceOverrides": None, "excludedRecurrenceRules": None}
    return inst


def override_patch(base: dict[str, Any], recurrence_id: str, new: dict[str, Any]) -> dict[str, Any]:
    """The PatchObject turning the plain occurrence into ``new`` (top-level
    keys only, which JSCalendar allows as pointers)."""
    plain = _instance({k: v for k, v in base.items() if k != "id"}, recurrence_id, None)
    patch: dict[str, Any] = {}
    for key in set(plain) | set(new):
        if key in NOT_OVERRIDABLE and key != "start":
            continue
        if key == "start" and new.get("start") == recurrence_id:
            continue
        if new.get(key) != plain.get(key):
            patch[key] = copy.deepcopy(new.get(key))
    return patch


def rewrite_set(dt: Any, ctx: Any, account_id: str, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[tuple[str, str]]], dict[str, Any]]:
    """Move updates and destroys of instance ids onto their base events.

    Returns the rewritten arguments, base id → [(instance id, verb)], and
    the SetErrors of instances that failed before reaching the base.
    """
    update = dict(args.get("update") or {})
    destroy = list(args.get("destroy") or [])
    split = {sid: split_id(sid) for sid in [*update, *destroy] if isinstance(sid, str)}
    wanted = {k: v for k, v in split.items() if v is not None}
    if not wanted:
        return args, {}, {}
    bases = dt.load(ctx, account_id, sorted({b for b, _ in wanted.values()}), dt.default_properties(), {})
    overrides: dict[str, dict[str, Any]] = {}
    routed: dict[str, list[tuple[str, str]]] = {}
    failed: dict[str, Any] = {}
    for sid, (base_id, rid) in wanted.items():
        verb = "update" if sid in update else "destroy"
        if verb == "update":
            del update[sid]
        else:
            destroy.remove(sid)
        base = bases.get(base_id)
        inst = occurrence(base, sid, rid) if base is not None else None
        if inst is None or base_id in update or base_id in destroy:
            failed[sid] = (verb, SetError("notFound", "no such occurrence").to_json() if inst is None
                           else SetError("invalidPatch", "the base event is changed in the same call").to_json())
            continue
        merged = overrides.setdefault(base_id, copy.deepcopy(base.get("recurrenceOverrides") or {}))
        if verb == "destroy":
            merged[rid] = {"excluded": True}
        else:
            try:
                new, _ = apply_patch(inst, update_of(args, sid), known=lambda n: dt.property(n) is not None,
                                     default_for=lambda n: (False, None))
            except UnknownProperty as exc:
                failed[sid] = (verb, SetError("invalidProperties", f"unknown property {exc.name}",
                                              properties=[exc.name]).to_json())
                continue
            except PatchError as exc:
                failed[sid] = (verb, SetError("invalidPatch", str(exc)).to_json())
                continue
            bad = sorted(k for k in NOT_OVERRIDABLE - {"id", "baseEventId", "recurrenceRule", "recurrenceOverrides",
                                                       "excludedRecurrenceRules", "recurrenceId"}
                         if new.get(k) != inst.get(k))
            if bad:
                failed[sid] = (verb, SetError("invalidProperties", "not per occurrence: " + ", ".join(bad),
                                              properties=bad).to_json())
                continue
            merged[rid] = override_patch(base, rid, new)
        routed.setdefault(base_id, []).append((sid, verb))
    for base_id, value in overrides.items():
        if base_id in routed:
            update[base_id] = {"recurrenceOverrides": value}
    return {**args, "update": update or None, "destroy": destroy or None}, routed, failed


def update_of(args: dict[str, Any], sid: str) -> dict[str, Any]:
    patch = (args.get("update") or {}).get(sid)
    if not isinstance(patch, dict):
        raise PatchError("a PatchObject must be an object")
    return patch


def _as_instance_error(error: Any, sid: str) -> Any:
    """The base event's SetError as the instance's: paths into its own
    override become the instance's properties (``start``, not
    ``recurrenceOverrides/<id>/start``)."""
    parts = split_id(sid)
    if not isinstance(error, dict) or not error.get("properties") or parts is None:
        return error
    prefix = f"recurrenceOverrides/{parts[1]}"
    props = [p[len(prefix) + 1:] if p.startswith(prefix + "/") else "start" if p == prefix else p
             for p in error["properties"]]
    return {**error, "properties": list(dict.fromkeys(props))}


def map_response(response: dict[str, Any], routed: dict[str, list[tuple[str, str]]], failed: dict[str, Any],
                 explicit: set[str]) -> dict[str, Any]:
    """Report each instance id by its base event's outcome; the base itself
    only if the client named it."""
    updated = dict(response.get("updated") or {})
    not_updated = dict(response.get("notUpdated") or {})
    destroyed = list(response.get("destroyed") or [])
    not_destroyed = dict(response.get("notDestroyed") or {})
    for base_id, members in routed.items():
        ok = base_id in updated
        error = not_updated.get(base_id)
        for sid, verb in members:
            if verb == "update":
                if ok:
                    updated[sid] = None
                else:
                    not_updated[sid] = _as_instance_error(error, sid)
            elif ok:
                destroyed.append(sid)
            else:
                not_destroyed[sid] = error
        if base_id not in explicit:
            updated.pop(base_id, None)
            not_updated.pop(base_id, None)
    for sid, (verb, error) in failed.items():
        (not_updated if verb == "update" else not_destroyed)[sid] = error
    return {**response, "updated": updated or None, "notUpdated": not_updated or None,
            "destroyed": destroyed or None, "notDestroyed": not_destroyed or None}
