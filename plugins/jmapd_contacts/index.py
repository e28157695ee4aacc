"""Keeping the card query index (:mod:`.models`) in step with the documents.

Every write of a ContactCard goes through :func:`write_index` /
:func:`drop_index` in the same transaction as the document, so the index
never disagrees with what /get returns.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterator
from typing import Any

from .models import ContactBook, ContactIndex, ContactMember


def fold(text: str) -> str:
    """The ``i;unicode-casemap`` form both the index and the query terms are put in."""
    return unicodedata.normalize("NFKD", text).casefold()


def _values(obj: Any, *members: str) -> Iterator[str]:
    """String members of every object in an Id map (or list)."""
    items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, list) else ()
    for item in items:
        if isinstance(item, dict):
            for m in members:
                v = item.get(m)
                if isinstance(v, str):
                    yield v


def _name_component(card: dict[str, Any], kind: str) -> str | None:
    name = card.get("name")
    for comp in (name.get("components") or []) if isinstance(name, dict) else []:
        if isinstance(comp, dict) and comp.get("kind") == kind and isinstance(comp.get("value"), str):
            return str(comp["value"])
    return None


def _components(card: dict[str, Any], kind: str) -> list[str]:
    name = card.get("name")
    comps = (name.get("components") or []) if isinstance(name, dict) else []
    return [c["value"] for c in comps if isinstance(c, dict) and c.get("kind") == kind and isinstance(c.get("value"), str)]


def _name_texts(card: dict[str, Any]) -> list[str]:
    name = card.get("name")
    if not isinstance(name, dict):
        return []
    out = list(_values(name.get("components") or [], "value"))
    if isinstance(name.get("full"), str):
        out.append(name["full"])
    return out


def _address_texts(card: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for addr in (card.get("addresses") or {}).values() if isinstance(card.get("addresses"), dict) else ():
        if isinstance(addr, dict):
            out.extend(_values(addr.get("components") or [], "value"))
            if isinstance(addr.get("full"), str):
                out.append(addr["full"])
    return out


def _org_texts(card: dict[str, Any]) -> list[str]:
    out = list(_values(card.get("organizations"), "name"))
    for org in (card.get("organizations") or {}).values() if isinstance(card.get("organizations"), dict) else ():
        if isinstance(org, dict):
            out.extend(_values(org.get("units") or [], "name"))
    return out


def _all_strings(value: Any) -> list[str]:
    """Every string in ``value``, depth first.

    NOTE(perf): a loop over a stack, not a recursive generator: a card is
    some 130 nested values, and a generator frame per value was the
    largest single cost of an import's index rows (cProfile).
    """
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return out


#: Card members whose string values the ``text`` condition searches.
_TEXT_MEMBERS = ("name", "nicknames", "organizations", "titles", "emails", "phones", "onlineServices",
                 "addresses", "notes", "keywords", "personalInfo", "speakToAs", "relatedTo")


def _utc(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(datetime.UTC).replace(tzinfo=None)


def _join(parts: Any) -> str:
    return fold("\n".join(parts))


def _localized_texts(card: dict[str, Any]) -> Iterator[str]:
    """The text a ``localizations`` patch puts in a searched member: ``text``
    matches "with text in the card" (RFC 9610 §3.3), in whichever language."""
    locs = card.get("localizations")
    for patch in locs.values() if isinstance(locs, dict) else ():
        for key, value in patch.items() if isinstance(patch, dict) else ():
            if isinstance(key, str) and key.split("/", 1)[0] in _TEXT_MEMBERS:
                yield from _all_strings(value)


def index_row(account_id: str, object_id: str, card: dict[str, Any]) -> dict[str, Any]:
    keywords = card.get("keywords")
    texts = [*_all_strings({k: card.get(k) for k in _TEXT_MEMBERS if k != "keywords"}),
             *(keywords if isinstance(keywords, dict) else ()), *_localized_texts(card)]
    return {
        "account_id": account_id,
        "object_id": object_id,
        "uid": card.get("uid") if isinstance(card.get("uid"), str) else None,
        "kind": card.get("kind") if isinstance(card.get("kind"), str) else "individual",
        "created": _utc(card.get("created")),
        "updated": _utc(card.get("updated")),
        "given": _name_component(card, "given"),
        "surname": _name_component(card, "surname"),
        "surname2": _name_component(card, "surname2"),
        "name_text": _join(_name_texts(card)),
        "given_text": _join(_components(card, "given")),
        "surname_text": _join(_components(card, "surname")),
        "surname2_text": _join(_components(card, "surname2")),
        "nickname_text": _join(_values(card.get("nicknames"), "name")),
        "organization_text": _join(_org_texts(card)),
        "email_text": _join(_values(card.get("emails"), "address", "label")),
        "phone_text": _join(_values(card.get("phones"), "number", "label")),
        "online_text": _join(_values(card.get("onlineServices"), "service", "uri", "user", "label")),
        "address_text": _join(_address_texts(card)),
        "note_text": _join(_values(card.get("notes"), "note")),
        "all_text": _join(texts),
    }


def index_rows(account_id: str, object_id: str, card: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """Every index row of a card, as (model, row)."""
    rows: list[tuple[Any, dict[str, Any]]] = [(ContactIndex, index_row(account_id, object_id, card))]
    rows += [(ContactBook, {"account_id": account_id, "object_id": object_id, "book_id": b})
             for b, v in (card.get("addressBookIds") or {}).items() if v is True]
    members = card.get("members")
    if isinstance(members, dict):
        rows += [(ContactMember, {"account_id": account_id, "object_id": object_id, "member": m}) for m in members]
    return rows


def write_index(account_id: str, object_id: str, card: dict[str, Any], *, new: bool = False) -> None:
    """(Re)write a card's rows; ``new`` skips the deletes for a card just created."""
    if not new:
        drop_index(account_id, object_id)
    by_model: dict[Any, list[dict[str, Any]]] = {}
    for model, row in index_rows(account_id, object_id, card):
        by_model.setdefault(model, []).append(row)
    for model, rows in by_model.items():
        model.insert_many(rows).execute()


def defer_index(changes: Any, account_id: str, object_id: str, card: dict[str, Any]) -> None:
    """The rows of a card just created, written with the /set's other creations
    (:meth:`jmapd.state.ChangeLog.defer_insert`)."""
    for model, row in index_rows(account_id, object_id, card):
        changes.defer_insert(model, row)


def drop_index(account_id: str, object_id: str) -> None:
    for model in (ContactIndex, ContactBook, ContactMember):
        model.delete().where((model.account_id == account_id) & (model.object_id == object_id)).execute()


def reindex(account_id: str | None = None) -> int:
    """Rebuild the index from the stored cards (all accounts, or one)."""
    import orjson

    from jmapd.db import tuples
    from jmapd.models import Document

    query = Document.select(Document.account_id, Document.object_id, Document.data).where(
        Document.type_name == "ContactCard")
    if account_id is not None:
        query = query.where(Document.account_id == account_id)
    count = 0
    for acc, object_id, data in tuples(query):
        write_index(acc, object_id, orjson.loads(data) if isinstance(data, (str, bytes)) else dict(data))
        count += 1
    return count


def uid_holders(account_id: str, uids: list[str]) -> dict[str, str]:
    """uid → id of the account's cards holding one of ``uids`` (through the
    (account_id, uid) index, 500 a statement).

    NOTE(perf): the import used to ask ContactCard/query for an OR of 200
    uid conditions per batch: Peewee rendered 200 comparisons and the
    planner costed each branch, some 9% of an import.
    """
    from jmapd.db import tuples

    held: dict[str, str] = {}
    pending = sorted(set(uids))
    for chunk in range(0, len(pending), 500):
        held.update(tuples(ContactIndex.select(ContactIndex.uid, ContactIndex.object_id).where(
            (ContactIndex.account_id == account_id) & ContactIndex.uid.in_(pending[chunk:chunk + 500]))))
    return held


#: Tables a bulk import fills whose statistics the planner needs at once.
ANALYZED = ("contacts_card_index", "contacts_card_book", "contacts_card_member", "jmap_document", "jmap_change")


def analyze() -> None:
    """After a bulk import on PostgreSQL: move the trigram indexes' pending
    entries into the index proper and renew the statistics of every table
    the import filled.

    NOTE(perf): GIN's fast update leaves an import's entries in a pending
    list (until autovacuum); the planner then costs the index so high that
    it reads every row instead (25 ms for a rare email at 10,000 cards,
    against 0.05 ms through the index), and with an empty table's counts it
    misjudges the rest. The same holds for the document and change tables:
    with the statistics of an empty jmap_document the planner read all
    10,000 cards of the account through the (account, type) prefix of its
    index and filtered the 50 ids of a ContactCard/get (4 ms of SQL, 0.4 ms
    after ANALYZE) until autovacuum caught up,
    which it may never do where it is off.
    """
    from jmapd.db import database, is_postgres

    if not is_postgres():
        return
    for (name,) in database.execute_sql(
            "SELECT indexrelid::regclass::text FROM pg_index JOIN pg_class c ON c.oid = indexrelid"
            " WHERE indrelid = 'contacts_card_index'::regclass"
            " AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'gin')").fetchall():
        database.execute_sql("SELECT gin_clean_pending_list(%s::regclass)", (name,))
    for table in ANALYZED:
        database.execute_sql(f'ANALYZE "{table}"')
