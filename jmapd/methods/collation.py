"""String collations for /query sorts (RFC 4790 registry names)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any


def _unicode_casemap(value: str) -> str:
    return unicodedata.normalize("NFKD", value).casefold()


def _ascii_casemap(value: str) -> str:
    return value.translate({c: c + 32 for c in range(65, 91)})


def _ascii_numeric(value: str) -> Any:
    digits = ""
    for ch in value:
        if ch.isascii() and ch.isdigit():
            digits += ch
        else:
            break
    return (0, int(digits)) if digits else (1, 0)


COLLATIONS: dict[str, Callable[[str], Any]] = {
    "i;unicode-casemap": _unicode_casemap,
    "i;ascii-casemap": _ascii_casemap,
    "i;octet": lambda v: v.encode("utf-8", "surrogatepass"),
    "i;ascii-numeric": _ascii_numeric,
}
DEFAULT_COLLATION = "i;unicode-casemap"


def sort_key(value: Any, collation: str | None) -> Any:
    """A key that orders JMAP values: null first, strings by collation."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, COLLATIONS[collation or DEFAULT_COLLATION](value))
    return (3, str(value))
