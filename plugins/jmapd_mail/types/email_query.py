"""Email/query (RFC 8621 §4.4): filters and sorts compiled to SQL.

Every FilterCondition becomes an ``IN (subquery)`` on indexed columns, so
AND/OR/NOT nest freely; thread collapsing runs over the ordered id list.
"""

from __future__ import annotations

import operator
from typing import Any, ClassVar

import peewee as pw

from jmapd.db import database, is_postgres, tuples
from jmapd.methods.paging import window
from jmapd.methods.types import CHECKS, UTC_DATE_RE
from jmapd.protocol.errors import MethodError
from jmapd.sharing import tagged_ids
from jmapd.state import CannotCalculate, ChangeSet, changes_since, decode_state

from .. import extensions, rights, search
from ..capability import EMAIL_SORTS
from ..extensions import EmailExtension, Extended
from ..models import Email, EmailHeader, EmailKeyword, EmailMailbox, Mailbox
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


def _threads_with_keyword(account_id: str, keyword: str, readable: set[str] | None = None) -> Any:
    inner = Email.alias("kt")
    where = (inner.account_id == account_id) & inner.id.in_(_with_keyword(account_id, keyword))
    if readable is not None:  # a sharee's Thread is the Emails of it they read
        where &= inner.id.in_(rights.readable_emails(readable))
    return inner.select(inner.thread_id).where(where)


def _threads_missing_keyword(account_id: str, keyword: str, readable: set[str] | None = None) -> Any:
    inner = Email.alias("mt")
    where = (inner.account_id == account_id) & inner.id.not_in(_with_keyword(account_id, keyword))
    if readable is not None:
        where &= inner.id.in_(rights.readable_emails(readable))
    return inner.select(inner.thread_id).where(where)


def condition(account_id: str, name: str, value: Any, readable: set[str] | None = None,
              extra: dict[str, Any] | None = None) -> Any:
    """The SQL condition on ``Email`` for one FilterCondition property.

    ``readable``: for a sharee, the Mailboxes they read; the others (and the
    Emails only in them) take part in no condition. ``extra``: the conditions
    other plugins add (name → ``fn(value)``, see :mod:`..extensions`)."""
    if extra and name in extra:
        return extra[name](value)
    em = EmailMailbox
    if name == "inMailbox":
        return Email.id.in_(em.select(em.email_id).where((em.account_id == account_id) & (em.mailbox_id == value)))
    if name == "inMailboxOtherThan":
        where = (em.account_id == account_id) & em.mailbox_id.not_in(value or [""])
        if readable is not None:
            where &= em.mailbox_id.in_(sorted(readable) or [""])
        return Email.id.in_(em.select(em.email_id).where(where))
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
        return Email.thread_id.in_(_threads_with_keyword(account_id, value, readable))
    if name == "noneInThreadHaveKeyword":
        return Email.thread_id.not_in(_threads_with_keyword(account_id, value, readable))
    if name == "allInThreadHaveKeyword":
        return Email.thread_id.not_in(_threads_missing_keyword(account_id, value, readable))
    if name == "hasAttachment":
        return Email.has_attachment == value
    if name == "header":
        where = (EmailHeader.account_id == account_id) & (EmailHeader.name == value[0].lower())
        if len(value) == 2 and value[1] != "":
            where &= search._like(EmailHeader.value, value[1])
        return Email.id.in_(EmailHeader.select(EmailHeader.email_id).where(where))
    return search.condition(account_id, name, value)


def compile_filter(account_id: str, node: Any, readable: set[str] | None = None,
                   extra: dict[str, Any] | None = None) -> Any:
    if "operator" in node:
        parts = [compile_filter(account_id, c, readable, extra) for c in node["conditions"]]
        if node["operator"] == "AND":
            return _balanced(operator.and_, parts) if parts else pw.SQL("1 = 1")
        combined = _balanced(operator.or_, parts) if parts else pw.SQL("1 = 0")
        return combined if node["operator"] == "OR" else ~combined
    parts = [condition(account_id, name, value, readable, extra) for name, value in node.items()]
    return _balanced(operator.and_, parts) if parts else pw.SQL("1 = 1")


def _flag(expr: Any) -> Any:
    return pw.Case(None, [(expr, 1)], 0)


def order_by(account_id: str, sort: list[dict[str, Any]], readable: set[str] | None = None) -> list[Any]:
    columns: dict[str, pw.Field[Any]] = {
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
            column = _flag(Email.thread_id.in_(_threads_with_keyword(account_id, comparator["keyword"], readable)))
        else:  # allInThreadHaveKeyword
            column = _flag(Email.thread_id.not_in(_threads_missing_keyword(account_id, comparator["keyword"], readable)))
        out.append(column.asc() if comparator.get("isAscending", True) else column.desc())
    if not sort:
        out.append(Email.received_at.desc())
    out.append(Email.seq.desc())
    return out


class EmailQueryMixin(Extended):
    filters = {name: "Any" for name in FILTERS}
    sorts = frozenset(EMAIL_SORTS)
    query_arguments = {"collapseThreads": False}

    def check_filter(self, name: str, value: Any) -> bool:
        for extension in self._extensions():
            if name in extension.filters:
                return bool(CHECKS[extension.filters[name]](value))
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

    #: RFC 8621 §4.4.2: the keyword of a hasKeyword-style sort.
    comparator_keys: ClassVar[tuple[str, ...]] = ("keyword",)

    def check_comparator(self, comparator: dict[str, Any]) -> None:
        if comparator["property"] in ("hasKeyword", "allInThreadHaveKeyword", "someInThreadHaveKeyword"):
            if not valid_keyword(comparator.get("keyword")):
                raise MethodError("invalidArguments", f"sorting by {comparator['property']} needs a valid keyword")

    def check_query_args(self, ctx: Any, args: dict[str, Any]) -> None:
        if not isinstance(args.get("collapseThreads", False), bool):
            raise MethodError("invalidArguments", "collapseThreads must be a boolean")
        extensions.require_using(self._extensions(), ctx, [], args.get("filter"))

    def can_calculate_changes(self, args: dict[str, Any]) -> bool:
        """Email/queryChanges tracks Thread-dependent results too (query_changes_touched),
        but not the matches of an extension's condition that change with no Email change."""
        used = extensions.filter_names(args.get("filter"))
        return not any(used & extension.changing_filters for extension in self._extensions())

    def _extensions(self) -> list[EmailExtension]:
        return self.extensions

    def _extra_conditions(self, ctx: Any, account_id: str) -> dict[str, Any]:
        """Each extension condition as ``fn(value)`` for :func:`compile_filter`."""
        extra: dict[str, Any] = {}
        for extension in self._extensions():
            if extension.condition is None:
                continue
            for name in extension.filters:
                def run(value: Any, name: str = name, extension: EmailExtension = extension) -> Any:
                    return extension.condition(ctx, account_id, name, value, Email.id)  # type: ignore[misc]
                extra[name] = run
        return extra

    def query_changes_touched(self, ctx: Any, account_id: str, since: int, state: str, changes: ChangeSet,
                              args: dict[str, Any], sort: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
        return query_changes_touched(ctx, account_id, since, state, changes, args, sort)

    def query_page(self, ctx: Any, account_id: str, filter: Any, sort: list[dict[str, Any]], args: dict[str, Any],
                   limit: int, want_total: bool) -> tuple[int, list[str], int | None]:
        """The page in SQL rather than every id in Python (:func:`query_page`)."""
        return query_page(ctx, account_id, filter, sort, args, limit, want_total,
                          self._extra_conditions(ctx, account_id))

    def query(self, ctx: Any, account_id: str, filter: Any, sort: list[dict[str, Any]], args: dict[str, Any]) -> list[str]:
        query = Email.select(Email.id, Email.thread_id).where(Email.account_id == account_id)
        readable = rights.readable(ctx, account_id)
        if filter:
            query = query.where(compile_filter(account_id, filter, readable, self._extra_conditions(ctx, account_id)))
        if readable is not None:
            query = query.where(Email.id.in_(rights.readable_emails(readable)))
        rows = tuples(query.order_by(*order_by(account_id, sort, readable)))
        if not args.get("collapseThreads"):
            return [r[0] for r in rows]
        seen: set[str] = set()
        out = []
        for email_id, thread_id in rows:
            if thread_id not in seen:
                seen.add(thread_id)
                out.append(email_id)
        return out


# -- Email/query and Email/queryChanges handlers ---------------------------------
#
# The generic engine materialises every matching id and windows the list in
# Python. These handlers push the window into SQL instead: the common
# listing (one Mailbox, newest first, collapsed or not) is an index range
# scan over ``mail_email_mailbox`` (``is_latest`` marks each Thread's newest
# Email per Mailbox), other filters page with LIMIT/OFFSET or, collapsed,
# stream rows until the page is full; totals are counted only when asked.


def _latest_true() -> Any:
    # A literal (not a bound parameter), so the partial index's WHERE matches.
    return pw.NodeList((EmailMailbox.is_latest, pw.SQL("= TRUE")))


def _mailbox_listing(account_id: str, filter: Any, sort: list[dict[str, Any]], collapse: bool,
                     readable: set[str] | None = None) -> tuple[Any, list[Any], bool] | None:
    """(base query on EmailMailbox, order) for "one Mailbox by receivedAt", else None."""
    if not isinstance(filter, dict) or set(filter) != {"inMailbox"}:
        return None
    if len(sort) > 1 or (sort and sort[0]["property"] != "receivedAt"):
        return None
    descending = not sort or not sort[0].get("isAscending", True)
    if collapse and not descending:
        return None
    em = EmailMailbox
    # Mailbox ids belong to one account: check that once, then scan the
    # (covering) Mailbox indexes without an account_id column to test per row.
    # A sharee lists only a Mailbox they read: the same index scan as the owner's.
    owned = (readable is None or filter["inMailbox"] in readable) and Mailbox.select(Mailbox.id).where(
        (Mailbox.account_id == account_id) & (Mailbox.id == filter["inMailbox"])).exists()
    where = em.mailbox_id == (filter["inMailbox"] if owned else "")
    if collapse:
        where &= _latest_true()
    order = [em.received_at.desc(), em.seq.desc()] if descending else [em.received_at.asc(), em.seq.desc()]
    return em.select(em.email_id).where(where), order, descending


def _count(query: Any) -> int:
    return int(query.order_by().count(clear_limit=True))


def _window_sql(query: Any, order: list[Any], args: dict[str, Any], limit: int, want_total: bool,
                anchor_index: Any) -> tuple[int, list[str], int | None]:
    total = _count(query) if want_total or (args.get("position") or 0) < 0 else None
    anchor = args.get("anchor")
    if anchor is not None:
        index = anchor_index(anchor)
        if index is None:
            raise MethodError("anchorNotFound")
        position = max(0, index + (args.get("anchorOffset") or 0))
    else:
        position = args.get("position") or 0
        if position < 0:
            position = max(0, (total or 0) + position)
    ids = [r[0] for r in tuples(query.order_by(*order).limit(limit).offset(position))] if limit else []
    return position, ids, total


def _positive_text(node: Any) -> bool:
    """Whether the filter requires a text, body or header match at its top level (AND of conditions)."""
    if not isinstance(node, dict):
        return False
    if "operator" in node:
        return node["operator"] == "AND" and any(_positive_text(c) for c in node.get("conditions") or [])
    return any(k in node for k in ("text", "body", "subject", "from", "to", "cc", "bcc"))


def query_page(ctx: Any, account_id: str, filter: Any, sort: list[dict[str, Any]], args: dict[str, Any],
               limit: int, want_total: bool, extra: dict[str, Any] | None = None) -> tuple[int, list[str], int | None]:
    """(position, ids of the page, total or None) for a checked Email/query."""
    collapse = bool(args.get("collapseThreads"))
    readable = rights.readable(ctx, account_id)
    listing = _mailbox_listing(account_id, filter, sort, collapse, readable)
    if listing is not None:
        base, order, descending = listing
        em = EmailMailbox

        def anchor_index(anchor: str) -> int | None:
            row = base.select(em.received_at, em.seq).where(em.email_id == anchor).first()
            if row is None:
                return None
            if descending:
                before = (em.received_at > row.received_at) | ((em.received_at == row.received_at) & (em.seq > row.seq))
            else:
                before = (em.received_at < row.received_at) | ((em.received_at == row.received_at) & (em.seq > row.seq))
            return _count(base.where(before))

        return _window_sql(base, order, args, limit, want_total, anchor_index)

    hits: list[bool] = []
    token = search.few_hits.set(hits)
    try:
        condition = compile_filter(account_id, filter, readable, extra) if filter else None
    finally:
        search.few_hits.reset(token)
    account = Email.account_id == account_id
    if hits and all(hits) and _positive_text(filter) and not is_postgres():
        # Every full-text condition is a short rowid list that all results must
        # be in: look those rows up by rowid and sort them (unary + keeps SQLite
        # off the account's receivedAt index, which it would walk end to end;
        # PostgreSQL plans by the list's size and has no unary + on text).
        account = pw.NodeList((pw.SQL("+"), Email.account_id), glue="") == account_id
    query = Email.select(Email.id, Email.thread_id).where(account)
    if condition is not None:
        query = query.where(condition)
    if readable is not None:  # a sharee: Emails of the Mailboxes they read (RFC 8621 §2)
        query = query.where(rights.readable_exists(Email.id, readable))
    order = order_by(account_id, sort, readable)
    if not collapse:
        if args.get("anchor") is not None:
            ordered = [r[0] for r in tuples(query.order_by(*order))]
            position, page, _ = window(ordered, args, limit)
            return position, page, len(ordered) if want_total else None
        return _window_sql(query, order, args, limit, want_total, lambda anchor: None)
    # Collapsed: stream rows in order, keeping each Thread's first; stop at the page end
    # unless the total (or the anchor's index) needs every row.
    position = args.get("position") or 0
    need_all = want_total or position < 0 or args.get("anchor") is not None
    stop = None if need_all else position + limit
    seen: set[str] = set()
    ids: list[str] = []
    cursor = database.execute(query.order_by(*order))
    for email_id, thread_id in cursor:
        if thread_id in seen:
            continue
        seen.add(thread_id)
        ids.append(email_id)
        if stop is not None and len(ids) >= stop:
            break
    cursor.close()
    if need_all:
        position, page, _ = window(ids, args, limit)
        return position, page, len(ids) if want_total else None
    return position, ids[position : position + limit], None


def thread_dependent(args: dict[str, Any], sort: list[dict[str, Any]]) -> bool:
    """Whether an Email's place in the results depends on other Emails of its Thread."""
    if args.get("collapseThreads"):
        return True
    if any(c.get("property") in ("allInThreadHaveKeyword", "someInThreadHaveKeyword") for c in sort):
        return True

    def uses_thread(node: Any) -> bool:
        if not isinstance(node, dict):
            return False
        if "operator" in node:
            return any(uses_thread(c) for c in node.get("conditions") or [])
        return bool(THREAD_KEYWORD & set(node))

    return uses_thread(args.get("filter"))


def query_changes_touched(ctx: Any, account_id: str, since: int, state: str, emails: ChangeSet,
                          args: dict[str, Any], sort: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """What an Email/queryChanges (RFC 8620 §5.6) reports removed and re-added.

    Every Email that changed since the old state, and — when the results
    depend on Threads — every Email of a Thread that changed or holds a
    changed Email: whatever another Email of the Thread did (arrive, leave,
    change a keyword) can only move the Emails of that Thread.
    """
    try:
        threads = changes_since(account_id, "Thread", since, 10**9)
    except CannotCalculate:
        raise MethodError("cannotCalculateChanges", "queryState too old") from None
    touched = set(emails.created) | set(emails.updated) | set(emails.destroyed)
    dependent = thread_dependent(args, sort)
    thread_ids = set(threads.created) | set(threads.updated) if dependent else set()
    existing = sorted(touched - set(emails.destroyed)) if dependent else []
    for start in range(0, len(existing), 500):
        rows = Email.select(Email.thread_id).where((Email.account_id == account_id) & Email.id.in_(existing[start : start + 500]))
        thread_ids.update(r[0] for r in tuples(rows))
    thread_ids.discard("")
    members = sorted(thread_ids)
    for start in range(0, len(members), 500):
        rows = Email.select(Email.id).where((Email.account_id == account_id) & Email.thread_id.in_(members[start : start + 500]))
        touched.update(r[0] for r in tuples(rows))
    touched.discard("")
    readable = rights.readable(ctx, account_id)
    if readable is not None:
        # A sharee: only Emails they read now, or that a row of the window shows were in a Mailbox they read.
        until = decode_state(state) or since
        if rights.shares_moved(ctx, account_id, since, until):
            raise MethodError("cannotCalculateChanges", "your rights on a shared Mailbox changed; query again")
        now = rights.visible_ids(account_id, EmailMailbox.email_id, touched, readable)
        touched = now | tagged_ids(account_id, "Email", since, until, touched - now, readable)
    return touched, touched - set(emails.created)


def _balanced(op: Any, parts: list[Any]) -> Any:
    """``parts`` joined by ``op`` as a balanced tree: a left-deep chain of N
    terms nests N levels, which recursed past Python's and SQLite's limits."""
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2
    return op(_balanced(op, parts[:middle]), _balanced(op, parts[middle:]))
