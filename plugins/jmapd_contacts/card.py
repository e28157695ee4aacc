"""ContactCard (RFC 9610 §3): whole JSContact cards, stored verbatim.

The card is one JSON document holding everything the client sent —
registered JSContact properties, RFC 9555 ``vCardProps``, vendor
extensions — so no field is ever dropped; the domain validator
(:func:`.domain.validate.validate_card`) judges it and ``invalidProperties``
names every bad path. /get with ``properties: null`` returns each card's
own properties (not a fixed list padded with nulls, which would make
strict JSContact parsers reject it). Query runs on the index tables
(:mod:`.card_query`). Rights come from the address books a card is in:
read with ``mayRead`` on any, write with ``mayWrite`` on every book
involved (RFC 9610 §2.1).
"""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

import peewee as pw

from jmapd.db import is_postgres, tuples
from jmapd.methods.collation import DEFAULT_COLLATION, sort_key
from jmapd.methods.documents import DocumentType
from jmapd.methods.types import P, Prop
from jmapd.models import Change, Document
from jmapd.protocol.errors import PropertyProblems, SetError
from jmapd.sharing import access, tag, tagged_ids
from jmapd.state import UPDATED

from .addressbook import CONTACTS, ensure_default
from .card_query import FILTERS, FOLDED_SORT_COLUMNS, SORT_COLUMNS, SORTS, where
from .domain.validate import CARD_MEMBERS, is_vendor
from .index import defer_index, drop_index, uid_holders, write_index
from .media import check_media, inline_data_uris, media_blob_ids
from .models import ContactBook, ContactIndex

_ANY = P("Any", nullable=True)
#: RFC 9553 §1.7.2: ALPHA, DIGIT or "@" (the "@type" member).
_REGISTERED_NAME = re.compile(r"^[A-Za-z0-9@]+$")
VERSION = "2.0"


def now_utc() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ContactCard(DocumentType):
    name = "ContactCard"
    capability = CONTACTS
    id_prefix = "k"
    verbs = ("get", "changes", "set", "copy", "query", "queryChanges")
    filters = FILTERS
    sorts = SORTS
    properties = {
        "addressBookIds": P("Id[Boolean]", required=True, ref="idmap"),
        "@type": P("String", nullable=True),
        "version": P("String", nullable=True),
        "uid": P("String", nullable=True),
        "created": P("UTCDate", nullable=True),
        "updated": P("UTCDate", nullable=True),
    }
    quota_resources = frozenset({"count", "octets"})
    defer_inserts = True  # an import creates hundreds of cards per /set (bench/contacts.py)

    def property(self, name: str) -> Prop | None:
        found = self.properties.get(name)
        if found is not None:
            return found
        # RFC 9553 §1.7.2: an unknown name with the syntax of registered names
        # MUST NOT be treated as invalid and MUST be preserved, as must vendor
        # names; only the reserved "extra" and malformed names are refused.
        # The domain validator judges the values of the members it knows.
        if isinstance(name, str) and name != "extra" and (_REGISTERED_NAME.match(name) or is_vendor(name)):
            return _ANY
        return None

    def default_properties(self) -> list[str]:
        return list(dict.fromkeys([*self.properties, *CARD_MEMBERS]))

    def present(self, obj: dict[str, Any], props: list[str], requested: bool) -> dict[str, Any]:
        """properties: null → the card as stored; a list → those (null when absent)."""
        if requested:
            return {p: obj.get(p) for p in props}
        return dict(obj)

    def prologue(self, ctx: Any, verb: str, account_id: str, args: dict[str, Any]) -> None:
        ensure_default(ctx, account_id)
        if verb == "set" and isinstance(args.get("create"), dict):
            # The uids the creations bring, looked up together once the write lock is held.
            ctx.__dict__["_contacts_create_uids"] = {
                c["uid"] for c in args["create"].values() if isinstance(c, dict) and isinstance(c.get("uid"), str)}

    def load(self, ctx: Any, account_id: str, ids: Any, properties: Any, args: Any) -> dict[str, Any]:
        found = super().load(ctx, account_id, ids, properties, args)
        readable = access(ctx, account_id).with_right("AddressBook", "mayRead")
        if readable is None:
            return found
        return {k: v for k, v in found.items() if any(b in readable for b in v.get("addressBookIds") or {})}

    def validate(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        from .domain.validate import validate_card

        section = ctx.config.section("contacts")
        # RFC 9553 §1.4.9: in a PatchObject null removes the member; no
        # JSContact member has null as a value, so a null one is absent.
        for key in [k for k, v in obj.items() if v is None and k != "id"]:
            obj.pop(key)
        obj.setdefault("@type", "Card")
        obj.setdefault("version", VERSION)
        for key in ("uid", "created"):  # once set, never removed by an update
            if old is not None and key not in obj and old.get(key) is not None:
                obj[key] = old[key]
        card = {k: v for k, v in obj.items() if k != "id"}
        media_bad, for_validation = check_media(ctx, account_id, card)
        problems = PropertyProblems()  # the card's and the books' faults in one refusal (RFC 8620 §5.3)
        for path in dict.fromkeys([*validate_card(for_validation), *media_bad]):
            problems.add(path, "invalid JSContact Card")
        ids = obj.get("addressBookIds") or {}
        if not isinstance(ids, dict) or not ids or any(v is not True for v in ids.values()):
            problems.add("addressBookIds", "at least one address book, each mapped to true")
        elif len(ids) > section.max_address_books_per_card:
            problems.add("addressBookIds", "more address books than maxAddressBooksPerCard")
        else:
            books = _books(ctx, account_id)
            for b in ids:
                if b not in books:
                    problems.add(f"addressBookIds/{b}", "no such address book")
        problems.check()
        acc = access(ctx, account_id)
        for book_id in set(ids) | set((old or {}).get("addressBookIds") or {}):
            acc.require("AddressBook", book_id, "mayWrite")
        uid = obj.get("uid")
        if isinstance(uid, str):
            clash = _uid_holder(ctx, account_id, uid, obj.get("id") or "", creating=old is None)
            if clash is not None:
                raise SetError("alreadyExists", f"a card with uid {uid!r} exists (RFC 9610 §3)",
                               properties=["uid"], existingId=clash)

    def check_destroy(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        acc = access(ctx, account_id)
        for book_id in obj.get("addressBookIds") or {}:
            acc.require("AddressBook", book_id, "mayWrite")

    def blob_ids(self, obj: dict[str, Any]) -> list[str]:
        return media_blob_ids(obj)

    def create_needs_savepoint(self, obj: dict[str, Any]) -> bool:
        # the document, blob references, index rows and quota delta are all
        # buffered (defer_inserts); validate() only reads; only a data: URI
        # stored as a blob (inline_data_uris) is written at once
        media = obj.get("media")
        return isinstance(media, dict) and any(
            isinstance(m, dict) and str(m.get("uri", "")).startswith("data:") for m in media.values()
        )

    def insert(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        stamp = now_utc()
        extra = {"media": obj["media"]} if inline_data_uris(ctx, account_id, obj) else {}
        obj.setdefault("uid", f"urn:uuid:{uuid.uuid4()}")
        obj.setdefault("created", stamp)
        obj.setdefault("updated", stamp)
        super().insert(ctx, account_id, obj)
        defer_index(ctx.changes, account_id, obj["id"], obj)
        return {**extra, **{k: obj[k] for k in ("@type", "version", "uid", "created", "updated")}}

    def replace(self, ctx: Any, account_id: str, old: dict[str, Any], new: dict[str, Any], changed: set[str]) -> dict[str, Any] | None:
        extra: dict[str, Any] = {"media": new["media"]} if inline_data_uris(ctx, account_id, new) else {}
        if "updated" not in changed:
            new["updated"] = extra["updated"] = now_utc()
        for key in ("@type", "version"):
            if old.get(key) != new.get(key) and key not in changed:
                extra[key] = new[key]
        super().replace(ctx, account_id, old, new, changed)
        write_index(account_id, new["id"], new)
        moved = set(old.get("addressBookIds") or {}) ^ set(new.get("addressBookIds") or {})
        if moved:  # a card leaving a book a sharee reads is destroyed for them (visible_changes)
            ctx.changes.record(account_id, self.name, new["id"], UPDATED, props=book_tags(moved))
        return extra

    def delete(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        super().delete(ctx, account_id, obj, args)
        drop_index(account_id, obj["id"])
        # The engine records the destruction; this row says where the card was.
        ctx.changes.record(account_id, self.name, obj["id"], UPDATED, props=book_tags(obj.get("addressBookIds") or {}))

    def visible_changes(self, ctx: Any, account_id: str, since: int, changes: Any) -> tuple[list[str], list[str], list[str]]:
        """A sharee's ContactCard/changes names only cards of books they read:
        created and updated if in one now; destroyed if a row of the window
        tags a book they read or lost read on in the window (the card left it
        or was destroyed in it), or the card is in a book whose share they
        lost. The ids of cards in books never shared with them do not leak."""
        readable = access(ctx, account_id).with_right("AddressBook", "mayRead")
        if readable is None:
            return changes.created, changes.updated, changes.destroyed
        lost = _lost_books(ctx, account_id, since, changes.new_modseq) - readable
        now = _in_books(account_id, [*changes.created, *changes.updated], readable)
        gone = [i for i in changes.updated if i not in now] + changes.destroyed
        seen = tagged_ids(account_id, self.name, since, changes.new_modseq, gone, readable | lost)
        destroyed = [i for i in gone if i in seen]
        if lost:  # cards of a book no longer shared with them, in no book they still read
            reported = set(destroyed) | set(changes.created) | now
            still = _in_books(account_id, _cards_of_books(account_id, lost), readable)
            destroyed += sorted(set(_cards_of_books(account_id, lost)) - still - reported)
        return ([i for i in changes.created if i in now], [i for i in changes.updated if i in now], destroyed)

    def copy_object(self, ctx: Any, from_account: str, to_account: str, source: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        """A copy is the same card (its uid too, RFC 8620 §5.4 keeps everything
        but the id); addressBookIds must name books of the target account."""
        obj = {k: v for k, v in source.items() if k not in ("id", "created", "updated")}
        obj.update({k: v for k, v in overrides.items() if k != "id"})
        if isinstance(obj.get("media"), dict):
            obj["media"] = {k: _carried(ctx, from_account, to_account, v) for k, v in obj["media"].items()}
        return obj

    def _matching(self, ctx: Any, account_id: str, filter: Any, columns: list[Any]) -> Any:
        query = ContactIndex.select(*columns).where((ContactIndex.account_id == account_id) & where(account_id, filter))
        readable = access(ctx, account_id).with_right("AddressBook", "mayRead")
        if readable is not None:
            query = query.where(ContactIndex.object_id.in_(
                ContactBook.select(ContactBook.object_id).where(
                    (ContactBook.account_id == account_id) & ContactBook.book_id.in_(list(readable) or [""]))))
        return query

    def query(self, ctx: Any, account_id: str, filter: Any, sort: list[dict[str, Any]], args: dict[str, Any]) -> list[str]:
        if _in_sql(sort):
            return [r for (r,) in self._matching(ctx, account_id, filter, [ContactIndex.object_id])
                    .order_by(*_order(sort)).tuples()]
        wanted = [c["property"] for c in sort]
        # Dates as text (they sort the same): converting thousands of them to
        # datetime objects cost more than the SQL itself.
        columns = [ContactIndex.object_id, ContactIndex.created.cast("TEXT"),
                   *(SORT_COLUMNS[p].cast("TEXT") if p in ("created", "updated") else SORT_COLUMNS[p] for p in wanted)]
        rows = list(self._matching(ctx, account_id, filter, columns).tuples())
        rows.sort(key=lambda r: (r[1] or "", r[0]))  # oldest first, then by id
        for i in reversed(range(len(sort))):
            comparator = sort[i]
            collation = comparator.get("collation")

            def by(row: tuple[Any, ...], i: int = i, collation: Any = collation) -> Any:
                return sort_key(_sortable(row[2 + i]), collation)

            rows.sort(key=by, reverse=not comparator.get("isAscending", True))
        return [r[0] for r in rows]

    def query_page(self, ctx: Any, account_id: str, filter: Any, sort: list[dict[str, Any]], args: dict[str, Any],
                   limit: int, want_total: bool) -> tuple[int, list[str], int | None]:
        """A page straight from SQL (ORDER BY, OFFSET, LIMIT) when the sort is
        in the default collation and there is no anchor: an autocomplete
        reads ten ids, not every match."""
        position = args.get("position") or 0
        if not _in_sql(sort) or args.get("anchor") is not None or position < 0:
            return super().query_page(ctx, account_id, filter, sort, args, limit, want_total)
        query = self._matching(ctx, account_id, filter, [ContactIndex.object_id])
        page = [r for (r,) in query.order_by(*_order(sort)).offset(position).limit(limit).tuples()]
        total = query.count() if want_total else None
        return position, page, total


def _carried(ctx: Any, from_account: str, to_account: str, item: Any) -> Any:
    """A Media whose blob the target account lacks, as a ``data:`` URI of its
    bytes: the copy then stores it there as any inline photo is (checked
    and sniffed the same way). Without it a copy with a photo was refused,
    the blobId naming nothing in the target account."""
    if not isinstance(item, dict) or not isinstance(item.get("blobId"), str) or "uri" in item:
        return item
    blob_id = item["blobId"]
    if ctx.services.blobs.visible(to_account, blob_id):
        return item
    data = ctx.services.blobs.get(from_account, blob_id)  # the caller could read the card, so its media
    if data is None:
        return item
    import base64

    media_type = item.get("mediaType") or "application/octet-stream"
    out = {k: v for k, v in item.items() if k != "blobId"}
    out["uri"] = f"data:{media_type};base64,{base64.b64encode(data).decode()}"
    return out


def book_tags(book_ids: Any) -> list[str]:
    """Change-row tags of the address books a card left or was in."""
    return [tag(b) for b in sorted(book_ids)]


def _lost_books(ctx: Any, account_id: str, since: int, until: int) -> set[str]:
    """Books whose share with the caller changed in (since, until]: each share
    change tags the book's change row with the Principals concerned."""
    wanted = {tag(p) for p in ctx.principal.principal_ids}
    rows = tuples(Change.select(Change.object_id, Change.props).where(
        (Change.account_id == account_id) & (Change.type_name == "AddressBook") & (Change.modseq > since)
        & (Change.modseq <= until) & Change.props.is_null(False)))
    return {object_id for object_id, props in rows if wanted.intersection(props or [])}


def _cards_of_books(account_id: str, books: set[str]) -> list[str]:
    return [r for (r,) in tuples(ContactBook.select(ContactBook.object_id).where(
        (ContactBook.account_id == account_id) & ContactBook.book_id.in_(sorted(books))))]


def _in_books(account_id: str, ids: list[str], books: set[str]) -> set[str]:
    """Those of ``ids`` that are in one of ``books``."""
    found: set[str] = set()
    pending = sorted(set(ids))
    for chunk in range(0, len(pending), 500):
        found.update(r for (r,) in tuples(ContactBook.select(ContactBook.object_id).where(
            (ContactBook.account_id == account_id) & ContactBook.book_id.in_(list(books) or [""])
            & ContactBook.object_id.in_(pending[chunk:chunk + 500]))))
    return found


def _in_sql(sort: list[dict[str, Any]]) -> bool:
    """Whether SQL can order like the collation asked for: the index holds
    i;unicode-casemap (NFKD + casefold) text, compared by code point."""
    return all(c.get("collation") in (None, DEFAULT_COLLATION) for c in sort)


def _order(sort: list[dict[str, Any]]) -> list[Any]:
    """ORDER BY for a sort: nulls (and empty names) first ascending, as
    :func:`jmapd.methods.collation.sort_key` orders them; then oldest, then id."""
    out = []
    for comparator in sort:
        field = FOLDED_SORT_COLUMNS[comparator["property"]]
        column: pw.ColumnBase = field
        if field.name.endswith("_text") and is_postgres():
            column = field.collate('"C"')  # code point order, whatever the database's collation
        if comparator.get("isAscending", True):
            out.append(column.asc(nulls="FIRST"))
        else:
            out.append(column.desc(nulls="LAST"))
    return [*out, ContactIndex.created.asc(nulls="FIRST"), ContactIndex.object_id]


def _uid_holder(ctx: Any, account_id: str, uid: str, own_id: str, *, creating: bool) -> str | None:
    """The id of another card of the account with ``uid``, if any.

    Cards created earlier in this /set are still in the deferred rows. For
    a /set's creations the stored holders of all their uids are read in one
    query (inside the write lock, so no other writer can add one meanwhile);
    the creations come before the /set's updates and destroys, so that read
    stays true while they run.
    """
    pending = _deferred_uids(ctx).get((account_id, uid))
    if pending is not None and pending != own_id:
        return pending
    wanted: set[str] = ctx.__dict__.get("_contacts_create_uids") or set()
    if creating and uid in wanted:
        held: dict[str, str] | None = ctx.__dict__.get("_contacts_uid_holders")
        if held is None:
            held = ctx.__dict__["_contacts_uid_holders"] = uid_holders(account_id, sorted(wanted))
        holder = held.get(uid)
        return holder if holder is not None and holder != own_id else None
    clash = tuples(ContactIndex.select(ContactIndex.object_id).where(
        (ContactIndex.account_id == account_id) & (ContactIndex.uid == uid) & (ContactIndex.object_id != own_id)
    ).limit(1))
    return next((str(r[0]) for r in clash), None)


class _DeferredUids:
    """(account, uid) → card id of the index rows buffered so far, read on
    from where the last look stopped.

    NOTE(perf): scanning every buffered row for each creation made a /set
    of 200 cards compare 20,000 rows (cProfile of an import: 1,000,000
    generator steps per 10,000 cards). Only rows of creations that
    completed are read (the next creation's validation looks); should a
    rollback ever drop rows already read (it truncates the buffer, and
    others may be appended in the same places), the last row read is no
    longer there and the map is rebuilt.
    """

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows
        self.upto = 0
        self.last: Any = None
        self.uids: dict[tuple[str, str], str] = {}

    def still_valid(self, rows: list[Any]) -> bool:
        return rows is self.rows and self.upto <= len(rows) and (self.upto == 0 or rows[self.upto - 1] is self.last)

    def read_on(self) -> dict[tuple[str, str], str]:
        for model, row in self.rows[self.upto:]:
            if model is ContactIndex and isinstance(row.get("uid"), str):
                self.uids.setdefault((row["account_id"], row["uid"]), str(row["object_id"]))
        self.upto = len(self.rows)
        self.last = self.rows[-1] if self.rows else None
        return self.uids


def _deferred_uids(ctx: Any) -> dict[tuple[str, str], str]:
    rows = ctx.changes.deferred
    cache: _DeferredUids | None = ctx.__dict__.get("_contacts_deferred_uids")
    if cache is None or not cache.still_valid(rows):
        cache = ctx.__dict__["_contacts_deferred_uids"] = _DeferredUids(rows)
    return cache.read_on()


def _books(ctx: Any, account_id: str) -> set[str]:
    """The account's address book ids, read once per method call (an import
    creates hundreds of cards in one ContactCard/set)."""
    cache: dict[str, set[str]] = ctx.__dict__.setdefault("_contacts_books", {})
    if account_id not in cache:
        cache[account_id] = {r for (r,) in tuples(Document.select(Document.object_id).where(
            (Document.account_id == account_id) & (Document.type_name == "AddressBook")))}
    return cache[account_id]


def _sortable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.datetime) else value
