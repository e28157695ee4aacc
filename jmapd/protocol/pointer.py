"""JSON Pointer (RFC 6901) as JMAP uses it: result references and patches.

Result references add ``*`` to map over arrays (RFC 8620 §3.7); patches
forbid pointing inside arrays (§5.3). Both work on already-decoded JSON.
"""

from __future__ import annotations

from typing import Any

#: Guards against a hostile pointer such as ``/*/*/*/...`` over a huge array.
MAX_RESULT_ITEMS = 100_000


class PointerError(ValueError):
    pass


def split(pointer: str, *, implicit_root: bool = False) -> list[str]:
    """Split a pointer into unescaped reference tokens."""
    if implicit_root:
        pointer = "/" + pointer
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PointerError(f"pointer must start with '/': {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _step(value: Any, token: str) -> Any:
    if isinstance(value, dict):
        if token not in value:
            raise PointerError(f"no member {token!r}")
        return value[token]
    if isinstance(value, list):
        if not token.isdigit() or (token != "0" and token.startswith("0")):
            raise PointerError(f"bad array index {token!r}")
        index = int(token)
        if index >= len(value):
            raise PointerError(f"index {index} out of range")
        return value[index]
    raise PointerError(f"cannot descend into {type(value).__name__} with {token!r}")


def evaluate(document: Any, pointer: str) -> Any:
    """Evaluate a result-reference path, with ``*`` mapping and flattening."""
    tokens = split(pointer)
    budget = [MAX_RESULT_ITEMS]

    def walk(value: Any, rest: list[str]) -> Any:
        for i, token in enumerate(rest):
            if token == "*" and isinstance(value, list):
                out: list[Any] = []
                for item in value:
                    result = walk(item, rest[i + 1 :])
                    if isinstance(result, list):
                        out.extend(result)
                    else:
                        out.append(result)
                    budget[0] -= len(result) if isinstance(result, list) else 1
                    if budget[0] < 0:
                        raise PointerError("result reference expands to too many items")
                return out
            value = _step(value, token)
        return value

    return walk(document, tokens)
