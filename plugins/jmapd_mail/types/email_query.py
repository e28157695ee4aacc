"""Email/query (RFC 8621 §4.4): filters and sorts compiled to SQL.

Every FilterCondition becomes an ``IN (subquery)`` on indexed columns, so
AND/OR/NOT nest freely; thread collapsing runs over the ordered id list.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import peewee as pw

from jmapd.methods.types import CHECKS, UTC_DATE_RE
from jmapd.protocol.errors import MethodError

from .. import search
from ..capability import EMAIL_SORTS
from ..models import Email, EmailHeader, EmailKeyword, EmailMailbox
from ..store import parse_utc, valid_keyword

FILTERS = {
    "inMailbox": "Id",
    "inMailboxOtherThan": "Id[]",
    "before": "UTCDate",
    "after": "UTCDate",
    "minSize": "UnsignedInt",
    "maxSize": "UnsignedInt",
    "allInThreadHaveKeyword": "keyword",
    "someInThreadHaveKeyword": "keyword",
    "noneInThreadHaveKeyword": "keyword",
    "hasKeyword": "keyword",
    "notKeyword": "keyword",
    "hasAttachment": "Boolean",
    "text": "String",
    "from": "String",
    "to": "String",
    "cc": "String",
    "bcc": "String",
    "subject": "String",
    "body": "String",
    "header": "header",
}
THREAD_KEYWORD = {"allInThreadHaveKeyword", "someInThreadHaveKeyword", "noneInThreadHaveKeyword"}


def _with_keyword(account_id: str, keyword: str) -> Any:
    return EmailKeyword.select(EmailKeyword.email_id).where(
        (EmailKeyword.account_id == account_id) & (EmailKeyword.keyword == keyword.lower())
    )


def _threads_with_keyword(account_id: str, keyword: str) -> Any:
    inner = Email.alias("kt")
    return inner.select(inner.thread_id).where((inner.account_id == account_id) & inner.id.in_(_with_keyword(account_id, keyword)))


def _threads_missing_keyword(account_id: str, keyword: str) -> Any:
    inner = Email.alias("mt")
    return inner.select(inner.thread_id).where((inner.account_id == account_id) & inner.id.not_in(_with_keyword(account_id, keyword)))


def condition(account_id: str, name: str, value: Any) -> Any:
    """The SQL condition on ``Email`` for one FilterCondition property."""
    em = EmailMailbox
    if name == "inMailbox":
        return Email.id.in_(em.select(em.email_id).where((em.account_id == account_id) & (em.mailbox_id == value)))
    if name == "inMailboxOtherThan":
        sub = em.select(em.email_id).where((em.account_id == account_id) & em.mailbox_id.not_in(value or [""]))
        return Email.id.in_(sub)
    if name == "before":
        return Email.received_at < parse_utc(value)
    if name == "after":
        return Email.received_at >= parse_utc(value)
    if name == "minSize":
        return Email.size >= value
    if name == "maxSize":
        return Email.size < value
    if name == "hasKeyword":
        return Email.id.in_(_with_keyword(account_id, value))
    if name == "notKeyword":
        return Email.id.not_in(_with_keyword(account_id, value))
    if name == "someInThreadHaveKeyword":
        return Email.thread_id.in_(_threads_with_keyword(account_id, value))
    if name == "noneInThreadHaveKeyword":
        return Email.thread_id.not_in(_threads_with_keyword(account_id, value))
    if name == "allInThreadHaveKeyword":
        return Email.thread_id.not_in(_threads_missing_keyword(account_id, value))
    if name == "hasAttachment":
        return Email.has_attachment == value
    if name == "header":
        where = (EmailHeader.account_id == account_id) & (EmailHeader.name == value[0].lower())
        if len(value) == 2 and value[1] != "":
            where &= search._like(EmailHeader.value, value[1])
        return Email.id.in_(EmailHeader.select(EmailHeader.email_id).where(where))
    return search.condition(account_id, name, value)


def compile_filter(account_id: str, node: Any) -> Any:
    if "operator" in node:
        parts = [compile_filter(account_id, c) for c in node["conditions"]]
        if node["operator"] == "AND":
            return reduce(lambda a, b: a & b, parts) if parts else pw.SQL("1 = 1")
        combined = reduce(lambda a, b: a | b, parts) if parts else pw.SQL("1 = 0")
        return combined if node["operator"] == "OR" else ~combined
    parts = [condition(account_id, name, value) for name, value in node.items()]
    return reduce(lambda a, b: a & b, parts) if parts else pw.SQL("1 = 1")


def _flag(expr: Any) -> Any:
    return pw.Case(None, [(expr, 1)], 0)


def order_by(account_id: str, sort: list[dict[str, Any]]) -> list[Any]:
    columns = {
        "receivedAt": Email.received_at, "sentAt": Email.sent_at, "size": Email.size,
        "from": Email.from_sort, "to": Email.to_sort, "subject": Email.subject_sort,
    }
    out = []
    for comparator in sort:
        prop = comparator["property"]
        if prop in columns:
            column = columns[prop]
        elif prop == "hasKeyword":
            column = _flag(Email.id.in_(_with_keyword(account_id, comparator["keyword"])))
        elif prop == "someInThreadHaveKeyword":
            column = _flag(Email.thread_id.in_(_threads_with_keyword(account_id, comparator["keyword"])))
        else:  # allInThreadHaveKeyword
            column = _flag(Email.thread_id.not_in(_threads_missing_keyword(account_id, comparator["keyword"])))
        out.append(column.asc() if comparator.get("isAscending", True) else column.desc())
    if not sort:
        out.append(Email.received_at.desc())
    out.append(Email.seq.desc())
    return out


class EmailQueryMixin:
    filters = {name: "Any" for name in FILTERS}
    sorts = frozenset(EMAIL_SORTS)
    query_arguments = {"collapseThreads": False}

    def check_filter(self, name: str, value: Any) -> bool:
        kind = FILTERS[name]
        if kind == "keyword":
            return valid_keyword(value)
        if kind == "header":
            return (
                isinstance(value, list) and 1 <= len(value) <= 2 and all(isinstance(v, str) for v in value)
                and bool(value[0])
            )
        if kind == "UTCDate":
            return isinstance(value, str) and bool(UTC_DATE_RE.match(value)) and CHECKS["UTCDate"](value)
        return CHECKS[kind](value)

    def check_comparator(self, comparator: dict[str, Any]) -> None:
        if comparator["property"] in ("hasKeyword", "allInThreadHaveKeyword", "someInThreadHaveKeyword"):
            if not valid_keyword(comparator.get("keyword")):
                raise MethodError("invalidArguments", f"sorting by {comparator['property']} needs a valid keyword")

    def check_query_args(self, ctx: Any, args: dict[str, Any]) -> None:
        if not isinstance(args.get("collapseThreads", False), bool):
            raise MethodError("invalidArguments", "collapseThreads must be a boolean")

    def can_calculate_changes(self, args: dict[str, Any]) -> bool:
        """The generic /queryChanges sees only Emails that changed themselves;
        results that depend on other Emails of the Thread cannot be tracked that way."""
        if args.get("collapseThreads"):
            return False
        if any(c.get("property") in ("allInThreadHaveKeyword", "someInThreadHaveKeyword") for c in args.get("sort") or []):
            return False

        def uses_thread(node: Any) -> bool:
            if not isinstance(node, dict):
                return False
            if "operator" in node:
                return any(uses_thread(c) for c in node.get("conditions") or [])
            return bool(THREAD_KEYWORD & set(node))

        return not uses_thread(args.get("filter"))

    def query(self, ctx: Any, account_id: str, filter: Any, sort: list[dict[str, Any]], args: dict[str, Any]) -> list[str]:
        query = Email.select(Email.id, Email.thread_id).where(Email.account_id == account_id)
        if filter:
            query = query.where(compile_filter(account_id, filter))
        rows = query.order_by(*order_by(account_id, sort)).tuples()
        if not args.get("collapseThreads"):
            return [r[0] for r in rows]
        seen: set[str] = set()
        out = []
        for email_id, thread_id in rows:
            if thread_id not in seen:
                seen.add(thread_id)
                out.append(email_id)
        return out
