"""Full-text search in the database engine: SQLite FTS5 or PostgreSQL tsvector + GIN.

Address and subject conditions are substring matches on plain columns
(``SearchText``), which is what users expect of "from: example.com";
``text`` and ``body`` go through the engine's full-text index (words, in
any order), whose head column holds subject, addresses and attachment
names. SQLite's FTS5 table is contentless (detail=column): a deletion
subtracts the same text again, re-derived from the stored message. Which engine is used follows ``jmapd.db.is_postgres()``.

Every full-text lookup is confined to one account inside the index, so its
cost follows that account's matches, not everyone's: SQLite indexes the
account as a token of its own column (:func:`account_token`), ANDed into each
MATCH; PostgreSQL has a GIN index over (account_id, tsv) (btree_gin).
"""

from __future__ import annotations

import contextvars
import re
from typing import Any

import peewee as pw

from jmapd.db import database, is_postgres, later

from .models import Email, SearchText

FTS_TABLE = "mail_fts"
#: SQLite: a trigram index over ``mail_search_text`` (external content), so a
#: substring of 3+ characters finds its rows without reading every header.
TRIGRAM_TABLE = "mail_search_trgm"
TRIGRAM_COLUMNS = ("subject", "from_addr", "to", "cc", "bcc")
FEW_MATCHES = 1000
#: A header substring matching more rows than this is tested row by row instead.
FEW_HEADER_MATCHES = 1000
#: Filter condition name -> SearchText field (in TRIGRAM_COLUMNS' order).
_FIELD_NAMES = {"subject": "subject", "from": "from_", "to": "to", "cc": "cc", "bcc": "bcc"}
#: Per query: one entry per full-text condition compiled, True if it became a rowid list.
few_hits: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar("few_hits", default=None)
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def _clean(text: str) -> str:
    return text.replace("\x00", "")


def _texts(fields: dict[str, str]) -> tuple[str, str]:
    head = _clean(" ".join(fields[k] for k in ("subject", "from", "to", "cc", "bcc", "attachmentNames")))
    return head, _clean(fields["body"])


def account_token(account_id: str) -> str:
    """The one FTS5 token naming an account: hex, so no tokenizer splits or folds it
    (the m0007 migration derives it in SQL as ``'x' || lower(hex(account_id))``)."""
    return "x" + account_id.encode("utf-8").hex()


def search_text_row(seq: int, account_id: str, fields: dict[str, str]) -> dict[str, Any]:
    return {
        "seq": seq, "account_id": account_id, "subject": _clean(fields["subject"])[:10000],
        "from_": _clean(fields["from"])[:10000], "to": _clean(fields["to"])[:10000],
        "cc": _clean(fields["cc"])[:10000], "bcc": _clean(fields["bcc"])[:10000],
    }


def index_email(seq: int, account_id: str, fields: dict[str, str], changes: Any = None) -> None:
    """Index one Email's text (inside the creating transaction); with ``changes``
    its ``SearchText`` row waits for the flush's multi-row INSERT."""
    row = search_text_row(seq, account_id, fields)
    if changes is not None:
        changes.defer_insert(SearchText, row)
    else:
        SearchText.insert(**row).execute()
    if not is_postgres():
        _trigram_write(seq, [row[k] for k in ("subject", "from_", "to", "cc", "bcc")])
    head, body = _texts(fields)
    if is_postgres():
        # One tsvector: head words weighted A, body words B (a body search asks for :B).
        # Words are split as SQLite's unicode61 does (the PostgreSQL parser would keep
        # "a@b.example" as one token); to_tsvector refuses inputs over 1 MB.
        later(  # sent with the next statement
            f"INSERT INTO {FTS_TABLE} (seq, account_id, tsv) VALUES (%s, %s,"
            " setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'B'))",
            (seq, account_id, " ".join(words(head))[:200_000], " ".join(words(body))[:800_000]),
        )
    else:
        database.execute_sql(
            f"INSERT INTO {FTS_TABLE} (rowid, acct, head, body) VALUES (?, ?, ?, ?)",
            (seq, account_token(account_id), head, body),
        )


def index_emails(account_id: str, emails: list[tuple[int, dict[str, str]]], changes: Any) -> None:
    """:func:`index_email` for a batch (imports): one INSERT per index for many Emails."""
    if not emails:
        return
    for seq, fields in emails:
        changes.defer_insert(SearchText, search_text_row(seq, account_id, fields))
    postgres = is_postgres()
    for chunk in range(0, len(emails), 50):
        part = emails[chunk:chunk + 50]
        values: list[Any] = []
        if postgres:
            for seq, fields in part:
                head, body = _texts(fields)
                values += [seq, account_id, " ".join(words(head))[:200_000], " ".join(words(body))[:800_000]]
            group = "(%s, %s, setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'B'))"
            later(f"INSERT INTO {FTS_TABLE} (seq, account_id, tsv) VALUES " + ", ".join([group] * len(part)), values)
            continue
        token = account_token(account_id)
        trigram: list[Any] = []
        for seq, fields in part:
            head, body = _texts(fields)
            values += [seq, token, head, body]
            row = search_text_row(seq, account_id, fields)
            trigram += [seq, *(row[k] for k in ("subject", "from_", "to", "cc", "bcc"))]
        database.execute_sql(f"INSERT INTO {FTS_TABLE} (rowid, acct, head, body) VALUES "
                             + ", ".join(["(?, ?, ?, ?)"] * len(part)), values)
        columns = ", ".join(f'"{c}"' for c in TRIGRAM_COLUMNS)
        database.execute_sql(f"INSERT INTO {TRIGRAM_TABLE} (rowid, {columns}) VALUES "
                             + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(part)), trigram)


def unindex_email(seq: int, account_id: str, fields: dict[str, str]) -> None:
    """Remove one Email from the indexes; ``fields`` must be what :func:`index_email` was given
    (SQLite's index is contentless: deleting means subtracting the same tokens)."""
    if not is_postgres():
        old = SearchText.select(*_header_fields()).where(SearchText.seq == seq).tuples().first()
        if old is not None:
            _trigram_write(seq, list(old), delete=True)
    SearchText.delete().where(SearchText.seq == seq).execute()
    if is_postgres():
        database.execute_sql(f"DELETE FROM {FTS_TABLE} WHERE seq = %s", (seq,))
    else:
        head, body = _texts(fields)
        database.execute_sql(
            f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, acct, head, body) VALUES ('delete', ?, ?, ?, ?)",
            (seq, account_token(account_id), head, body),
        )


def words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def _fts(account_id: str, column: str | None, text: str) -> Any:
    """``Email.seq IN (matching rows)``, or a false condition when nothing is searchable."""
    terms = words(text)
    if not terms:
        return None
    if is_postgres():
        weight = ":B" if column == "body" else ""
        query = " & ".join(f"'{t}'{weight}" for t in terms)
        # The account as a constant: other accounts' matches are never read.
        matching = f"SELECT seq FROM {FTS_TABLE} WHERE account_id = %s AND tsv @@ to_tsquery('simple', %s)"
        params: tuple[Any, ...] = (account_id, query)
    else:
        # The account's token first, in its own column (a search for that token
        # in the text must not match it): FTS5 steps the AND through the
        # account's rows, skipping other accounts' matches in the term's list.
        scope = f"{column} : " if column else "{head body} : "
        query = " AND ".join([f'acct : "{account_token(account_id)}"', *(f'{scope}"{t}"' for t in terms)])
        matching = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"
        params = (query,)
    # Few matches: hand the database the row ids, so it looks them up and
    # sorts them instead of walking the account's receivedAt index testing
    # each row (or, on PostgreSQL, guessing from statistics that may be
    # stale); many matches: the subquery, and the index walk stops early.
    found = [r[0] for r in database.execute_sql(f"{matching} LIMIT {FEW_MATCHES + 1}", params)]
    if len(found) <= FEW_MATCHES:
        return _listed(found)
    hits = few_hits.get()
    if hits is not None:
        hits.append(False)
    return Email.seq.in_(pw.SQL(f"({matching})", params))


def _listed(seqs: list[Any]) -> Any:
    """``Email.seq IN (the few matching ids)``, noted in :data:`few_hits` for the query planner hint.

    The ids are inlined, not bound: an OR of many text terms would bind past
    SQLite's limit of 32,766 variables ("too many SQL variables").
    """
    hits = few_hits.get()
    if hits is not None:
        hits.append(True)
    return Email.seq.in_(pw.SQL("(" + ",".join(str(int(r)) for r in seqs) + ")")) if seqs else pw.SQL("1 = 0")


def _substring_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards (and the escape character) in ``text`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _like(field: Any, text: str) -> Any:
    """Case-insensitive substring match, with LIKE wildcards in ``text`` escaped."""
    op = "ILIKE" if is_postgres() else "LIKE"
    return pw.NodeList((field, pw.SQL(op), pw.Value(_substring_pattern(text)), pw.SQL("ESCAPE '\\'")))


def _header_fields() -> tuple[Any, ...]:
    return (SearchText.subject, SearchText.from_, SearchText.to, SearchText.cc, SearchText.bcc)


def _trigram_write(seq: int, values: list[str], delete: bool = False) -> None:
    """Add (or, with the values it was added with, remove) a row of the SQLite trigram index."""
    columns = ", ".join(f'"{c}"' for c in TRIGRAM_COLUMNS)
    if delete:
        sql = f"INSERT INTO {TRIGRAM_TABLE} ({TRIGRAM_TABLE}, rowid, {columns}) VALUES ('delete', ?, ?, ?, ?, ?, ?)"
    else:
        sql = f"INSERT INTO {TRIGRAM_TABLE} (rowid, {columns}) VALUES (?, ?, ?, ?, ?, ?)"
    database.execute_sql(sql, (seq, *values))


def _field(account_id: str, column: str, text: str) -> Any:
    """A header condition: case-insensitive substring, as users expect of "from: example.com".

    Few matches (at most :data:`FEW_HEADER_MATCHES`) become an id list, found
    through the trigram index on SQLite; more, or a substring too short for a
    trigram, are tested row by row in the outer query's order (:func:`_row_test`),
    so the newest 50 of a common substring are found after a few hundred rows
    whatever the mailbox's size. PostgreSQL (whose pg_trgm GIN indexes the
    planner uses for ILIKE) tests the account's rows.
    """
    field = getattr(SearchText, _FIELD_NAMES[column])
    if not is_postgres():
        if len(text) >= 3 and "\x00" not in text:
            found = _trigram_candidates(account_id, TRIGRAM_COLUMNS[list(_FIELD_NAMES).index(column)], text)
            if len(found) <= FEW_HEADER_MATCHES:
                return _listed(found)
        return _row_test(column, text)
    sub = SearchText.select(SearchText.seq).where((SearchText.account_id == account_id) & _like(field, text))
    return Email.seq.in_(sub)


def _trigram_candidates(account_id: str, name: str, text: str) -> list[int]:
    """Up to FEW_HEADER_MATCHES + 1 of the account's rows whose ``name`` column contains ``text``.

    The trigram index answers a MATCH of the text as a phrase (a LIKE with an
    ESCAPE clause is not offered to it, and read the whole table); its
    case folding is wider than LIKE's (ASCII only), so every row it finds is
    tested with the same LIKE as the row-by-row path, on the content row the
    account test reads anyway. CROSS JOIN keeps the index first: SQLite
    otherwise walks the account's rows, running the MATCH for each.
    """
    phrase = '"' + text.replace('"', '""') + '"'
    return [r[0] for r in database.execute_sql(
        f"SELECT t.rowid FROM {TRIGRAM_TABLE} t CROSS JOIN mail_search_text s ON s.seq = t.rowid"
        f" WHERE {TRIGRAM_TABLE} MATCH ? AND s.account_id = ? AND s.\"{name}\" LIKE ? ESCAPE '\\'"
        f" LIMIT {FEW_HEADER_MATCHES + 1}",
        ("{" + name + "} : " + phrase, account_id, _substring_pattern(text)),
    )]


def _row_test(column: str, text: str) -> Any:
    """The substring tested on each outer row's own header row (a primary-key probe).

    Correlated, so a query walking the account's receivedAt index stops at
    its LIMIT; an ``IN (subquery)`` made SQLite list every matching row of
    the account first (9 ms at 20,000 Emails, growing with the mailbox).
    """
    hits = few_hits.get()
    if hits is not None:
        hits.append(False)
    row = SearchText.alias("hs")
    field = getattr(row, _FIELD_NAMES[column])
    return pw.fn.EXISTS(row.select(pw.SQL("1")).where((row.seq == Email.seq) & _like(field, text)))


def condition(account_id: str, name: str, text: str) -> Any:
    """The SQL condition on ``Email`` for a text filter condition.

    Subqueries are filtered by the account id as a constant (never correlated
    with the outer row), so each runs once per query.
    """
    if name in ("from", "to", "cc", "bcc", "subject"):
        return _field(account_id, name, text)
    if name == "body":
        return _fts(account_id, "body", text) or pw.SQL("1 = 0")
    # text: words anywhere (the head column holds subject, addresses and
    # attachment names), through the full-text index only, so its cost
    # follows the matches, not the mailbox.
    return _fts(account_id, None, text) or pw.SQL("1 = 0")
