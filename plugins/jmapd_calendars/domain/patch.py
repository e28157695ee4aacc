"""The PatchObject between two JSON objects (RFC 8620 §5.3 paths).

CalendarEventNotification.eventPatch must turn the ``event`` it carries
into the event after the change; the shortest such patch descends into
objects and replaces anything else (arrays and scalars) whole.
"""

from __future__ import annotations

from typing import Any


def escape(key: str) -> str:
    """A key as one JSON Pointer reference token (RFC 6901 §3)."""
    return key.replace("~", "~0").replace("/", "~1")


def patch_between(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Paths to values (null: removed) that make ``old`` into ``new``.

    A non-empty object on both sides is patched member by member;
    anything else (arrays, scalars, an object that appears or empties) is
    replaced whole, since a patch may not address members of an absent object."""
    out: dict[str, Any] = {}
    for key in old:
        if key not in new:
            out[prefix + escape(key)] = None
    for key, value in new.items():
        before = old.get(key)
        if key in old and before == value:
            continue
        path = prefix + escape(key)
        if isinstance(before, dict) and isinstance(value, dict) and before and value:
            out.update(patch_between(before, value, path + "/"))
        else:
            out[path] = value
    return out
