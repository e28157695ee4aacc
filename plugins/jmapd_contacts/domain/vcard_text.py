"""vCard TEXT escaping and structured-value splitting (RFC 6350 §3.4, §5.5)."""

from __future__ import annotations

import re

_UNESCAPE = re.compile(r"\\([\\;,nN])")


def unescape(value: str) -> str:
    return _UNESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def split_unescaped(raw: str, sep: str) -> list[str]:
    """Split on ``sep`` where no backslash escapes it; the parts keep their escapes."""
    if "\\" not in raw:
        return raw.split(sep)
    parts, buf, i = [], [], 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            buf.append(raw[i : i + 2])
            i += 2
            continue
        if raw[i] == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(raw[i])
        i += 1
    parts.append("".join(buf))
    return parts


def raw_components(raw: str) -> list[str]:
    """A structured value's ``;``-separated components, still escaped."""
    return split_unescaped(raw, ";")


def all_values(part: str) -> list[str]:
    """A component's ``,``-separated values, unescaped; empty ones kept (they hold positions)."""
    return [unescape(v) for v in split_unescaped(part, ",")]


def list_values(part: str) -> list[str]:
    """A component's non-empty values."""
    return [v for v in all_values(part) if v]


def split_structured(raw: str) -> list[str]:
    """Split on unescaped ``;`` and unescape each part (ORG values)."""
    return [unescape(p) for p in raw_components(raw)]


def caret_encode(value: str) -> str:
    """RFC 6868: what a quoted parameter value cannot hold."""
    return value.replace("^", "^^").replace("\n", "^n").replace('"', "^'")


def caret_decode(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "^" and i + 1 < len(value) and value[i + 1] in "^n'":
            out.append({"^": "^", "n": "\n", "'": '"'}[value[i + 1]])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)
