"""PatchObject application (RFC 8620 §5.3 "update")."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .pointer import PointerError, split


class PatchError(ValueError):
    """The patch itself is malformed: ``invalidPatch``."""


class UnknownProperty(ValueError):
    """A patch names a top-level property the type does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def unknown_keys(patch: dict[str, Any], known: Callable[[str], bool]) -> dict[str, str]:
    """The keys of ``patch`` naming a top-level property the type does not
    have, with that property's name, so an update can name all of them along
    with its other invalid properties (RFC 8620 §5.3). A key that is no valid
    pointer is not listed: applying the patch reports it (invalidPatch)."""
    found: dict[str, str] = {}
    for key in patch:
        try:
            tokens = split(key, implicit_root=True)
        except PointerError:
            continue
        if tokens and tokens[0] != "" and not known(tokens[0]):
            found[key] = tokens[0]
    return found


def apply_patch(
    obj: dict[str, Any],
    patch: dict[str, Any],
    *,
    known: Callable[[str], bool],
    default_for: Callable[[str], tuple[bool, Any]],
    resolve_token: Callable[[str, int, str], str] = lambda prop, depth, token: token,
) -> tuple[dict[str, Any], set[str]]:
    """A patched deep copy of ``obj`` and the top-level properties touched.

    ``default_for(prop)`` returns ``(has_default, value)`` for resetting a
    top-level property with ``null``; ``resolve_token`` maps tokens such as
    ``#creationId`` map keys to real ids.
    """
    parsed: list[tuple[list[str], Any]] = []
    for key, value in patch.items():
        try:
            tokens = split(key, implicit_root=True)
        except PointerError as exc:
            raise PatchError(str(exc)) from None
        if not tokens or tokens[0] == "":
            raise PatchError(f"empty path {key!r}")
        if not known(tokens[0]):
            raise UnknownProperty(tokens[0])
        tokens = [resolve_token(tokens[0], i, t) if i else t for i, t in enumerate(tokens)]
        parsed.append((tokens, value))
    ordered = sorted(parsed, key=lambda item: item[0])
    for (a, _), (b, _) in zip(ordered, ordered[1:], strict=False):
        if b[: len(a)] == a:
            raise PatchError(f"{'/'.join(a)} is a prefix of {'/'.join(b)}")
    result = copy.deepcopy(obj)
    touched: set[str] = set()
    for tokens, value in parsed:
        parent: Any = result
        for depth, token in enumerate(tokens[:-1]):
            if isinstance(parent, list):
                raise PatchError("a patch must not point inside an array")
            if not isinstance(parent, dict) or token not in parent:
                raise PatchError(f"{'/'.join(tokens[: depth + 1])} does not exist")
            parent = parent[token]
        last = tokens[-1]
        if isinstance(parent, list):
            raise PatchError("a patch must not point inside an array")
        if not isinstance(parent, dict):
            if parent is None and len(tokens) > 1:
                raise PatchError(f"{'/'.join(tokens[:-1])} does not exist")
            raise PatchError(f"{'/'.join(tokens[:-1])} is not an object")
        touched.add(tokens[0])
        if value is None:
            if len(tokens) == 1:
                has_default, default = default_for(last)
                if has_default:
                    parent[last] = default
                    continue
                parent[last] = None
                continue
            parent.pop(last, None)
        else:
            parent[last] = copy.deepcopy(value)
    return result, touched
