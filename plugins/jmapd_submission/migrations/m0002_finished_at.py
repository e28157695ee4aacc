"""submission_queue.finished_at: when a row became final, for pruning.

Rows already final get the start of their last attempt (``claimed_at``),
or their due time if they were canceled before any attempt.
"""

from typing import Any

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate


def up(db: Any) -> None:
    migrate(SchemaMigrator.from_database(db).add_column("submission_queue", "finished_at", pw.DateTimeField(null=True)))
    db.execute_sql(
        "UPDATE submission_queue SET finished_at = COALESCE(claimed_at, due) WHERE state IN ('done', 'canceled')"
    )


def down(db: Any) -> None:
    migrate(SchemaMigrator.from_database(db).drop_column("submission_queue", "finished_at"))
