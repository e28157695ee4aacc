"""Substring filters of an autocomplete (``name``, ``email``, ``text``)
through pg_trgm GIN indexes on PostgreSQL.

Without them ContactCard/query read every index row of the account (LIKE
'%...%' cannot use a btree): 7 ms at 10,000 cards, growing with the
account. A term of three characters or more now reads only the rows that
hold its trigrams; shorter ones still read the rows. SQLite keeps scanning
(2-4 ms at 10,000 cards, bench/contacts.py). Where the extension cannot be
created (a role without the privilege, no contrib package), the filters
work unindexed and the log says why they are slower.
"""

import logging
from typing import Any

from jmapd.db import is_postgres

log = logging.getLogger("jmapd.contacts")
COLUMNS = ("name_text", "email_text", "all_text")


def up(db: Any) -> None:
    if not is_postgres(db):
        return
    try:
        with db.atomic():
            db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 - any refusal leaves the filters working, unindexed
        log.warning("pg_trgm unavailable (%s): ContactCard name/email/text filters will read every card's row",
                    str(exc).splitlines()[0])
        return
    for column in COLUMNS:
        db.execute_sql(f"CREATE INDEX IF NOT EXISTS contacts_card_index_{column}_trgm"
                       f' ON contacts_card_index USING GIN ("{column}" gin_trgm_ops)')


def down(db: Any) -> None:
    if is_postgres(db):
        for column in COLUMNS:
            db.execute_sql(f"DROP INDEX IF EXISTS contacts_card_index_{column}_trgm")
