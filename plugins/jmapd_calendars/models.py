"""Tables of the calendars plugin (prefixed ``calendars_``).

Events themselves are JSON documents in ``jmap_document``; what the
database needs to answer a time-range query without reading every event
is here.
"""

from __future__ import annotations

import peewee as pw

from jmapd.db import BaseModel


class EventRange(BaseModel):
    """UTC start of an event's first occurrence and end of its last
    (``last_end`` null for an unbounded rule), computed with floating
    times read as UTC; queries widen their window by the largest UTC
    offset so floating events are never missed. An event whose range
    cannot be computed has no row and is always a candidate."""

    #: Peewee adds this AutoField itself; declared so type checkers see it.
    id = pw.AutoField()
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
