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
    offset so floating events are never missed. Every event has a row
    (so a query reads candidates from this table alone): one whose range
    cannot be computed gets :data:`~.index.UNBOUNDED_START` and no end,
    a candidate of every window.

    ``exact`` says the row is the event's one occurrence, in UTC, exactly
    (not recurring, and in a time zone of its own rather than floating):
    a window query then decides it without reading the event."""

    #: Peewee adds this AutoField itself; declared so type checkers see it.
    id = pw.AutoField()
    account_id = pw.CharField(max_length=64)
    object_id = pw.CharField(max_length=255)
    first_start = pw.DateTimeField()
    last_end = pw.DateTimeField(null=True)
    #: False (read the event) unless the writer knows better.
    exact = pw.BooleanField(default=False)

    class Meta:
        table_name = "calendars_event_range"
        indexes = (
            (("account_id", "object_id"), True),
            (("account_id", "first_start"), False),
        )
