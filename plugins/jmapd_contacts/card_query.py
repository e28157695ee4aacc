"""ContactCard/query conditions (RFC 9610 §3.3.1) as SQL over the index.

Text matching follows the RFC's SHOULDs: case-insensitive (both sides
casefolded), text in single or double quotes is a phrase (``\\"``, ``\\'``
and ``\\\\`` escape inside it), and outside phrases every
whitespace-separated token must occur. Tokens match as substrings, so a
prefix typed into an autocomplete field finds the card; there is no
stemming.
"""

from __future__ import annotations

import datetime
import operator
from functools import reduce
from typing import Any

import peewee as pw

from .index import fold
from .models import ContactBook, ContactIndex, ContactMember

FILTERS: dict[str, str] = {
    "inAddressBook": "Id",
    "uid": "String",
    "hasMember": "String",
    "kind": "String",
    "createdBefore": "UTCDate",
    "createdAfter": "UTCDate",
    "updatedBefore": "UTCDate",
    "updatedAfter": "UTCDate",
    "text": "String",
    "name": "String",
    "name/given": "String",
    "name/surname": "String",
    "name/surname2": "String",
    "nickname": "String",
    "organization": "String",
    "email": "String",
    "phone": "String",
    "onlineService": "String",
    "address": "String",
    "note": "String",
}
SORTS = frozenset({"created", "updated", "name/given", "name/surname", "name/surname2"})

_TEXT_COLUMNS = {
    "text": ContactIndex.all_text,
    "name": ContactIndex.name_text,
    "name/given": ContactIndex.given_text,
    "name/surname": ContactIndex.surname_text,
    "name/surname2": ContactIndex.surname2_text,
    "nickname": ContactIndex.nickname_text,
    "organization": ContactIndex.organization_text,
    "email": ContactIndex.email_text,
    "phone": ContactIndex.phone_text,
    "onlineService": ContactIndex.online_text,
    "address": ContactIndex.address_text,
    "note": ContactIndex.note_text,
}
SORT_COLUMNS: dict[str, pw.Field[Any]] = {
    "created": ContactIndex.created,
    "updated": ContactIndex.updated,
    "name/given": ContactIndex.given,
    "name/surname": ContactIndex.surname,
    "name/surname2": ContactIndex.surname2,
}

#: The same sorts in i;unicode-casemap, for ORDER BY: the first component of
#: the kind sorts first in the folded text (components are joined by "\n").
FOLDED_SORT_COLUMNS: dict[str, pw.Field[Any]] = {
    "created": ContactIndex.created,
    "updated": ContactIndex.updated,
    "name/given": ContactIndex.given_text,
    "name/surname": ContactIndex.surname_text,
    "name/surname2": ContactIndex.surname2_text,
}


def terms(text: str) -> list[str]:
    """Tokens and quoted phrases of a search string, each one search term."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "\"'":
            quote, i, buf = ch, i + 1, []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n and text[i + 1] in "\"'\\":
                    i += 1
                buf.append(text[i])
                i += 1
            i += 1  # the closing quote (or the end)
            phrase = " ".join("".join(buf).split())
            if phrase:
                out.append(phrase)
            continue
        start = i
        while i < n and not text[i].isspace() and text[i] not in "\"'":
            i += 1
        out.append(text[start:i])
    return out


def _utc(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(datetime.UTC).replace(tzinfo=None)


def contains(column: Any, term: str) -> Any:
    """``column LIKE '%term%'`` with ``%``, ``_`` and ``\\`` in the term literal.

    NOTE(perf): a plain LIKE, not Peewee's ``contains`` (ILIKE on
    PostgreSQL): the column and the term are both casefolded already, and
    ILIKE costs PostgreSQL three times as much per row (7.2 against 2.1 ms
    over 10,000 cards). The pg_trgm indexes (migration 0002) serve LIKE.
    """
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    # Spelled out: Peewee's OP.LIKE is GLOB on SQLite.
    return pw.NodeList((column, pw.SQL("LIKE"), pw.Value(f"%{escaped}%", converter=False),
                        pw.SQL("ESCAPE"), pw.Value("\\", converter=False)))


def _true() -> Any:
    return ContactIndex.object_id.is_null(False)


def _condition(account_id: str, name: str, value: Any) -> Any:
    if name in _TEXT_COLUMNS:
        column = _TEXT_COLUMNS[name]
        found = [contains(column, fold(t)) for t in terms(value)]
        return reduce(operator.and_, found) if found else _true()
    if name == "inAddressBook":
        return ContactIndex.object_id.in_(ContactBook.select(ContactBook.object_id).where(
            (ContactBook.account_id == account_id) & (ContactBook.book_id == value)))
    if name == "hasMember":
        return ContactIndex.object_id.in_(ContactMember.select(ContactMember.object_id).where(
            (ContactMember.account_id == account_id) & (ContactMember.member == value)))
    if name == "uid":
        return ContactIndex.uid == value
    if name == "kind":
        return ContactIndex.kind == value
    date_column: pw.Field[Any] = ContactIndex.created if name.startswith("created") else ContactIndex.updated
    return (date_column < _utc(value)) if name.endswith("Before") else (date_column >= _utc(value))


def _balanced(op: Any, parts: list[Any]) -> Any:
    """Join conditions as a balanced tree: a left-deep chain of a few hundred
    ORs overflows SQLite's parser stack, a balanced one is only log2(n) deep."""
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2
    return op(_balanced(op, parts[:middle]), _balanced(op, parts[middle:]))


def where(account_id: str, node: Any) -> Any:
    """The SQL condition of a (checked) FilterOperator/FilterCondition tree."""
    if node is None:
        return _true()
    if "operator" in node:
        parts = [where(account_id, c) for c in node["conditions"]]
        if node["operator"] == "AND":
            return _balanced(operator.and_, parts) if parts else _true()
        anyof = _balanced(operator.or_, parts) if parts else ~_true()
        return anyof if node["operator"] == "OR" else ~anyof
    parts = [_condition(account_id, k, v) for k, v in node.items()]
    return reduce(operator.and_, parts) if parts else _true()
