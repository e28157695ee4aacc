"""The /query window (RFC 8620 §5.5): position, anchor, anchorOffset, limit.

Kept apart from the engine so that :class:`~jmapd.methods.types.DataType`
can page by default without importing the engine that imports it.
"""

from __future__ import annotations

from typing import Any

from ..protocol.errors import MethodError


def window(ids: list[str], args: dict[str, Any], max_limit: int) -> tuple[int, list[str], int | None]:
    """Apply position/anchor/anchorOffset/limit; returns (position, ids, limit if clamped)."""
    total = len(ids)
    limit = args.get("limit")
    clamped = None
    if limit is None or limit > max_limit:
        clamped = max_limit
        limit = max_limit
    anchor = args.get("anchor")
    if anchor is not None:
        try:
            index = ids.index(anchor)
        except ValueError:
            raise MethodError("anchorNotFound") from None
        position = max(0, index + (args.get("anchorOffset") or 0))
    else:
        position = args.get("position") or 0
        if position < 0:
            position = max(0, total + position)
    return position, ids[position : position + limit], clamped
