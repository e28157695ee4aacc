"""Byte-level MIME scanning: header blocks, structured values, multipart splitting.

We scan the raw octets ourselves (instead of email.parser) to keep exact body
offsets — so a part can later be decoded straight from the stored blob without
re-parsing — and to control depth, part count and worst-case cost.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

from .encoding import decode_bytes, utf8_lossy
from .headers import decode_words, unfold

# Structured header values longer than this are only looked at up to here; a
# Content-Type does not need a megabyte to say what it is.
MAX_STRUCTURED = 65536


def read_headers(raw: bytes, start: int, end: int) -> tuple[list[tuple[str, str]], int]:
    """Parse a header block at raw[start:end]; return ([(name, raw value)], body offset).

    A line that is neither a header nor a continuation ends the block without
    being consumed, so headerless parts keep their content. Values are kept as
    offsets until the end so folded megabyte headers stay linear.
    """
    found: list[list[Any]] = []  # [name bytes, value start, value end]
    pos = start
    first = True
    while pos < end:
        nl = raw.find(b"\n", pos, end)
        line_end = end if nl == -1 else nl
        nxt = end if nl == -1 else nl + 1
        content_end = line_end - 1 if line_end > pos and raw[line_end - 1] == 0x0D else line_end
        if content_end == pos:
            return _finish(raw, found), nxt
        lead = raw[pos]
        if lead in (0x20, 0x09):
            if found:
                found[-1][2] = content_end
            pos = nxt
            continue
        if first and raw.startswith(b"From ", pos) and not raw[pos + 4 : content_end].lstrip(b" \t").startswith(b":"):
            first = False
            pos = nxt  # mbox separator line
            continue
        first = False
        colon = raw.find(b":", pos, min(content_end, pos + 256))
        name = raw[pos:colon].rstrip(b" \t") if colon > pos else b""
        if not name or any(c <= 32 or c > 126 for c in name):
            return _finish(raw, found), pos
        found.append([name, colon + 1, content_end])
        pos = nxt
    return _finish(raw, found), end


def _finish(raw: bytes, found: list[list[Any]]) -> list[tuple[str, str]]:
    return [(n.decode("ascii"), utf8_lossy(raw[s:e])) for n, s, e in found]


def last_header(headers: list[tuple[str, str]], name: str) -> str | None:
    lname = name.lower()
    for n, v in reversed(headers):
        if n.lower() == lname:
            return v
    return None


_PIECE_RE = re.compile(r'(?:"(?:[^"\\]|\\.)*(?:"|$)|[^;"])*')
_COMMENT_RE = re.compile(r"\((?:[^()\\]|\\.)*\)")
_CONT_RE = re.compile(r"^([^*]+)\*(?:(\d+)\*?|)$")


def _unquote(v: str) -> str:
    v = v.strip()
    if len(v) >= 2 and v[0] == '"':
        inner = v[1:-1] if v.endswith('"') else v[1:]
        return re.sub(r"\\(.)", r"\1", inner)
    return v


def parse_structured(raw: str | None) -> tuple[str | None, dict[str, str]]:
    """Split `value; a=b; c*=utf-8''x` into (lowercased value, params) with RFC 2231 joined.

    Parameter names are lowercased; RFC 2231 forms win over plain ones; plain
    values are RFC 2047 decoded because many mailers put encoded words there.
    """
    if raw is None:
        return None, {}
    text = unfold(raw[:MAX_STRUCTURED])
    pieces: list[str] = []
    pos = 0
    while True:
        m = _PIECE_RE.match(text, pos)
        pieces.append(m.group(0) if m else "")
        pos = (m.end() if m else pos) + 1  # skip the ';'
        if pos > len(text):
            break
    value = "".join(_COMMENT_RE.sub("", pieces[0]).split()).lower() or None
    plain: dict[str, str] = {}
    ext: dict[str, dict[int, tuple[str, bool]]] = {}
    for piece in pieces[1:]:
        if "=" not in piece:
            continue
        key, _, val = piece.partition("=")
        key = key.strip().lower()
        if not key:
            continue
        m = _CONT_RE.match(key)
        if m:
            base, idx = m.group(1), int(m.group(2) or 0)
            encoded = key.endswith("*")
            ext.setdefault(base, {})[idx] = (_unquote(val), encoded)
        elif key not in plain:
            plain[key] = _unquote(_COMMENT_RE.sub("", val) if '"' not in val else val)
    params = {k: decode_words(v) for k, v in plain.items()}
    for base, segs in ext.items():
        params[base] = _join_2231(segs)
    return value, params


def _join_2231(segs: dict[int, tuple[str, bool]]) -> str:
    charset = None
    chunks: list[bytes] = []
    for i in sorted(segs)[:100]:
        val, encoded = segs[i]
        if encoded:
            if i == sorted(segs)[0] and val.count("'") >= 2:
                charset, _lang, val = val.split("'", 2)
            chunks.append(unquote_to_bytes(val))
        else:
            chunks.append(val.encode("utf-8", "replace"))
    text, _problem = decode_bytes(b"".join(chunks), charset or "utf-8")
    return text


_PAD_RE = re.compile(rb"[ \t]*\r?(?:\n|$)")


def split_multipart(raw: bytes, start: int, end: int, boundary: str) -> list[tuple[int, int]] | None:
    """Body ranges of each part between `--boundary` lines; None if no delimiter found.

    A missing close delimiter ends the last part at `end` (truncated mail is
    common); text before the first delimiter (preamble) and after the close
    delimiter (epilogue) is ignored, as MIME says.
    """
    delim = b"--" + boundary.encode("utf-8", "replace")
    ranges: list[tuple[int, int]] = []
    cur: int | None = None
    pos = start
    while True:
        i = raw.find(delim, pos, end)
        if i == -1:
            break
        if i != start and raw[i - 1] != 0x0A:
            pos = i + 1
            continue
        after = i + len(delim)
        closing = raw.startswith(b"--", after) and after + 2 <= end
        if not closing and not _PAD_RE.match(raw, after, end):
            pos = after  # a longer boundary that merely starts with ours
            continue
        if cur is not None:
            pe = i
            if pe > cur and raw[pe - 1] == 0x0A:
                pe -= 1
                if pe > cur and raw[pe - 1] == 0x0D:
                    pe -= 1
            ranges.append((cur, pe))
        if closing:
            return ranges
        nl = raw.find(b"\n", after, end)
        cur = end if nl == -1 else nl + 1
        pos = cur
    if cur is not None:
        ranges.append((cur, end))
    return ranges or None


def parse_cid(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = "".join(_COMMENT_RE.sub("", unfold(raw)).split())
    if text.startswith("<"):
        text = text[1:]
    if text.endswith(">"):
        text = text[:-1]
    return text or None


def parse_language(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    text = _COMMENT_RE.sub("", unfold(raw))
    langs = [t.strip() for t in text.split(",") if t.strip()]
    return langs or None


def parse_location(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = "".join(_COMMENT_RE.sub("", unfold(raw)).split())
    return text or None
