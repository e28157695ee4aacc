"""JSPROP and JSPTR (RFC 9555 §3.2.1, §3.3.2): JSContact that vCard cannot say.

The writer does not keep a list of unmapped properties: it reads its own
vCard back and patches the difference (:func:`card_patch`), so whatever
the mapped lines lose — an unknown or vendor property, ``isOrdered``, a
separator component, a localization with no vCard line — travels as JSPROP
lines that together form one PatchObject. The reader applies that patch
after every other line (:func:`apply_jsprops`), and only if it is valid.
"""

from __future__ import annotations

import json
from typing import Any

from .validate import PatchError, apply_patch
from .vcard_text import caret_decode, caret_encode


def _token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def card_patch(have: dict[str, Any], want: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A PatchObject turning ``have`` into ``want``, descending objects, never arrays.

    Keys are replaced whole where they differ and are not both objects, so
    no pointer steps into an array (JSPTR MUST NOT) and every parent a key
    names exists in ``have``.
    """
    patch: dict[str, Any] = {}
    for key, value in want.items():
        path = prefix + _token(key)
        if key not in have:
            patch[path] = value
        elif have[key] != value:
            if isinstance(value, dict) and isinstance(have[key], dict) and value:
                patch.update(card_patch(have[key], value, path + "/"))
            else:
                patch[path] = value
    for key in have:
        if key not in want:
            patch[prefix + _token(key)] = None
    return patch


def encode_pointer(pointer: str) -> str:
    """A JSPTR parameter value, quoted (RFC 9555 §3.3.2), carets for what quotes cannot hold."""
    return '"' + caret_encode(pointer) + '"'


def decode_pointer(value: str) -> str:
    return caret_decode(value)


def jsprop_value(value: Any) -> str:
    """The compact JSON a JSPROP line carries (before TEXT escaping)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _steps_into_array(card: dict[str, Any], key: str) -> bool:
    node: Any = card
    for part in key.split("/")[:-1]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            return True
        if not isinstance(node, dict):
            return False
        node = node.get(part)
    return isinstance(node, list)


def apply_jsprops(card: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any] | None:
    """``card`` with the JSPROP PatchObject applied, or None when it is invalid.

    Invalid means: a pointer reaching into an array, one pointer the prefix
    of another (RFC 8620 §5.3), or a parent that does not exist.
    """
    for key in patch:
        parts = key.split("/")
        if any("/".join(parts[:i]) in patch for i in range(1, len(parts))):
            return None
    if any(_steps_into_array(card, key) for key in patch):
        return None
    try:
        return apply_patch(card, patch)
    except PatchError:
        return None
