"""Run the method calls of one request in order (RFC 8620 §3.3–3.7)."""

from __future__ import annotations

import logging
import time
from typing import Any

import peewee

from .. import metrics
from ..db import statement_timed_out
from ..protocol.envelope import CORE, Request, resolve_references, unstorable_path
from ..protocol.errors import MethodError
from ..ratelog import RateLimitedLog
from .context import CallContext, RequestContext
from .registry import Registry

log = logging.getLogger("jmapd.api")
#: One line per user every 10 s: a user can cause one per request.
slow_log = RateLimitedLog(log)

SET_MAPS = frozenset({"create", "update"})

CALLS = metrics.counter("jmapd_jmap_method_calls", "JMAP method calls, by method.", ["method"])
LATENCY = metrics.histogram("jmapd_jmap_method_duration_seconds", "Time a JMAP method call took.", ["method"])
ERRORS = metrics.counter(
    "jmapd_jmap_method_errors", "JMAP method calls answered with an error, by method and error type.", ["method", "type"]
)


def run_calls(request: Request, rctx: RequestContext, registry: Registry) -> dict[str, Any]:
    """The Response object; method errors never escape as exceptions."""
    if request.created_ids is not None:
        rctx.created_ids.update(request.created_ids)
    # Clients that name capabilities but forget core are served (real ones
    # do that); an empty 'using' opted into nothing, so nothing runs.
    using = set(request.using) | {CORE} if request.using else set()
    responses = rctx.responses
    for name, args, call_id in request.calls:
        # only registered names become label values: clients choose the others
        label = name if name in registry.methods else "unknown"
        started = time.monotonic()
        count = len(responses)
        try:
            _call(name, args, call_id, rctx, registry, using, responses)
        finally:
            CALLS.labels(label).inc()
            LATENCY.labels(label).observe(time.monotonic() - started)
            for response in responses[count:]:
                if response[0] == "error" and isinstance(response[1], dict):
                    ERRORS.labels(label, str(response[1].get("type", "unknown"))).inc()
    out: dict[str, Any] = {"methodResponses": responses}
    if request.created_ids is not None:
        out["createdIds"] = rctx.created_ids
    return out


def _call(
    name: str, args: Any, call_id: str, rctx: RequestContext, registry: Registry, using: set[str],
    responses: list[Any],
) -> None:
    """One method call's responses appended to ``responses``."""
    try:
        method = registry.methods.get(name)
        if method is None:
            raise MethodError("unknownMethod", f"no method {name!r}")
        if method.capability not in using:
            raise MethodError("unknownMethod", f"{name} needs {method.capability} in 'using'")
        args = resolve_references(args, responses)
        # objects of /set are checked one by one, so only that one fails
        bad = unstorable_path(args, SET_MAPS if name.endswith("/set") else frozenset())
        if bad is not None:
            raise MethodError("invalidArguments", f"{'/'.join(bad)!r} contains U+0000, which cannot be stored")
        ctx = CallContext(request=rctx, method=name, call_id=call_id)
        result = method.handler(ctx, args)
    except MethodError as exc:
        responses.append(["error", exc.to_args(), call_id])
        return
    except Exception as exc:
        if statement_timed_out(exc):
            responses.append(["error", _timed_out(name, args, rctx), call_id])
        elif isinstance(exc, peewee.OperationalError):
            log.warning("%s: database unavailable: %s", name, exc)
            responses.append(["error", {"type": "serverUnavailable", "description": "database busy, retry"}, call_id])
        else:
            log.exception("%s failed", name)
            responses.append(["error", {"type": "serverFail", "description": "internal error; see server log"}, call_id])
        return
    if isinstance(result, list):
        for response_name, response_args in result:
            responses.append([response_name, response_args, call_id])
    else:
        responses.append([name, result, call_id])


def _timed_out(name: str, args: Any, rctx: RequestContext) -> dict[str, Any]:
    """The error for a call whose statement hit ``database.statement_timeout``.

    Not serverUnavailable: the same call would take as long again, so the
    client must not be told to retry it. A query's filter is what makes it
    expensive, so there the answer is unsupportedFilter (RFC 8620 §5.5:
    valid, but the server cannot process it); otherwise serverFail.
    """
    seconds = rctx.services.config.database.statement_timeout
    user = rctx.principal.name
    slow_log.warning(f"timeout:{user}", "%s for %s: a statement ran past the %g s limit (database.statement_timeout)",
                     name, user, seconds)
    if name.endswith(("/query", "/queryChanges")) and isinstance(args, dict) and args.get("filter"):
        return {"type": "unsupportedFilter",
                "description": f"this filter takes longer than the server's {seconds:g} s statement time limit; narrow it"}
    return {"type": "serverFail",
            "description": f"a database statement took longer than the server's {seconds:g} s time limit; retrying will not help"}
