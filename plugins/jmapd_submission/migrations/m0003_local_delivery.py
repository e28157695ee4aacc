"""submission_queue.needs_relay and local_results: recipients delivered here.

Existing rows were all meant for the relay, hence the default.
"""

from typing import Any

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate

from jmapd.db import JSONField


def up(db: Any) -> None:
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("submission_queue", "needs_relay", pw.BooleanField(default=True)),
        migrator.add_column("submission_queue", "local_results", JSONField(null=True)),
    )


def down(db: Any) -> None:
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.drop_column("submission_queue", "local_results"),
        migrator.drop_column("submission_queue", "needs_relay"),
    )
