"""Full-text lookups confined to the account inside the index (#16).

The MATCH (SQLite) and the GIN scan (PostgreSQL) returned every account's
matching rows, filtered to the account afterwards, so one account with a huge
corpus made everyone's text search slow (a 300-term OR ran 64 s on
PostgreSQL). SQLite's table gets an ``acct`` column holding one token per
account, ANDed into every MATCH; it is contentless, so the rows are rebuilt
from the index itself (fts5vocab lists each row's terms per column, which is
all that detail=column stores; a later 'delete' with the original text
removes exactly those terms). PostgreSQL gets a GIN index over
(account_id, tsv) through btree_gin; where the extension cannot be created
the old index stays and the log says why searches read other accounts' rows.
"""

import logging
from typing import Any

from jmapd.db import is_postgres

log = logging.getLogger("jmapd.mail")
FTS_TABLE = "mail_fts"
FTS_SQLITE = (
    "CREATE VIRTUAL TABLE {name} USING fts5(acct, head, body, content='', columnsize=0, detail=column,"
    " tokenize = 'unicode61 remove_diacritics 2')"
)


def up(db: Any) -> None:
    if is_postgres(db):
        try:
            with db.atomic():
                db.execute_sql("CREATE EXTENSION IF NOT EXISTS btree_gin")
        except Exception as exc:  # noqa: BLE001 - any refusal leaves search working, over every account's rows
            log.warning("btree_gin unavailable (%s): full-text searches will read every account's matches",
                        str(exc).splitlines()[0])
            return
        db.execute_sql(f"CREATE INDEX IF NOT EXISTS {FTS_TABLE}_account_tsv ON {FTS_TABLE} USING GIN (account_id, tsv)")
        db.execute_sql(f"DROP INDEX IF EXISTS {FTS_TABLE}_tsv")
        return
    db.execute_sql(FTS_SQLITE.format(name=f"{FTS_TABLE}_new"))
    db.execute_sql(f"CREATE VIRTUAL TABLE temp.{FTS_TABLE}_terms USING fts5vocab(main, {FTS_TABLE}, 'instance')")
    db.execute_sql(
        f"INSERT INTO {FTS_TABLE}_new (rowid, acct, head, body)"
        " SELECT v.doc, 'x' || lower(hex(e.account_id)),"
        " group_concat(CASE WHEN v.col = 'head' THEN v.term END, ' '),"
        " group_concat(CASE WHEN v.col = 'body' THEN v.term END, ' ')"
        f" FROM temp.{FTS_TABLE}_terms v JOIN mail_email e ON e.seq = v.doc GROUP BY v.doc"
    )
    db.execute_sql(f"DROP TABLE temp.{FTS_TABLE}_terms")
    db.execute_sql(f"DROP TABLE {FTS_TABLE}")
    db.execute_sql(f"ALTER TABLE {FTS_TABLE}_new RENAME TO {FTS_TABLE}")
