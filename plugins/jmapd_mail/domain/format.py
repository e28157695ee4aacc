"""Header value serialisation: the inverse of headers.py, used by compose.

Every function validates its input and raises ComposeError with the JMAP
property path of the offending value; in particular CR, LF and NUL are refused
everywhere, because they are how header injection happens.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote


class ComposeError(ValueError):
    """A create object the spec calls invalid; `path` is the JMAP property path to report.

    The composer checks the whole object and raises once: ``problems`` holds
    every (path, description) it found, this error's own first."""

    def __init__(self, path: str, description: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(f"{path}: {description}")
        self.path = path
        self.description = description
        self.problems = problems or [(path, description)]


_FORBIDDEN = re.compile(r"[\r\n\x00]")
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")
_Q_SAFE = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_MAX_WORD = 75


def check_str(value: Any, path: str, *, allow_empty: bool = True) -> str:
    """The value must be a string with no CR/LF/NUL."""
    if not isinstance(value, str):
        raise ComposeError(path, "must be a string")
    if _FORBIDDEN.search(value):
        raise ComposeError(path, "must not contain CR, LF or NUL")
    if not allow_empty and not value:
        raise ComposeError(path, "must not be empty")
    return value


def check_list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise ComposeError(path, "must be an array")
    return value


# ---------------------------------------------------------------------------
# RFC 2047


def _encoded_words(text: str) -> list[str]:
    """Encode `text` as UTF-8 encoded-words of at most 75 chars, never splitting a character."""
    data = text.encode("utf-8")
    use_b = sum(b >= 0x80 for b in data) * 3 > len(data)
    words: list[str] = []
    chunk: list[bytes] = []  # Q-encoded pieces are ASCII, so both forms are bytes
    size = 0
    budget = _MAX_WORD - len("=?UTF-8?Q??=")
    for ch in text:
        raw = ch.encode("utf-8")
        if use_b:
            piece = raw
            cost = len(raw)
            limit = (budget // 4) * 3
        else:
            piece = "".join(
                "_" if b == 0x20 else (chr(b) if b in _Q_SAFE else f"={b:02X}") for b in raw
            ).encode("ascii")
            cost = len(piece)
            limit = budget
        if size + cost > limit and chunk:
            words.append(_finish_word(chunk, use_b))
            chunk, size = [], 0
        chunk.append(piece)
        size += cost
    if chunk or not words:
        words.append(_finish_word(chunk, use_b))
    return words


def _finish_word(chunk: list[bytes], use_b: bool) -> str:
    if use_b:
        return "=?UTF-8?B?" + base64.b64encode(b"".join(chunk)).decode("ascii") + "?="
    return "=?UTF-8?Q?" + b"".join(chunk).decode("ascii") + "?="


def _needs_encoding(word: str) -> bool:
    return (
        not word.isascii()
        or "=?" in word
        or len(word) > 76
        or any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in word)
    )


def encode_text(text: str) -> str:
    """Unstructured text (Subject etc.): only runs of words that need it become encoded words."""
    words = text.split(" ")
    if not any(_needs_encoding(w) for w in words):
        return text
    runs: list[tuple[bool, list[str]]] = []
    for w in words:
        enc = _needs_encoding(w) or (w == "" and bool(runs) and runs[-1][0])
        if runs and runs[-1][0] == enc:
            runs[-1][1].append(w)
        else:
            runs.append((enc, [w]))
    out = [" ".join(_encoded_words(" ".join(ws))) if enc else " ".join(ws) for enc, ws in runs]
    return " ".join(out)


def encode_phrase(name: str) -> str:
    """A display name as atoms, a quoted-string, or encoded words (non-ASCII)."""
    if not name.isascii() or "=?" in name or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return " ".join(_encoded_words(name))
    if _ATEXT.fullmatch(name) and name.strip() == name and "  " not in name:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------
# Structured forms

_EMAIL_BAD = re.compile(r'[\s<>(),;\\"]')
_QUOTED_LOCAL = re.compile(r'"(?:[^"\\]|\\.)*"@[^\s<>(),;\\"]*')


def format_email(value: Any, path: str) -> str:
    email = check_str(value, path)
    if _EMAIL_BAD.search(email) and not _QUOTED_LOCAL.fullmatch(email):
        raise ComposeError(path, "invalid character in email address")
    return email


def format_mailbox(addr: Any, path: str) -> str:
    if not isinstance(addr, dict):
        raise ComposeError(path, "must be an EmailAddress object")
    extra = set(addr) - {"name", "email"}
    if extra:
        raise ComposeError(f"{path}/{sorted(extra)[0]}", "unknown EmailAddress property")
    email = format_email(addr.get("email"), f"{path}/email")
    name = addr.get("name")
    if name is None or name == "":
        return email
    name = check_str(name, f"{path}/name")
    return f"{encode_phrase(name)} <{email}>"


def format_addresses(value: Any, path: str) -> str:
    return ", ".join(format_mailbox(a, f"{path}/{i}") for i, a in enumerate(check_list(value, path)))


def format_grouped(value: Any, path: str) -> str:
    out = []
    for i, group in enumerate(check_list(value, path)):
        gpath = f"{path}/{i}"
        if not isinstance(group, dict):
            raise ComposeError(gpath, "must be an EmailAddressGroup object")
        members = format_addresses(group.get("addresses", []), f"{gpath}/addresses")
        name = group.get("name")
        if name is None:
            if members:
                out.append(members)
        else:
            name = check_str(name, f"{gpath}/name")
            out.append(f"{encode_phrase(name)}: {members};" if members else f"{encode_phrase(name)}:;")
    return ", ".join(out)


def _bracketed(value: Any, path: str, what: str) -> list[str]:
    items = []
    for i, item in enumerate(check_list(value, path)):
        s = check_str(item, f"{path}/{i}", allow_empty=False)
        if re.search(r"[\s<>]", s) or not s.isprintable():
            raise ComposeError(f"{path}/{i}", f"invalid {what}")
        items.append(f"<{s}>")
    return items


def format_message_ids(value: Any, path: str) -> str:
    return " ".join(_bracketed(value, path, "message id"))


def format_urls(value: Any, path: str) -> str:
    return ", ".join(_bracketed(value, path, "URL"))


def parse_jmap_date(value: Any, path: str) -> datetime:
    s = check_str(value, path)
    try:
        dt = datetime.fromisoformat(s.replace("z", "Z"))
    except ValueError:
        raise ComposeError(path, "must be an RFC 3339 date-time") from None
    if dt.tzinfo is None or "T" not in s.upper():
        raise ComposeError(path, "must be an RFC 3339 date-time with offset")
    return dt


def format_date(value: Any, path: str) -> str:
    return format_datetime(parse_jmap_date(value, path).replace(microsecond=0))


def format_form(value: Any, form: str, path: str) -> str:
    """Serialise one header instance from its JMAP form; the leading space is added here."""
    if form == "asRaw":
        raw = check_str(value, path)  # raw is used verbatim after the colon, but for
        return raw if raw[:1] in (" ", "\t") else " " + raw  # the customary space
    fmt = {
        "asText": lambda v, p: encode_text(check_str(v, p)),
        "asAddresses": format_addresses,
        "asGroupedAddresses": format_grouped,
        "asMessageIds": format_message_ids,
        "asDate": format_date,
        "asURLs": format_urls,
    }[form]
    return " " + fmt(value, path)


# ---------------------------------------------------------------------------
# Lines and parameters

_SEG_RE = re.compile(r" *[^ ]+| +$")


def fold(name: str, value: str, *, limit: int = 78) -> str:
    """`Name:value` folded before spaces so lines stay under `limit` where possible."""
    line = f"{name}:{value}"
    if len(line) <= limit:
        return line
    out: list[str] = []
    cur = f"{name}:"
    for seg in _SEG_RE.findall(value):
        if len(cur) + len(seg) > limit and seg.startswith(" ") and cur.strip(" ") and not cur.endswith(":"):
            out.append(cur)
            cur = seg
        else:
            cur += seg
    out.append(cur)
    return "\r\n".join(out)


_TSPECIAL = re.compile(r'[()<>@,;:\\"/\[\]?=\s]')


def format_param(key: str, value: str) -> str:
    """`; key=value`, with RFC 2231 (and continuations) for non-ASCII or long values."""
    if value.isascii() and value.isprintable() and len(value) <= 60:
        if _TSPECIAL.search(value) or not value:
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"; {key}={value}"
    encoded = quote(value.encode("utf-8"), safe="!#$&+-.^_`|~")
    if len(encoded) <= 60:
        return f"; {key}*=utf-8''{encoded}"
    segs: list[str] = []
    pos = 0
    while pos < len(encoded):
        end = min(pos + 50, len(encoded))
        pct = encoded.rfind("%", max(pos, end - 2), end)
        if pct != -1 and end < len(encoded):
            end = pct  # never split a %XX escape
        segs.append(encoded[pos:end])
        pos = end
    parts = [f"; {key}*0*=utf-8''{segs[0]}"] + [f"; {key}*{i}*={s}" for i, s in enumerate(segs[1:], 1)]
    return "".join(parts)


def format_legacy_name(value: str) -> str:
    """Content-Type `name=` for old clients: RFC 2047 inside quotes (non-standard but ubiquitous)."""
    if value.isascii() and value.isprintable() and "=?" not in value:
        return format_param("name", value)
    return '; name="' + " ".join(_encoded_words(value)) + '"'
