"""IMAP's modified UTF-7 (RFC 3501 §5.1.3): folder names on the wire and in Maildir++ directories."""

from __future__ import annotations

import base64


def decode(name: str) -> str:
    """A modified-UTF-7 name as text; a malformed shift sequence is kept literally."""
    out: list[str] = []
    i = 0
    while i < len(name):
        c = name[i]
        end = name.find("-", i + 1) if c == "&" else -1
        if c != "&" or end < 0:
            out.append(c)
            i += 1
            continue
        chunk = name[i + 1:end]
        if not chunk:
            out.append("&")
        else:
            b64 = chunk.replace(",", "/")
            try:
                out.append(base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True).decode("utf-16-be"))
            except ValueError:
                out.append(name[i:end + 1])
        i = end + 1
    return "".join(out)


def encode(name: str, also: str = "") -> str:
    """Text as modified UTF-7; characters in ``also`` are shifted too (a
    Maildir++ name cannot hold its ``.`` separator literally)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for c in name:
        if 0x20 <= ord(c) <= 0x7E and c not in also:
            flush()
            out.append("&-" if c == "&" else c)
        else:
            pending.append(c)
    flush()
    return "".join(out)
