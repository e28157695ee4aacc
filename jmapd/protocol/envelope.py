"""The Request and Response objects (RFC 8620 §3.3, §3.4) and result references."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import pointer
from .errors import MethodError, RequestError

CORE = "urn:ietf:params:jmap:core"
MAX_DEPTH = 128


@dataclass
class Request:
    using: list[str]
    calls: list[tuple[str, dict[str, Any], str]]
    created_ids: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def depth_ok(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Iteratively check nesting depth, so hostile input cannot recurse us."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def parse_request(data: Any) -> Request:
    """Check the type signature of a decoded Request; raise notRequest."""
    if not isinstance(data, dict):
        raise RequestError("notRequest", "The request must be a JSON object.")
    using = data.get("using")
    calls = data.get("methodCalls")
    if not isinstance(using, list) or not all(isinstance(u, str) for u in using):
        raise RequestError("notRequest", "'using' must be an array of strings.")
    if not isinstance(calls, list):
        raise RequestError("notRequest", "'methodCalls' must be an array.")
    parsed = []
    for i, call in enumerate(calls):
        if (
            not isinstance(call, list)
            or len(call) != 3
            or not isinstance(call[0], str)
            or not isinstance(call[1], dict)
            or not isinstance(call[2], str)
        ):
            raise RequestError(
                "notRequest", f"methodCalls[{i}] must be [name, arguments object, call id]."
            )
        parsed.append((call[0], call[1], call[2]))
    created_ids = data.get("createdIds")
    if created_ids is not None and (
        not isinstance(created_ids, dict) or not all(isinstance(v, str) for v in created_ids.values())
    ):
        raise RequestError("notRequest", "'createdIds' must map ids to ids.")
    return Request(using=using, calls=parsed, created_ids=created_ids)


def resolve_references(args: dict[str, Any], responses: list[list[Any]]) -> dict[str, Any]:
    """Replace ``#name`` ResultReference arguments by their values (§3.7)."""
    if not any(k.startswith("#") for k in args):
        return args
    out: dict[str, Any] = {}
    for key, value in args.items():
        if not key.startswith("#"):
            out[key] = value
            continue
        name = key[1:]
        if name in args:
            raise MethodError("invalidArguments", f"both {name} and #{name} given")
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("resultOf"), str)
            or not isinstance(value.get("name"), str)
            or not isinstance(value.get("path"), str)
        ):
            raise MethodError("invalidResultReference", f"#{name} is not a ResultReference")
        for response in responses:
            if response[2] == value["resultOf"]:
                break
        else:
            raise MethodError("invalidResultReference", f"no response for call {value['resultOf']!r}")
        if response[0] != value["name"]:
            raise MethodError(
                "invalidResultReference",
                f"call {value['resultOf']!r} answered {response[0]!r}, not {value['name']!r}",
            )
        try:
            out[name] = pointer.evaluate(response[1], value["path"])
        except pointer.PointerError as exc:
            raise MethodError("invalidResultReference", f"path {value['path']!r}: {exc}") from None
    return out
