"""Plain SQL for the lookups every stored message runs (delivery, import).

NOTE(perf): Peewee renders a query's tree anew on each call, 100-300 us a
SELECT; a delivery ran some fifteen of them, more CPU than SQLite spent
running them (issue #17). The helpers are the core's (:func:`jmapd.db.plain_rows`):
statements with ``?`` placeholders, plain tuples back; :func:`jmapd.db.later`
for writes whose result nobody reads (sent with the next statement on PostgreSQL).
"""

from __future__ import annotations

from jmapd.db import later, marks
from jmapd.db import plain_rows as rows
from jmapd.db import plain_run as run

__all__ = ["later", "marks", "rows", "run"]
