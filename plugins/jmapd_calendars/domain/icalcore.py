"""iCalendar content lines: a tolerant, line-numbered tokenizer and a writer (RFC 5545 §3.1).

The icalendar library parses a whole stream or fails; an import must
instead report a bad line or component by its line number and go on with
the rest, and it must be fast (hundreds of events per second). So the
syntax layer is this small hand-written tokenizer; the icalendar library is
used where it adds real value (VTIMEZONE rules → tzinfo, see ``ical_in``).

Public API:

- :class:`Prop` — name (upper case), params (upper-case names → list of
  values), raw value (still escaped), line number.
- :class:`Component` — name, props, subcomponents, line; ``get``/``all``.
- :func:`parse_stream` — ``(top-level components, errors)``.
- :func:`unescape_text`, :func:`escape_text`, :func:`split_text_list`.
- :func:`parse_date_value` — DATE / DATE-TIME → ``(naive datetime, is_date, is_utc)``.
- :func:`format_prop` / :func:`fold` — one folded content line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

_NAME_RE = re.compile(r"[A-Za-z0-9-]+")
_DT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$")


@dataclass(slots=True)
class Prop:
    name: str
    params: dict[str, list[str]]
    value: str
    line: int

    def param(self, name: str) -> str | None:
        v = self.params.get(name)
        return v[0] if v else None


@dataclass(slots=True)
class Component:
    name: str
    line: int
    props: list[Prop] = field(default_factory=list)
    subs: list[Component] = field(default_factory=list)

    def get(self, name: str) -> Prop | None:
        for p in self.props:
            if p.name == name:
                return p
        return None

    def all(self, name: str) -> list[Prop]:
        return [p for p in self.props if p.name == name]


class LineError(ValueError):
    pass


def _parse_line(text: str, lineno: int) -> Prop:
    m = _NAME_RE.match(text)
    if not m:
        raise LineError("no property name")
    name = m.group(0).upper()
    i = m.end()
    n = len(text)
    params: dict[str, list[str]] = {}
    while i < n and text[i] == ";":
        m = _NAME_RE.match(text, i + 1)
        if not m or m.end() >= n or text[m.end()] != "=":
            raise LineError(f"bad parameter in {name}")
        pname = m.group(0).upper()
        i = m.end() + 1
        values: list[str] = []
        while True:
            if i < n and text[i] == '"':
                j = text.find('"', i + 1)
                if j < 0:
                    raise LineError(f"unterminated quoted parameter in {name}")
                values.append(text[i + 1 : j])
                i = j + 1
            else:
                j = i
                while j < n and text[j] not in ";:,":
                    j += 1
                values.append(text[i:j])
                i = j
            if i < n and text[i] == ",":
                i += 1
                continue
            break
        params.setdefault(pname, []).extend(values)
    if i >= n or text[i] != ":":
        raise LineError(f"missing ':' in {name}")
    return Prop(name, params, text[i + 1 :], lineno)


def _logical_lines(data: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for no, raw in enumerate(data.splitlines(), 1):
        if raw[:1] in (" ", "\t"):
            if out:
                out[-1] = (out[-1][0], out[-1][1] + raw[1:])
            continue
        if raw.strip():
            out.append((no, raw))
    return out


def parse_stream(data: bytes | str) -> tuple[list[Component], list[tuple[int, str]]]:
    """Top-level components of an iCalendar stream and the syntax errors met.

    A malformed content line is reported and skipped; an END without its
    BEGIN is reported; a component left open at the end of the stream is
    reported and kept (its content is usually intact).
    """
    if isinstance(data, bytes):
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        text = data.decode("utf-8", errors="replace")
    else:
        text = data
    errors: list[tuple[int, str]] = []
    roots: list[Component] = []
    stack: list[Component] = []
    for no, line in _logical_lines(text):
        try:
            prop = _parse_line(line, no)
        except LineError as exc:
            errors.append((no, str(exc)))
            continue
        if prop.name == "BEGIN":
            comp = Component(prop.value.strip().upper(), no)
            if stack:
                stack[-1].subs.append(comp)
            else:
                roots.append(comp)
            stack.append(comp)
        elif prop.name == "END":
            name = prop.value.strip().upper()
            if any(c.name == name for c in stack):
                while stack:
                    c = stack.pop()
                    if c.name == name:
                        break
                    errors.append((c.line, f"{c.name} not ended before END:{name}"))
            else:
                errors.append((no, f"END:{name} without BEGIN"))
        elif stack:
            stack[-1].props.append(prop)
        else:
            errors.append((no, f"{prop.name} outside any component"))
    for c in stack:
        errors.append((c.line, f"{c.name} not ended"))
    return roots, errors


def unescape_text(value: str) -> str:
    """A TEXT value without its backslash escapes."""
    if "\\" not in value:
        return value
    out = []
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if c == "\\" and i + 1 < n:
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_text_list(value: str) -> list[str]:
    """A comma-separated TEXT list (escaped commas kept), each item unescaped."""
    items: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            cur.append(value[i : i + 2])
            i += 2
            continue
        if c == ",":
            items.append(unescape_text("".join(cur)))
            cur = []
        else:
            cur.append(c)
        i += 1
    items.append(unescape_text("".join(cur)))
    return [x for x in items if x != ""]


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def parse_date_value(value: str) -> tuple[datetime, bool, bool]:
    """DATE or DATE-TIME text → (naive datetime, is_date, is_utc); ``ValueError`` if neither."""
    m = _DT_RE.match(value.strip())
    if not m:
        raise ValueError(f"not a DATE or DATE-TIME: {value!r}")
    y, mo, d, h, mi, s, z = m.groups()
    if h is None:
        return datetime(int(y), int(mo), int(d)), True, False
    sec = min(int(s), 59)  # a leap second is kept as :59
    return datetime(int(y), int(mo), int(d), int(h), int(mi), sec), False, z is not None


def format_dt(value: datetime, *, date_only: bool = False, utc: bool = False) -> str:
    if date_only:
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"
    return (
        f"{value.year:04d}{value.month:02d}{value.day:02d}T{value.hour:02d}{value.minute:02d}{value.second:02d}"
        + ("Z" if utc else "")
    )


def _param_value(v: str) -> str:
    if any(c in v for c in ";:,") or v != v.strip():
        return '"' + v.replace('"', "'") + '"'
    return v


def format_prop(name: str, params: Mapping[str, list[str] | str] | None, value: str) -> str:
    """One unfolded content line."""
    out = [name.upper()]
    for k, v in (params or {}).items():
        vals = [v] if isinstance(v, str) else v
        out.append(f";{k.upper()}=" + ",".join(_param_value(x) for x in vals))
    return "".join(out) + ":" + value


def fold(line: str) -> str:
    """A content line folded at 75 octets (never inside a UTF-8 sequence), CRLF-terminated."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line + "\r\n"
    parts = []
    start = 0
    limit = 75
    while start < len(raw):
        end = min(start + limit, len(raw))
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(raw[start:end].decode("utf-8"))
        start = end
        limit = 74
    return "\r\n ".join(parts) + "\r\n"
