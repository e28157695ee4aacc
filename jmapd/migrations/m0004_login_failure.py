"""The login throttle moves from each worker's memory to a shared table (#16).

The model is frozen here as it is in this revision.
"""

from typing import Any

import peewee as pw


class LoginFailure(pw.Model):
    key = pw.CharField(max_length=255, primary_key=True)
    failures = pw.IntegerField(default=0)
    window_start = pw.DoubleField()
    locked_until = pw.DoubleField(default=0.0)

    class Meta:
        table_name = "jmap_login_failure"


def up(db: Any) -> None:
    with db.bind_ctx([LoginFailure]):
        db.create_tables([LoginFailure], safe=True)


def down(db: Any) -> None:
    with db.bind_ctx([LoginFailure]):
        db.drop_tables([LoginFailure], safe=True)
