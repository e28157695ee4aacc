"""The Request and Response objects (RFC 8620 §3.3, §3.4) and result references."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import pointer
from .errors import MethodError, RequestError

CORE = "urn:ietf:params:jmap:core"
#: Deepest nesting of arrays and objects a request may use (documented in
#: docs/operator.rst); deeper is a request-level ``limit`` naming ``maxDepth``.
MAX_DEPTH = 128

#: A JSON string token; what is left outside strings holds one ``:`` per member.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


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


def count_members(value: Any) -> int:
    """Object members in a decoded value, walked without recursion."""
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            count += len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


#: Characters no backend stores in text: PostgreSQL refuses U+0000 outright,
#: so refusing them for every backend keeps SQLite and PostgreSQL identical.
UNSTORABLE = "\x00"


def unstorable_path(value: Any, skip: frozenset[str] = frozenset()) -> list[str] | None:
    """The path to the first key or string holding an unstorable character.

    ``skip`` names top-level members whose values (not keys) are checked
    elsewhere, so /set can answer per object.
    """
    stack: list[tuple[Any, list[str]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if UNSTORABLE in item:
                return path
        elif isinstance(item, dict):
            for key, sub in item.items():
                if UNSTORABLE in key:
                    return [*path, key]
                if path or key not in skip:
                    stack.append((sub, [*path, key]))
                elif isinstance(sub, dict):
                    stack.extend((k, [key, k]) for k in sub)
        elif isinstance(item, list):
            stack.extend((sub, [*path, str(i)]) for i, sub in enumerate(item))
    return None


def decode_json(body: bytes | str, what: str = "request") -> Any:
    """Decode an I-JSON body (RFC 7493) or raise the request-level error.

    orjson keeps the last of duplicate member names silently; I-JSON says a
    message with duplicates is invalid. In valid JSON every ``:`` outside a
    string separates one member, so comparing that count with the members
    decoded finds duplicates without a second, slower parser. Nesting past
    the parser's own depth is valid JSON, so it is a ``limit``, not notJSON.
    """
    raw = body.encode() if isinstance(body, str) else body
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise RequestError(
                "limit", f"The {what} nests arrays and objects deeper than {MAX_DEPTH} levels.", limit="maxDepth"
            ) from None
        raise RequestError("notJSON", f"The {what} is not valid I-JSON: {exc}") from None
    if not depth_ok(data):
        raise RequestError(
            "limit", f"The {what} nests arrays and objects deeper than {MAX_DEPTH} levels.", limit="maxDepth"
        )
    if isinstance(data, (dict, list)) and _STRING.sub(b"", raw).count(b":") != count_members(data):
        raise RequestError("notJSON", f"The {what} is not valid I-JSON: an object has a duplicate member name.")
    return data


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
