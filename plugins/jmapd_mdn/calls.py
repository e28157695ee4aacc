"""Other plugins' methods called in the same request (Identity/get,
Email/get, Email/query, the implicit Email/set), as the dispatcher would."""

from __future__ import annotations

from typing import Any

from jmapd.methods.context import CallContext
from jmapd.protocol.errors import MethodError


def call(ctx: Any, name: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    method = ctx.services.registry.methods.get(name)
    if method is None:
        return "error", {"type": "unknownMethod", "description": f"{name} is not enabled"}
    sub = CallContext(request=ctx.request, method=name, call_id=ctx.call_id)
    try:
        result = method.handler(sub, args)
    except MethodError as exc:
        return "error", exc.to_args()
    if isinstance(result, list):
        first: tuple[str, dict[str, Any]] = result[0]
        return first
    return name, result
