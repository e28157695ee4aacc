"""Argument checking shared by the standard methods: one error per mistake."""

from __future__ import annotations

from typing import Any

from ...protocol.errors import MethodError
from ..types import CHECKS


def check_args(args: dict[str, Any], spec: dict[str, tuple[str, bool]], extra: dict[str, Any]) -> dict[str, Any]:
    """Validate ``args`` against ``{name: (type, required)}`` plus a type's extras.

    Unknown arguments are refused: a typo must not silently become a default.
    """
    allowed = set(spec) | set(extra)
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise MethodError("invalidArguments", f"unknown argument: {unknown[0]}")
    out = dict(args)
    for name, (type_, required) in spec.items():
        if name not in args or args[name] is None:
            if required:
                raise MethodError("invalidArguments", f"missing argument: {name}")
            continue
        nullable_types = type_.split("|")
        if not any(CHECKS[t](args[name]) for t in nullable_types):
            raise MethodError("invalidArguments", f"{name}: expected {type_}")
    for name, default in extra.items():
        out.setdefault(name, default)
    return out


def max_changes(args: dict[str, Any], default: int) -> int:
    value = args.get("maxChanges")
    if value is None:
        return default
    if not CHECKS["UnsignedInt"](value) or value == 0:
        raise MethodError("invalidArguments", "maxChanges must be a positive integer")
    return min(int(value), default)
