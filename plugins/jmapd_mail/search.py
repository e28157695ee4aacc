"""Full-text search in the database engine: SQLite FTS5 or PostgreSQL tsvector + GIN.

Address and subject conditions are substring matches on plain columns
(``SearchText``), which is what users expect of "from: example.com";
``text`` and ``body`` go through the engine's full-text index, which also
holds attachment names. Which engine is used follows ``jmapd.db.is_postgres()``.
"""

from __future__ import annotations

import re
from typing import Any

import peewee as pw

from jmapd.db import database, is_postgres

from .models import Email, SearchText

FTS_TABLE = "mail_fts"
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def create_index(db: Any) -> None:
    """DDL for the engine-specific index (called by the migration)."""
    if is_postgres(db):
        db.execute_sql(
            f"CREATE TABLE IF NOT EXISTS {FTS_TABLE} (seq BIGINT PRIMARY KEY, account_id VARCHAR(64) NOT NULL,"
            " tsv_all TSVECTOR NOT NULL, tsv_body TSVECTOR NOT NULL)"
        )
        db.execute_sql(f"CREATE INDEX IF NOT EXISTS {FTS_TABLE}_all ON {FTS_TABLE} USING GIN (tsv_all)")
        db.execute_sql(f"CREATE INDEX IF NOT EXISTS {FTS_TABLE}_body ON {FTS_TABLE} USING GIN (tsv_body)")
    else:
        db.execute_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
            "head, body, tokenize = 'unicode61 remove_diacritics 2')"
        )


def drop_index(db: Any) -> None:
    db.execute_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def _clean(text: str) -> str:
    return text.replace("\x00", "")


def index_email(seq: int, account_id: str, fields: dict[str, str]) -> None:
    """Index one Email's text (inside the creating transaction)."""
    SearchText.insert(
        seq=seq, account_id=account_id, subject=_clean(fields["subject"])[:10000],
        from_=_clean(fields["from"])[:10000], to=_clean(fields["to"])[:10000],
        cc=_clean(fields["cc"])[:10000], bcc=_clean(fields["bcc"])[:10000],
    ).execute()
    head = _clean(" ".join(fields[k] for k in ("subject", "from", "to", "cc", "bcc", "attachmentNames")))
    body = _clean(fields["body"])
    if is_postgres():
        # to_tsvector refuses inputs over 1 MB; truncate rather than fail the import.
        database.execute_sql(
            f"INSERT INTO {FTS_TABLE} (seq, account_id, tsv_all, tsv_body) VALUES "
            "(%s, %s, to_tsvector('simple', %s) || to_tsvector('simple', %s), to_tsvector('simple', %s))",
            (seq, account_id, head[:200_000], body[:800_000], body[:800_000]),
        )
    else:
        database.execute_sql(f"INSERT INTO {FTS_TABLE} (rowid, head, body) VALUES (?, ?, ?)", (seq, head, body))


def unindex_email(seq: int) -> None:
    SearchText.delete().where(SearchText.seq == seq).execute()
    placeholder = "%s" if is_postgres() else "?"
    key = "seq" if is_postgres() else "rowid"
    database.execute_sql(f"DELETE FROM {FTS_TABLE} WHERE {key} = {placeholder}", (seq,))


def words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def _fts(column: str | None, text: str) -> Any:
    """``Email.seq IN (matching rows)``, or a false condition when nothing is searchable."""
    terms = words(text)
    if not terms:
        return None
    if is_postgres():
        col = "tsv_body" if column == "body" else "tsv_all"
        query = " & ".join(f"'{t}'" for t in terms)
        sub = pw.SQL(f"(SELECT seq FROM {FTS_TABLE} WHERE {col} @@ to_tsquery('simple', %s))", (query,))
    else:
        scope = f"{column} : " if column else ""
        query = " AND ".join(f'{scope}"{t}"' for t in terms)
        sub = pw.SQL(f"(SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)", (query,))
    return Email.seq.in_(sub)


def _like(field: Any, text: str) -> Any:
    """Case-insensitive substring match, with LIKE wildcards in ``text`` escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    op = "ILIKE" if is_postgres() else "LIKE"
    return pw.NodeList((field, pw.SQL(op), pw.Value(f"%{escaped}%"), pw.SQL("ESCAPE '\\'")))


def _field(account_id: str, column: str, text: str) -> Any:
    field = {"from": SearchText.from_, "to": SearchText.to, "cc": SearchText.cc, "bcc": SearchText.bcc, "subject": SearchText.subject}[column]
    sub = SearchText.select(SearchText.seq).where((SearchText.account_id == account_id) & _like(field, text))
    return Email.seq.in_(sub)


def condition(account_id: str, name: str, text: str) -> Any:
    """The SQL condition on ``Email`` for a text filter condition.

    Subqueries are filtered by the account id as a constant (never correlated
    with the outer row), so each runs once per query.
    """
    if name in ("from", "to", "cc", "bcc", "subject"):
        return _field(account_id, name, text)
    if name == "body":
        return _fts("body", text) or pw.SQL("1 = 0")
    # text: addresses and subject by substring, everything by full text
    addr = SearchText.select(SearchText.seq).where(
        (SearchText.account_id == account_id)
        & (
            _like(SearchText.from_, text) | _like(SearchText.to, text) | _like(SearchText.cc, text)
            | _like(SearchText.bcc, text) | _like(SearchText.subject, text)
        )
    )
    fts = _fts(None, text)
    return Email.seq.in_(addr) if fts is None else (Email.seq.in_(addr) | fts)
