"""List views that cost what the page costs, and a smaller database.

* ``mail_email_mailbox`` gets the Email's ``seq`` (the tie-break of every
  receivedAt order) and ``is_latest`` (newest Email of its Thread in that
  Mailbox), with a partial index over the latter: a collapsed, newest-first
  Mailbox listing and its total are index range scans.
* Order indexes end in ``seq`` so ORDER BY receivedAt, seq LIMIT n never sorts.
* The parsed structure is stored zlib-compressed (``parsed_z``).
* SQLite's full-text index becomes contentless with column-level detail: the
  text is not stored a second time (the blob has it).
"""

import zlib
from typing import Any

import orjson

from jmapd.db import is_postgres

FTS_TABLE = "mail_fts"
FTS_SQLITE = (
    "CREATE VIRTUAL TABLE {name} USING fts5(head, body, content='', columnsize=0, detail=column,"
    " tokenize = 'unicode61 remove_diacritics 2')"
)


def up(db: Any) -> None:
    pg = is_postgres(db)
    blob = "BYTEA" if pg else "BLOB"
    false = "FALSE" if pg else "0"
    mark = "%s" if pg else "?"
    db.execute_sql("ALTER TABLE mail_email_mailbox ADD COLUMN seq BIGINT NOT NULL DEFAULT 0")
    db.execute_sql(f"ALTER TABLE mail_email_mailbox ADD COLUMN is_latest BOOLEAN NOT NULL DEFAULT {false}")
    db.execute_sql(
        "UPDATE mail_email_mailbox SET seq = (SELECT e.seq FROM mail_email e"
        " WHERE e.account_id = mail_email_mailbox.account_id AND e.id = mail_email_mailbox.email_id)"
    )
    db.execute_sql(
        "UPDATE mail_email_mailbox SET is_latest = (email_id = (SELECT x.email_id FROM mail_email_mailbox x"
        " WHERE x.mailbox_id = mail_email_mailbox.mailbox_id AND x.thread_id = mail_email_mailbox.thread_id"
        " ORDER BY x.received_at DESC, x.seq DESC LIMIT 1))"
    )
    db.execute_sql("DROP INDEX IF EXISTS mail_email_mailbox_mailbox_id_received_at")
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS mail_email_mailbox_mailbox_id_received_at_seq"
        " ON mail_email_mailbox (mailbox_id, received_at, seq)"
    )
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS mail_email_mailbox_latest"
        " ON mail_email_mailbox (mailbox_id, received_at, seq, email_id) WHERE is_latest = TRUE"
    )
    db.execute_sql("DROP INDEX IF EXISTS mail_email_account_id_received_at")
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS mail_email_account_id_received_at_seq ON mail_email (account_id, received_at, seq)"
    )

    db.execute_sql(f"ALTER TABLE mail_email ADD COLUMN parsed_z {blob}")
    last = 0
    while True:
        rows = db.execute_sql(f"SELECT seq, parsed FROM mail_email WHERE seq > {mark} ORDER BY seq LIMIT 500", (last,)).fetchall()
        if not rows:
            break
        for seq, parsed in rows:
            data = zlib.compress(orjson.dumps(orjson.loads(parsed)), 6) if parsed else None
            db.execute_sql(f"UPDATE mail_email SET parsed_z = {mark} WHERE seq = {mark}", (data, seq))
        last = rows[-1][0]
    db.execute_sql("ALTER TABLE mail_email DROP COLUMN parsed")

    if pg:
        # One weighted tsvector instead of two (head A, body B), words split like unicode61.
        def split(col: str) -> str:
            return (
                "to_tsvector('simple', coalesce((SELECT string_agg(w, ' ') FROM unnest("
                + col + ") u, regexp_split_to_table(u.lexeme, '\\W+') w WHERE w <> ''), ''))"
            )

        db.execute_sql(f"ALTER TABLE {FTS_TABLE} ADD COLUMN tsv TSVECTOR")
        db.execute_sql(
            f"UPDATE {FTS_TABLE} SET tsv = setweight({split('tsv_all')}, 'A') || setweight({split('tsv_body')}, 'B')"
        )
        db.execute_sql(f"ALTER TABLE {FTS_TABLE} DROP COLUMN tsv_all")
        db.execute_sql(f"ALTER TABLE {FTS_TABLE} DROP COLUMN tsv_body")
        db.execute_sql(f"ALTER TABLE {FTS_TABLE} ALTER COLUMN tsv SET NOT NULL")
        db.execute_sql(f"CREATE INDEX IF NOT EXISTS {FTS_TABLE}_tsv ON {FTS_TABLE} USING GIN (tsv)")
    else:
        db.execute_sql(f"ALTER TABLE {FTS_TABLE} RENAME TO {FTS_TABLE}_old")
        db.execute_sql(FTS_SQLITE.format(name=FTS_TABLE))
        db.execute_sql(f"INSERT INTO {FTS_TABLE} (rowid, head, body) SELECT rowid, head, body FROM {FTS_TABLE}_old")
        db.execute_sql(f"DROP TABLE {FTS_TABLE}_old")
