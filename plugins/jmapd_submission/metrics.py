"""The submission plugin's metrics: relay attempts as they happen, the
queue's depth, age and attempts read from the database at scrape time."""

from __future__ import annotations

from typing import Any

import peewee as pw

from jmapd import metrics
from jmapd.db import tuples
from jmapd.models import now

from .models import QUEUED, SENDING, QueueItem

RELAYED = metrics.counter(
    "jmapd_submission_relay_recipients",
    "Recipients of relay attempts to the smarthost, by outcome (accepted, temporary, permanent).",
    ["outcome"],
)


def queue_families() -> list[Any]:
    """Gauges of the queue rows still to send (every worker sees the same rows)."""
    pending = QueueItem.state.in_([QUEUED, SENDING])
    counts = {QUEUED: 0, SENDING: 0}
    for state, count in tuples(
        QueueItem.select(QueueItem.state, pw.fn.COUNT(QueueItem.id)).where(pending).group_by(QueueItem.state)
    ):
        counts[state] = int(count)
    oldest, attempts = next(
        tuples(QueueItem.select(pw.fn.MIN(QueueItem.created), pw.fn.MAX(QueueItem.attempts)).where(pending))
    )
    age = (now() - oldest).total_seconds() if oldest is not None else 0.0
    if isinstance(oldest, str):  # SQLite hands back text for an aggregate of a datetime column
        import datetime

        age = (now() - datetime.datetime.fromisoformat(oldest)).total_seconds()
    return [
        metrics.gauge_family(
            "jmapd_submission_queue_items", "Outbound queue rows still to relay, by state.",
            [({"state": state}, float(count)) for state, count in counts.items()],
        ),
        metrics.gauge_family(
            "jmapd_submission_queue_oldest_seconds", "Age of the oldest row still to relay (0: none).",
            [({}, max(0.0, age))],
        ),
        metrics.gauge_family(
            "jmapd_submission_queue_attempts_max", "Most relay attempts made for one row still to relay.",
            [({}, float(attempts or 0))],
        ),
    ]
