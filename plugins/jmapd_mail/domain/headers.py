"""RFC 8621 §4.1.2 parsed forms of header field values.

All parsers take the *Raw* form (a str, as stored) and never raise: the spec
asks for best effort on invalid structure so that half-written drafts and
broken mail still show something. Parsers are linear in the input length so a
megabyte-long header cannot stall a request.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_tz
from typing import Any

from .encoding import lookup_charset, strip_controls

FORMS = ("asRaw", "asText", "asAddresses", "asGroupedAddresses", "asMessageIds", "asDate", "asURLs")

# Header fields defined by RFC 5322 or RFC 2369: only for these are forms restricted.
_RFC5322 = {
    "date", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "in-reply-to",
    "references", "subject", "comments", "keywords", "resent-date", "resent-from",
    "resent-sender", "resent-to", "resent-cc", "resent-bcc", "resent-message-id",
    "return-path", "received",
}
_RFC2369 = {"list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive"}
_ADDRESS_HEADERS = {
    "from", "sender", "reply-to", "to", "cc", "bcc", "resent-from", "resent-sender",
    "resent-reply-to", "resent-to", "resent-cc", "resent-bcc",
}
_ALLOWED = {
    "asText": {"subject", "comments", "keywords", "list-id"},
    "asAddresses": _ADDRESS_HEADERS,
    "asGroupedAddresses": _ADDRESS_HEADERS,
    "asMessageIds": {"message-id", "in-reply-to", "references", "resent-message-id"},
    "asDate": {"date", "resent-date"},
    "asURLs": _RFC2369,
}
_NAME_RE = re.compile(r"[\x21-\x39\x3b-\x7e]+")


def form_allowed(header_name: str, form: str) -> bool:
    """Whether `form` may be fetched/set for `header_name` (§4.1.2: otherwise reject).

    Accepts form names with or without the "as" prefix ("Addresses" or "asAddresses").
    """
    if not form.startswith("as"):
        form = "as" + form
    if form == "asRaw":
        return True
    allowed = _ALLOWED.get(form)
    if allowed is None:
        return False
    name = header_name.lower()
    if name in allowed:
        return True
    return name not in _RFC5322 and name not in _RFC2369


def parse_header_property(prop: str) -> tuple[str, str, bool]:
    """Split `header:{name}[:as{Form}][:all]` into (name, form, all).

    Raises ValueError for anything malformed, including a forbidden form, so the
    method layer can turn it straight into invalidArguments / invalidProperties.
    """
    if not prop.startswith("header:"):
        raise ValueError(f"not a header property: {prop!r}")
    parts = prop[7:].split(":")
    name = parts[0]
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"invalid header field name in {prop!r}")
    form, want_all = "asRaw", False
    rest = parts[1:]
    if rest and rest[0] in FORMS:
        form = rest.pop(0)
    if rest and rest[0] == "all":
        want_all = True
        rest.pop(0)
    if rest:
        raise ValueError(f"invalid header property suffix in {prop!r}")
    if not form_allowed(name, form):
        raise ValueError(f"{form} is not allowed for header {name!r}")
    return name, form, want_all


# ---------------------------------------------------------------------------
# Text form and RFC 2047


_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")
_NEWLINE_RE = re.compile(r"\r?\n")
_EW_RE = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")


def unfold(value: str) -> str:
    return _NEWLINE_RE.sub("", _FOLD_RE.sub("", value))


def _q_decode(payload: str) -> bytes:
    return binascii.a2b_qp(payload.replace("_", " ").encode("ascii", "replace"), header=True)


def _b_decode(payload: str) -> bytes | None:
    data = payload.encode("ascii", "replace")
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded-words that are properly whitespace-delimited.

    Words glued to other text are left alone (spec: MUST NOT be decoded).
    Adjacent encoded words in the same charset are joined as bytes first, since
    senders split multi-byte characters across words.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []  # adjacent decoded words not yet emitted
    pos = 0

    def flush() -> None:
        for codec, data in _merge(pending):
            out.append(strip_controls(data.decode(codec, errors="replace")).replace("\t", " "))
        pending.clear()

    for m in _EW_RE.finditer(text):
        start, end = m.span()
        before_ok = start == 0 or text[start - 1] in " \t"
        after_ok = end == len(text) or text[end] in " \t"
        codec = lookup_charset(m.group(1))
        if not (before_ok and after_ok and codec is not None):
            continue
        payload = m.group(3)
        data = _q_decode(payload) if m.group(2) in "Qq" else _b_decode(payload)
        if data is None:
            continue
        gap = text[pos:start]
        if not (pending and gap.strip(" \t") == ""):
            flush()  # whitespace between adjacent encoded words is dropped, other text kept
            out.append(gap)
        pending.append((codec, data))
        pos = end
    flush()
    out.append(text[pos:])
    return "".join(out)


def _merge(words: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    merged: list[tuple[str, bytes]] = []
    for codec, data in words:
        if merged and merged[-1][0] == codec:
            merged[-1] = (codec, merged[-1][1] + data)
        else:
            merged.append((codec, data))
    return merged


def as_text(raw: str) -> str:
    """Text form: unfolded, leading spaces removed (only those, per spec), RFC 2047 decoded, NFC."""
    text = unfold(raw).lstrip(" ")
    return unicodedata.normalize("NFC", decode_words(text).replace("\x00", ""))


# ---------------------------------------------------------------------------
# Address lists

_TOKEN_RE = re.compile(
    r"""[ \t\r\n]+
    | "(?P<q>(?:[^"\\]|\\.)*)"?
    | <(?P<a>[^>]*)>?
    | (?P<s>,[\s,]*|[;:])
    | (?P<w>[^\s()<>,;:"\\]+(?:\s+[^\s()<>,;:"\\]+)*)
    | (?P<c>\()
    | .""",
    re.VERBOSE | re.DOTALL,
)
# Beyond this many tokens (~25,000 recipients) an address list is hostile, not mail:
# the rest is ignored, which bounds the cost of a megabyte header to ~0.1 s.
MAX_TOKENS = 50_000
_QPAIR_RE = re.compile(r"\\(.)", re.DOTALL)


def _comment(s: str, i: int) -> tuple[str, int]:
    """Nested comment starting after the '(' at i-1; returns (content, end index)."""
    depth, n = 1, len(s)
    buf: list[str] = []
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n:
            i += 1
            c = s[i]
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if not depth:
                return "".join(buf), i + 1
        buf.append(c)
        i += 1
    return "".join(buf), n


def _tokens(s: str) -> list[tuple[str, str]]:
    """Tokenize an address list: kinds are q(uoted), c(omment), a(ngle), s(pecial), w(ord).

    One C-level regex match per token keeps megabyte headers fast; only comments
    (which nest) are scanned by hand.
    """
    toks: list[tuple[str, str]] = []
    pos, n = 0, len(s)
    match = _TOKEN_RE.match
    while pos < n and len(toks) < MAX_TOKENS:
        m = match(s, pos)
        if m is None:  # cannot happen: the last alternative matches any character
            break
        pos = m.end()
        kind = m.lastgroup
        if kind is None:
            continue  # whitespace or a stray character
        if kind == "c":
            text, pos = _comment(s, pos)
            toks.append(("c", text))
        elif kind == "q":
            q = m.group("q")
            toks.append(("q", _QPAIR_RE.sub(r"\1", q) if "\\" in q else q))
        elif kind == "w":
            w = m.group("w")  # a run of words in one token; normalise inner whitespace
            toks.append(("w", " ".join(w.split()) if len(w) > 1 and _HAS_WS_RE.search(w) else w))
        elif kind == "s":
            toks.append(("s", m.group("s")[0]))
        else:
            toks.append((kind, m.group(kind)))
    return toks


def _clean_name(words: list[str]) -> str | None:
    if not words:
        return None
    name = as_text(" ".join(words)).strip()
    name = re.sub(r"\s+", " ", name) if ("\n" in name or "\t" in name) else name
    return name or None


def _clean_angle(addr: str) -> str:
    if not addr.startswith("@") and "(" not in addr and not _HAS_WS_RE.search(addr):
        return addr
    addr = re.sub(r"\([^)]*\)", "", unfold(addr))
    addr = "".join(addr.split())
    if addr.startswith("@") and ":" in addr:  # obsolete source route
        addr = addr.split(":", 1)[1]
    return addr


def as_grouped_addresses(raw: str) -> list[dict[str, Any]]:
    """GroupedAddresses form; ungrouped mailboxes are collected under name=None groups."""
    groups: list[dict[str, Any]] = []
    in_group = False
    words: list[tuple[str, str]] = []  # ("q"|"w", text) seen since the last separator
    angle: str | None = None
    comment: str | None = None

    def add(mailbox: dict[str, Any]) -> None:
        if not in_group and (not groups or groups[-1]["name"] is not None or groups[-1]["_closed"]):
            groups.append({"name": None, "addresses": [], "_closed": False})
        groups[-1]["addresses"].append(mailbox)

    def end_mailbox() -> None:
        nonlocal words, angle, comment
        if angle is not None:
            add({"name": _clean_name([w for _, w in words]), "email": _clean_angle(angle)})
        elif words:
            if any("@" in w for k, w in words if k == "w"):
                email = "".join(f'"{w}"' if k == "q" else w.replace(" ", "") for k, w in words)
                add({"name": _clean_name([comment]) if comment else None, "email": email})
            else:  # no address at all ("To: John"): keep the text, best effort
                add({"name": None, "email": " ".join(w for _, w in words)})
        words, angle, comment = [], None, None

    for kind, val in _tokens(raw):
        if kind == "s":
            if val == ":" and not in_group and angle is None:
                if groups:
                    groups[-1]["_closed"] = True
                name = _clean_name([w for _, w in words])
                groups.append({"name": name, "addresses": [], "_closed": False})
                in_group = True
                words, comment = [], None
            elif val == ":":
                words.append(("w", ":"))
            elif val == ",":
                end_mailbox()
            else:  # ';' closes a group
                end_mailbox()
                if in_group:
                    groups[-1]["_closed"] = True
                in_group = False
        elif kind == "a":
            if angle is not None:  # two angle addresses without a separator
                end_mailbox()
            angle = val
        elif kind == "c":
            if comment is None and val.strip():
                comment = val
        elif angle is None:
            words.append((kind, val))
    end_mailbox()
    for g in groups:
        del g["_closed"]
    return groups


def as_addresses(raw: str) -> list[dict[str, Any]]:
    """Addresses form: every mailbox, group information discarded."""
    return [a for g in as_grouped_addresses(raw) for a in g["addresses"]]


# ---------------------------------------------------------------------------
# Message ids, dates, URLs

_COMMENT_RE = re.compile(r"\((?:[^()\\]|\\.)*\)")
_HAS_WS_RE = re.compile(r"\s")


def as_message_ids(raw: str) -> list[str] | None:
    """MessageIds form: ids without angle brackets, or None if nothing parses."""
    text = _COMMENT_RE.sub(" ", unfold(raw))
    ids = ["".join(m.split()) for m in re.findall(r"<([^<>]*)>", text)]
    ids = [i for i in ids if i]
    if not ids and "<" not in text:
        ids = [w for w in text.split() if "@" in w]  # bare ids: common breakage
    return ids or None


def as_date(raw: str) -> str | None:
    """Date form: RFC 3339 with the header's own offset (JMAP `Date`, not `UTCDate`)."""
    text = unfold(raw).strip()
    if not text or len(text) > 200:
        return None
    try:
        tup = parsedate_tz(text)
    except Exception:  # noqa: BLE001 - stdlib parser raises assorted errors on junk
        return None
    if not tup:
        return None
    year, month, day, hour, minute, sec = tup[:6]
    offset = tup[9] or 0
    sec = min(sec, 59)
    try:
        tz = timezone(timedelta(seconds=offset))
        dt = datetime(year, month, day, hour, minute, sec, tzinfo=tz)
    except (ValueError, OverflowError):
        return None
    return format_jmap_date(dt)


def format_jmap_date(dt: datetime) -> str:
    """RFC 3339 in JMAP's normalised shape: no fractional seconds, 'Z' for UTC."""
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    off = dt.utcoffset()
    if not off:
        return base + "Z"
    total = int(off.total_seconds())
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{base}{sign}{total // 3600:02d}:{total % 3600 // 60:02d}"


def as_urls(raw: str) -> list[str] | None:
    """URLs form (RFC 2369): bracketed URLs, comments dropped; None if none found."""
    text = _COMMENT_RE.sub(" ", unfold(raw))
    urls = ["".join(m.split()) for m in re.findall(r"<([^<>]*)>", text)]
    urls = [u for u in urls if u]
    return urls or None


_PARSERS = {
    "asRaw": lambda raw: raw,
    "asText": as_text,
    "asAddresses": as_addresses,
    "asGroupedAddresses": as_grouped_addresses,
    "asMessageIds": as_message_ids,
    "asDate": as_date,
    "asURLs": as_urls,
}


def parse_form(raw: str, form: str) -> Any:
    """Dispatch a raw value to the parser for `form` (an "as…" name)."""
    return _PARSERS[form](raw)


def header_value(headers: list[tuple[str, str]], name: str, form: str = "asRaw", all: bool = False) -> Any:
    """Evaluate a `header:` property against a raw (name, value) list.

    Matches names case-insensitively; last instance wins unless `all`.
    """
    lname = name.lower()
    values = [v for n, v in headers if n.lower() == lname]
    parse = _PARSERS[form]
    if all:
        return [parse(v) for v in values]
    return parse(values[-1]) if values else None
