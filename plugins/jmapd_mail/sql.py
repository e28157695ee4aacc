"""Plain SQL for the lookups every stored message runs (delivery, import).

NOTE(perf): Peewee renders a query's tree anew on each call, 100-300 us a
SELECT; a delivery ran some fifteen of them, more CPU than SQLite spent
running them (issue #17). The statements here are written once with ``?``
placeholders, turned into the backend's (``%s`` on PostgreSQL) once per
text, and return plain tuples. No literal ``?`` may appear in them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from jmapd.db import database


def marks(count: int) -> str:
    """``?, ?, ...`` for an ``IN (...)`` of ``count`` values."""
    return ", ".join(["?"] * count)


@functools.lru_cache(maxsize=512)
def _text(sql: str, param: str) -> str:
    return sql if param == "?" else sql.replace("?", param)


def rows(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (``?`` placeholders) as tuples, as the driver returns them."""
    db = database.obj
    return [tuple(r) for r in db.execute_sql(_text(sql, db.param), tuple(params)).fetchall()]


def run(sql: str, params: Sequence[Any] = ()) -> None:
    """Execute a statement that returns nothing."""
    db = database.obj
    db.execute_sql(_text(sql, db.param), tuple(params))
