"""Per-user event properties (draft §5.3 "Per-user properties").

``keywords``, ``color``, ``freeBusyStatus``, ``useDefaultAlerts`` and
``alerts`` (so also each alert's ``acknowledged``) — at the top level and
in ``recurrenceOverrides`` patches — belong to each user. The account's
owner keeps theirs in the event document; everyone else (sharees and
delegates, as :func:`jmapd.sharing.apply_update` treats Calendar's
per-user properties) in a ``PerUserValue`` row of the event, so nothing a
sharee does to them reaches the owner or another sharee. Sharees start
from the defaults, never from the owner's values. A write of per-user
properties only keeps its ``updated`` for that user; reads return the
later of it and the event's.

The overlay row holds ``props`` (top-level values), ``overrides``
(recurrence id → the per-user paths of that override) and ``updated``.
"""

from __future__ import annotations

from typing import Any

from jmapd.db import tuples
from jmapd.models import PerUserValue

#: Draft §5.4: the event properties stored per user (also never a reason to
#: send a scheduling message).
PER_USER = frozenset({"keywords", "color", "freeBusyStatus", "useDefaultAlerts", "alerts"})

EVENT_TYPE = "CalendarEvent"


def is_personal(path: str) -> bool:
    """Whether a patch path (``alerts/a1/acknowledged``) addresses a per-user property."""
    return path.split("/", 1)[0] in PER_USER


def _split_patch(patch: Any) -> tuple[Any, dict[str, Any]]:
    """(shared part, per-user part) of one override patch."""
    if not isinstance(patch, dict):
        return patch, {}
    shared = {k: v for k, v in patch.items() if not is_personal(k)}
    return shared, {k: v for k, v in patch.items() if is_personal(k)}


def overlays(account_id: str, user_id: int, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The user's overlay rows of events ``ids``."""
    if not ids:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for chunk in range(0, len(ids), 500):
        rows = PerUserValue.select(PerUserValue.object_id, PerUserValue.data).where(
            (PerUserValue.account_id == account_id) & (PerUserValue.type_name == EVENT_TYPE)
            & (PerUserValue.user == user_id) & PerUserValue.object_id.in_(ids[chunk: chunk + 500]))
        out.update({oid: dict(data) for oid, data in tuples(rows)})
    return out


def view(doc: dict[str, Any], overlay: dict[str, Any] | None) -> dict[str, Any]:
    """The event as a user other than the owner sees it."""
    overlay = overlay or {}
    out = {k: v for k, v in doc.items() if k not in PER_USER}
    out.update({k: v for k, v in (overlay.get("props") or {}).items() if v is not None})
    mine = overlay.get("overrides") or {}
    stored = doc.get("recurrenceOverrides")
    if isinstance(stored, dict) or mine:
        merged = {rid: _split_patch(p)[0] for rid, p in (stored or {}).items()}
        for rid, patch in mine.items():
            if rid in merged and isinstance(merged[rid], dict):
                merged[rid] = {**merged[rid], **patch}
            elif rid not in merged and _occurs(doc, rid):  # the user's own values of a plain occurrence
                merged[rid] = dict(patch)
        out["recurrenceOverrides"] = merged if merged or isinstance(stored, dict) else stored
    when = overlay.get("updated")
    if when and (not out.get("updated") or str(when) > str(out["updated"])):
        out["updated"] = when
    return out


def split(doc: dict[str, Any], new_view: dict[str, Any], *, personal_only: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """(event document, overlay) after a non-owner wrote ``new_view``: the
    document keeps the owner's per-user values, the overlay gets the
    writer's; ``updated`` goes to the overlay when only those changed."""
    new_doc = {k: v for k, v in new_view.items() if k not in PER_USER}
    new_doc.update({k: v for k, v in doc.items() if k in PER_USER})
    props = {k: new_view[k] for k in PER_USER if new_view.get(k) is not None}
    overrides: dict[str, dict[str, Any]] = {}
    stored = doc.get("recurrenceOverrides") or {}
    written = new_view.get("recurrenceOverrides")
    if isinstance(written, dict):
        merged: dict[str, Any] = {}
        for rid, patch in written.items():
            shared, personal = _split_patch(patch)
            if personal:
                overrides[rid] = personal
            owner_part = _split_patch(stored.get(rid))[1] if rid in stored else {}
            if shared == {} and personal and rid not in stored and _occurs(new_doc, rid):
                continue  # per-user values of a plain occurrence: nothing to store for everyone
            merged[rid] = {**shared, **owner_part} if isinstance(shared, dict) else shared
        new_doc["recurrenceOverrides"] = merged if merged or stored else doc.get("recurrenceOverrides")
    elif "recurrenceOverrides" in doc:
        new_doc["recurrenceOverrides"] = None
    overlay: dict[str, Any] = {"props": props, "overrides": overrides}
    if personal_only:
        new_doc.pop("updated", None)
        if "updated" in doc:
            new_doc["updated"] = doc["updated"]
        if new_view.get("updated") and new_view.get("updated") != doc.get("updated"):
            overlay["updated"] = new_view["updated"]
    return new_doc, overlay


def _occurs(doc: dict[str, Any], rid: str) -> bool:
    """Whether the event's rule (not an override) makes occurrence ``rid``."""
    from .domain.recurrence import is_occurrence

    return is_occurrence({k: v for k, v in doc.items() if k != "recurrenceOverrides"}, rid)


def store(account_id: str, user_id: int, object_id: str, overlay: dict[str, Any]) -> None:
    where = ((PerUserValue.account_id == account_id) & (PerUserValue.type_name == EVENT_TYPE)
             & (PerUserValue.user == user_id) & (PerUserValue.object_id == object_id))
    PerUserValue.delete().where(where).execute()
    if overlay.get("props") or overlay.get("overrides") or overlay.get("updated"):
        PerUserValue.insert(account_id=account_id, type_name=EVENT_TYPE, object_id=object_id,
                            user=user_id, data=overlay).execute()


def drop(account_id: str, object_id: str) -> None:
    """A destroyed event takes every user's values with it."""
    PerUserValue.delete().where(
        (PerUserValue.account_id == account_id) & (PerUserValue.type_name == EVENT_TYPE)
        & (PerUserValue.object_id == object_id)).execute()


def only_personal(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether an update touches nothing but per-user values (and ``updated``)."""
    keys = {k for k in set(old) | set(new) if old.get(k) != new.get(k)} - {"updated"}
    if keys - PER_USER - {"recurrenceOverrides"}:
        return False
    if "recurrenceOverrides" not in keys:
        return True
    before, after = old.get("recurrenceOverrides") or {}, new.get("recurrenceOverrides") or {}
    if set(before) != set(after):
        return False
    return all(_split_patch(before[r])[0] == _split_patch(after[r])[0] for r in before)
