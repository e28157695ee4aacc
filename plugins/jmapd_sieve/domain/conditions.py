"""The Sieve tests (RFC 5228 §5 and the extensions' tests).

Kept apart from the commands so each reads as its RFC section; they only
read the message, the envelope and variables, never change anything
except the match variables.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from .dates import date_part, parse_header_date, parse_zone
from .parser import Node

if TYPE_CHECKING:
    from .interpreter import Frame, Runtime


def evaluate(rt: Runtime, frame: Frame, node: Node) -> bool:
    rt._tick()
    name = node.name
    if name == "true":
        return True
    if name == "false":
        return False
    if name == "not":
        return not evaluate(rt, frame, node.tests[0])
    if name == "allof":
        return all(evaluate(rt, frame, t) for t in node.tests)
    if name == "anyof":
        return any(evaluate(rt, frame, t) for t in node.tests)
    if name == "exists":
        return all(rt.message.headers(h) for h in rt.strings(frame, node.pos[0]))
    if name == "size":
        limit = int(node.pos[0])  # type: ignore[call-overload]
        return bool(rt.message.size > limit if ":over" in node.tags else rt.message.size < limit)
    if name == "header":
        values: list[str] = []
        for h in rt.strings(frame, node.pos[0]):
            values += _index(node, rt.message.headers(h))
        return rt.compare(frame, node, values, rt.strings(frame, node.pos[1]))
    if name == "address":
        values = []
        for h in rt.strings(frame, node.pos[0]):
            for addr in _index(node, rt.message.addresses(h)):
                part = _address_part(node, addr)
                if part is not None:
                    values.append(part)
        return rt.compare(frame, node, values, rt.strings(frame, node.pos[1]))
    if name == "envelope":
        values = []
        for which in rt.strings(frame, node.pos[0]):
            w = which.lower()
            env_addr: str | None = rt.envelope.mail_from if w == "from" else rt.envelope.rcpt_to if w == "to" else None
            if env_addr is None:
                continue
            part = "" if env_addr == "" else _address_part(node, env_addr)
            if part is not None:
                values.append(part)
        return rt.compare(frame, node, values, rt.strings(frame, node.pos[1]))
    if name == "body":
        transform = next((t for t in (":raw", ":content", ":text") if t in node.tags), ":text")
        types = rt.strings(frame, node.tags[":content"]) if transform == ":content" else []
        texts = rt.message.body_texts(transform, types)
        keys = rt.strings(frame, node.pos[0])
        if not any(t in node.tags for t in (":matches", ":regex", ":is", ":value", ":count")):
            node_tags = dict(node.tags)
            node_tags.setdefault(":contains", True)
            return rt.compare(frame, Node(node.name, node.line, tags=node_tags), texts, keys)
        return rt.compare(frame, node, texts, keys)
    if name == "string":
        return rt.compare(frame, node, rt.strings(frame, node.pos[0]),
                          rt.strings(frame, node.pos[1]), count_empty=False)
    if name == "hasflag":
        var = rt.flag_var(frame, node)
        flags = rt.read_flags(frame, var)
        keys = [f for k in rt.strings(frame, node.pos[-1]) for f in k.split()]
        return rt.compare(frame, node, flags, keys)
    if name in ("date", "currentdate"):
        return _date(rt, frame, node)
    if name == "environment":
        item = rt.string(frame, node.pos[0]).lower()
        if item not in rt.environment:
            return False
        return rt.compare(frame, node, [rt.environment[item]], rt.strings(frame, node.pos[1]))
    if name == "mailboxexists":
        return all(rt.mailbox_exists(m) for m in rt.strings(frame, node.pos[0]))
    raise AssertionError(name)


def _index(node: Node, values: list[str]) -> list[str]:
    """RFC 5260 §6: ``:index N`` picks the Nth field (``:last`` from the end)."""
    if ":index" not in node.tags:
        return values
    n = int(node.tags[":index"])  # type: ignore[call-overload]
    if n < 1 or n > len(values):
        return []
    return [values[-n] if ":last" in node.tags else values[n - 1]]


def _address_part(node: Node, addr: str) -> str | None:
    local, _, domain = addr.rpartition("@")
    if not _:
        local, domain = addr, ""
    if ":localpart" in node.tags:
        return local
    if ":domain" in node.tags:
        return domain
    if ":user" in node.tags:
        return local.split("+", 1)[0]
    if ":detail" in node.tags:
        return local.split("+", 1)[1] if "+" in local else None
    return addr


def _date(rt: Runtime, frame: Frame, node: Node) -> bool:
    if node.name == "currentdate":
        dt = rt.now
    else:
        header = rt.string(frame, node.pos[0])
        raw = _index(node, rt.message.headers(header))
        if not raw:
            return False
        value = raw[0]
        if header.lower() == "received":  # RFC 5260 §4: the date after the last ';'
            value = value.rpartition(";")[2]
        parsed = parse_header_date(value)
        if parsed is None:
            return False
        dt = parsed
    if ":zone" in node.tags:
        zone = parse_zone(rt.string(frame, node.tags[":zone"]))
        if zone is None:
            return False
        dt = dt.astimezone(zone)
    elif ":originalzone" not in node.tags:
        local = rt.environment.get("__zone")
        tz = parse_zone(local) if local else None
        dt = dt.astimezone(tz or rt.now.tzinfo or UTC)
    part = rt.string(frame, node.pos[-2])
    return rt.compare(frame, node, [date_part(dt, part)], rt.strings(frame, node.pos[-1]))
