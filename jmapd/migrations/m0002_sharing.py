"""Sharing: principals, groups, per-object grants, per-user values, delegates who may submit.

Tables are created as they are in this revision (safe on a database that
m0001 already created with them); every existing user gets a Principal.
"""

from typing import Any

import peewee as pw
from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate

from jmapd.db import is_postgres
from jmapd.models import SHARING_MODELS


def up(db: Any) -> None:
    db.create_tables(SHARING_MODELS, safe=True)
    columns = {c.name for c in db.get_columns("jmap_account_access")}
    if "may_submit" not in columns:
        migrator = PostgresqlMigrator(db) if is_postgres(db) else SqliteMigrator(db)
        migrate(migrator.add_column("jmap_account_access", "may_submit", pw.BooleanField(default=False)))
    from jmapd.sharing import ensure_directory, ensure_user_principals

    ensure_directory()
    ensure_user_principals()


def down(db: Any) -> None:
    db.drop_tables(SHARING_MODELS, safe=True)
