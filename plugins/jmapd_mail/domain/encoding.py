"""Charset and transfer-encoding helpers shared by the parser and the composer.

Mail in the wild lies about its encodings; everything here is best effort and
reports problems through return values instead of raising, because a single
broken part must never make a whole message unreadable.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import re

# Charset labels seen in real mail that Python does not know under that name.
_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "x-sjis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "x-gbk": "gbk",
    "gb2312": "gb18030",  # gb18030 is a superset; senders routinely mislabel
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
    "ansi_x3.4-1968": "ascii",
    "us-ascii": "ascii",
    "latin1": "cp1252",
    "iso-8859-1": "cp1252",  # what senders mean in practice (WHATWG does the same)
    "iso8859-1": "cp1252",
}

# Python codecs that are text encodings technically but must never be driven by
# attacker-controlled labels (they interpret escapes, or are platform specific).
_CODEC_DENYLIST = {
    "undefined", "idna", "punycode", "unicode_escape", "raw_unicode_escape",
    "mbcs", "oem", "palmos", "uu_codec", "zlib_codec", "bz2_codec", "base64_codec",
    "hex_codec", "quopri_codec", "rot_13", "string_escape", "escape_codec",
}

_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@functools.lru_cache(maxsize=512)
def lookup_charset(label: str | None) -> str | None:
    """Map a MIME charset label to a usable Python codec name, or None if unknown.

    Kept separate so both RFC 2047 words and body parts share the same notion of
    "known charset" (the spec makes decoding conditional on it).
    """
    if not label:
        return None
    name = label.strip().strip('"').strip().lower()
    if "*" in name:  # RFC 2231 language suffix: utf-8*en
        name = name.split("*", 1)[0]
    name = _CHARSET_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _CODEC_DENYLIST:
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Decode text, falling back heuristically; returns (text, is_encoding_problem).

    A missing or us-ascii label on 8-bit data is so common (and UTF-8 so likely)
    that a clean UTF-8 decode is not reported as a problem.
    """
    codec = lookup_charset(charset) if charset else "ascii"
    if codec is None:
        return _heuristic(data), True
    if codec == "ascii":
        try:
            return data.decode("ascii"), False
        except UnicodeDecodeError:
            try:
                return data.decode("utf-8"), False
            except UnicodeDecodeError:
                return data.decode("cp1252", errors="replace"), True
    try:
        return data.decode(codec), False
    except UnicodeDecodeError:
        return data.decode(codec, errors="replace"), True
    except Exception:  # noqa: BLE001 - exotic codecs may raise anything
        return _heuristic(data), True


def _heuristic(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def utf8_lossy(data: bytes) -> str:
    """Header octets as the spec's Raw form wants them: invalid UTF-8 → U+FFFD, NUL dropped."""
    return data.decode("utf-8", errors="replace").replace("\x00", "")


def strip_controls(text: str) -> str:
    """Drop C0 controls (except TAB/LF/CR) and DEL; these break JSON consumers and databases."""
    return _CONTROL_RE.sub("", text)


_B64_DELETE = bytes(
    c for c in range(256) if not (chr(c).isascii() and (chr(c).isalnum() or chr(c) in "+/"))
)


def decode_base64(data: bytes) -> tuple[bytes, bool]:
    """Lenient base64: ignore junk characters and repair padding; flag if anything was off."""
    problem = False
    end = data.find(b"=")
    if end != -1:
        tail = data[end:].translate(None, _B64_DELETE)
        if tail:
            problem = True  # data after padding
        data = data[:end]
    clean = data.translate(None, _B64_DELETE)
    # Line breaks and whitespace are expected; anything else removed is a problem.
    stripped = data.translate(None, b" \t\r\n")
    if len(stripped) != len(clean):
        problem = True
    rem = len(clean) % 4
    if rem == 1:
        clean = clean[:-1]
        problem = True
    elif rem:
        clean += b"=" * (4 - rem)
    try:
        return binascii.a2b_base64(clean), problem
    except binascii.Error:
        return b"", True


def decode_qp(data: bytes) -> bytes:
    """QP decode; malformed escapes are kept literally (binascii's lenient behaviour)."""
    return binascii.a2b_qp(data)


def decode_transfer(data: bytes, cte: str | None) -> tuple[bytes, bool]:
    """Undo a Content-Transfer-Encoding; unknown encodings are passed through (per spec)."""
    if not cte or cte in ("7bit", "8bit", "binary"):
        return data, False
    if cte == "base64":
        return decode_base64(data)
    if cte == "quoted-printable":
        return decode_qp(data), False
    return data, True
