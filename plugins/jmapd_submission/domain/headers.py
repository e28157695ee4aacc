"""Minimal RFC 5322 header-section handling.

The envelope and auto-reply rules only need a handful of header fields, and
Bcc stripping must not re-serialise the message (which ``email`` would do,
changing folding, encodings and possibly signatures).  So this module works
on raw lines and keeps byte offsets, leaving full MIME parsing to the mail
store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["Header", "split_header_lines", "parse_headers", "get_all", "get_last"]

Header = tuple[str, str]


def split_header_lines(raw: bytes) -> tuple[list[list[bytes]], int]:
    """Group the header section into fields, each a list of its physical lines.

    Returns ``(fields, body_offset)`` where ``body_offset`` is the index of
    the blank separator line (or ``len(raw)`` when the message has no body).
    Line endings are kept on every line so fields can be re-joined
    byte-for-byte.  A continuation line before any field is kept as a field
    of its own rather than dropped.
    """
    fields: list[list[bytes]] = []
    pos = 0
    while pos < len(raw):
        nl = raw.find(b"\n", pos)
        end = len(raw) if nl == -1 else nl + 1
        line = raw[pos:end]
        if line in (b"\r\n", b"\n"):
            return fields, pos
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
        pos = end
    return fields, len(raw)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Raw 8-bit headers in legacy charsets: latin-1 never fails and keeps
        # ASCII structure (addresses, message ids) intact.
        return data.decode("latin-1")


def parse_headers(raw: bytes) -> list[Header]:
    """Parse the header section of ``raw`` into ``(name, unfolded value)`` pairs.

    Values keep RFC 2047 encoded-words; callers decode where they need
    display text.  Lines without a colon are skipped.
    """
    fields, _ = split_header_lines(raw)
    out: list[Header] = []
    for lines in fields:
        text = _decode(b"".join(lines))
        name, colon, value = text.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            continue
        unfolded = value.replace("\r\n", "").replace("\n", "").replace("\r", "")
        out.append((name.strip(), unfolded.strip()))
    return out


def get_all(headers: Iterable[Header], name: str) -> list[str]:
    """All values of the header field ``name`` (case-insensitive), in order."""
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def get_last(headers: Sequence[Header], name: str) -> str | None:
    """Value of the last occurrence of ``name``, or None."""
    values = get_all(headers, name)
    return values[-1] if values else None
