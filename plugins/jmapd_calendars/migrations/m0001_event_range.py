"""The occurrence-range index of CalendarEvent documents (model frozen here, not imported)."""

from typing import Any

import peewee as pw

from jmapd.db import BaseModel


class EventRange(BaseModel):
    account_id = pw.CharField(max_length=64)
    object_id = pw.CharField(max_length=255)
    first_start = pw.DateTimeField()
    last_end = pw.DateTimeField(null=True)

    class Meta:
        table_name = "calendars_event_range"
        indexes = (
            (("account_id", "object_id"), True),
            (("account_id", "first_start"), False),
        )


def up(db: Any) -> None:
    with db.bind_ctx([EventRange]):
        db.create_tables([EventRange], safe=True)


def down(db: Any) -> None:
    with db.bind_ctx([EventRange]):
        db.drop_tables([EventRange], safe=True)
