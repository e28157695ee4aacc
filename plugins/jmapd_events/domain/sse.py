"""EventSource (``text/event-stream``) framing and query parsing for RFC 8620 §7.3.

Framing is easy to get subtly wrong: a bare newline inside ``data`` ends the
event early, a CR/LF inside ``id`` or ``event`` lets content inject fields,
and an ``id`` on a ping would overwrite the client's Last-Event-ID (which
RFC 8620 forbids).  Keeping the rules here, as pure functions returning
bytes, lets the HTTP layer just write them to the response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "CONTENT_TYPE",
    "RESPONSE_HEADERS",
    "EventSourceParams",
    "PingPolicy",
    "comment",
    "format_event",
    "parse_closeafter",
    "parse_event_source_params",
    "parse_ping",
    "parse_types",
    "ping_event",
    "state_event",
]

CONTENT_TYPE = "text/event-stream"
#: Headers worth sending with the stream: no caching, and ask nginx-style
#: proxies not to buffer (otherwise events arrive late or never).
RESPONSE_HEADERS: Mapping[str, str] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_TYPE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")
_UNSIGNED = re.compile(r"^[0-9]{1,16}$")  # UnsignedInt is at most 2^53-1


def _json(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def format_event(
    data: str,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """Serialise one event, splitting ``data`` over several ``data:`` lines.

    Any of CR, LF or CRLF in ``data`` becomes a new ``data:`` line, which
    the client reassembles with LF, so arbitrary text round-trips.
    """
    if not isinstance(data, str):
        raise TypeError("data must be str")
    out: list[str] = []
    if event is not None:
        if not _EVENT_NAME.match(event):
            raise ValueError(f"invalid event name {event!r}")
        out.append(f"event: {event}\n")
    if id is not None:
        # CR/LF would inject fields; NUL makes clients ignore the id entirely.
        if any(c in id for c in "\r\n\x00"):
            raise ValueError("event id must not contain CR, LF or NUL")
        out.append(f"id: {id}\n")
    if retry is not None:
        if not isinstance(retry, int) or retry < 0:
            raise ValueError("retry must be a non-negative integer (milliseconds)")
        out.append(f"retry: {retry}\n")
    out.extend(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    out.append("\n")
    return "".join(out).encode("utf-8")


def state_event(state_change: Mapping[str, object], event_id: str | None = None) -> bytes:
    """The ``state`` event carrying a StateChange object (RFC 8620 §7.3).

    ``event_id`` should encode the user's whole visible state so that a
    reconnecting client's Last-Event-ID tells the server what it missed.
    """
    return format_event(_json(state_change), event="state", id=event_id)


def ping_event(interval: int) -> bytes:
    """The ``ping`` event; deliberately without ``id`` (RFC 8620 §7.3 MUST NOT)."""
    if not isinstance(interval, int) or interval < 0:
        raise ValueError("ping interval must be a non-negative integer")
    return format_event(_json({"interval": interval}), event="ping")


def comment(text: str = "") -> bytes:
    """A comment line: ignored by clients, handy to flush headers through proxies."""
    if any(c in text for c in "\r\n"):
        raise ValueError("comment must be a single line")
    return f":{' ' + text if text else ''}\n\n".encode()


@dataclass(frozen=True)
class PingPolicy:
    """Server bounds on the ping interval.

    RFC 8620 §7.3 lets the server clamp the requested interval but, for
    interoperability, the minimum MUST NOT exceed 30 s and the maximum MUST
    NOT be below 300 s, so a configuration outside that is refused here.
    The defaults are those limits: the least ping traffic the RFC permits.
    """

    minimum: int = 30
    maximum: int = 300

    def __post_init__(self) -> None:
        if not 1 <= self.minimum <= 30:
            raise ValueError("ping minimum must be between 1 and 30 seconds (RFC 8620 §7.3)")
        if self.maximum < 300:
            raise ValueError("ping maximum must be at least 300 seconds (RFC 8620 §7.3)")

    def clamp(self, requested: int) -> int:
        """Effective interval; 0 stays 0 because it means "no pings" (MUST NOT send)."""
        if requested == 0:
            return 0
        return max(self.minimum, min(self.maximum, requested))


@dataclass(frozen=True)
class EventSourceParams:
    """Parsed eventSourceUrl variables."""

    types: frozenset[str] | None  # None means "*": every type
    close_after_state: bool
    ping: int  # effective interval in seconds after clamping; 0 = no pings
    requested_ping: int

    def wants(self, type_name: str) -> bool:
        return self.types is None or type_name in self.types


QueryValue = str | Sequence[str] | None


def _single(name: str, value: QueryValue) -> str | None:
    if value is None or isinstance(value, str):
        return value
    values = list(value)
    if not values:
        return None
    if len(values) > 1:
        raise ValueError(f"'{name}' must be given only once")
    return values[0]


def parse_types(value: QueryValue) -> frozenset[str] | None:
    """``*`` -> None (all types); else a comma-separated list of type names.

    A list value (repeated parameter, or a framework that pre-splits commas)
    is treated as the union, since both readings mean the same thing.
    """
    if value is None:
        return None
    text = value if isinstance(value, str) else ",".join(value)
    if text.strip() == "*":
        return None
    names = [part.strip() for part in text.split(",")]
    if names == [""]:
        raise ValueError(
            "'types' must be '*' or a comma-separated list of type names, got an empty value"
        )
    for name in names:
        if name == "*":
            raise ValueError("'types' may be '*' only on its own")
        if not _TYPE_NAME.match(name):
            raise ValueError(f"'types' contains an invalid type name: {name!r}")
    return frozenset(names)


def parse_closeafter(value: QueryValue) -> bool:
    """``state`` -> True (end the response after a state event), ``no`` -> False."""
    text = _single("closeafter", value)
    if text is None or text == "no":
        return False
    if text == "state":
        return True
    raise ValueError(f"'closeafter' must be 'state' or 'no', got {text!r}")


def parse_ping(value: QueryValue, policy: PingPolicy | None = None) -> tuple[int, int]:
    """Return ``(requested, effective)`` ping seconds; the effective one is clamped."""
    policy = policy or PingPolicy()
    text = _single("ping", value)
    if text is None or text == "":
        return 0, 0
    if not _UNSIGNED.match(text):
        raise ValueError(f"'ping' must be a non-negative integer number of seconds, got {text!r}")
    requested = int(text)
    return requested, policy.clamp(requested)


def parse_event_source_params(
    query: Mapping[str, QueryValue], policy: PingPolicy | None = None
) -> EventSourceParams:
    """Parse the ``types``, ``closeafter`` and ``ping`` query parameters.

    Missing parameters take their most permissive meaning (all types, keep
    open, no pings) rather than failing, since a client that forgets one
    still gets a well-defined stream. Bad values raise ValueError with a
    message suitable for a 400 response.
    """
    requested, effective = parse_ping(query.get("ping"), policy)
    return EventSourceParams(
        types=parse_types(query.get("types")),
        close_after_state=parse_closeafter(query.get("closeafter")),
        ping=effective,
        requested_ping=requested,
    )
