"""Plain-text derivations of bodies: HTML stripping, previews, safe truncation.

Written with str.find loops and simple regexes rather than an HTML parser so
cost stays linear on hostile input (unterminated <script>, megabyte tags).
"""

from __future__ import annotations

import html
import re

_BLOCK_RE = re.compile(r"(?i)<\s*(?:br|/p|p|/div|div|/li|li|/tr|tr|/h[1-6]|hr|/blockquote|/table)\b[^>]*>")
_TAG_RE = re.compile(r"<[^>]*>")
_WS_RE = re.compile(r"[ \t\r\f\v\u00a0]+")
_NL_RE = re.compile(r"\n\s*\n+")


def _drop_between(text: str, open_tag: str, close_tag: str) -> str:
    """Remove <open ...>...</close> regions case-insensitively (unterminated → to the end)."""
    low = text.lower()
    out: list[str] = []
    pos = 0
    while True:
        i = low.find(open_tag, pos)
        if i == -1:
            out.append(text[pos:])
            break
        out.append(text[pos:i])
        j = low.find(close_tag, i + len(open_tag))
        if j == -1:
            break
        pos = j + len(close_tag)
    return "".join(out)


def html_to_text(source: str) -> str:
    """Readable text from HTML for previews and indexing; not a renderer."""
    text = _drop_between(source, "<!--", "-->")
    for tag in ("script", "style", "head", "title"):
        text = _drop_between(text, "<" + tag, "</" + tag)
    text = _BLOCK_RE.sub("\n", text)
    text = _TAG_RE.sub("", text)
    text = html.unescape(text)
    text = _WS_RE.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _NL_RE.sub("\n\n", text).strip()


def make_preview(text: str, limit: int = 256) -> str:
    """Collapse whitespace and skip quoted lines; at most `limit` UTF-16 code units.

    Counting UTF-16 units keeps the spec's 256-character cap true for JavaScript
    clients as well as for code-point counting.
    """
    lines = [ln for ln in text.split("\n") if not ln.lstrip().startswith(">")]
    flat = " ".join(" ".join(lines).split())
    units = 0
    for idx, ch in enumerate(flat):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return flat[:idx]
    return flat


def truncate_utf8(value: str, max_bytes: int, *, is_html: bool = False) -> tuple[str, bool]:
    """Cut to at most max_bytes of UTF-8 on a code-point boundary; never inside an HTML tag.

    Returns (value, truncated). max_bytes <= 0 means no limit (Email/get semantics).
    """
    if max_bytes <= 0:
        return value, False
    data = value.encode("utf-8", errors="surrogatepass")
    if len(data) <= max_bytes:
        return value, False
    cut = data[:max_bytes].decode("utf-8", errors="ignore")
    if is_html:
        lt = cut.rfind("<")
        if lt > cut.rfind(">"):
            cut = cut[:lt]
        amp = cut.rfind("&")
        if amp != -1 and ";" not in cut[amp:] and len(cut) - amp < 12:
            cut = cut[:amp]  # don't leave half an entity either
    return cut, True
