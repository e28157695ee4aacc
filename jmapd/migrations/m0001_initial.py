"""Core tables."""

from typing import Any

from jmapd.models import CORE_MODELS


def up(db: Any) -> None:
    db.create_tables(CORE_MODELS, safe=True)


def down(db: Any) -> None:
    db.drop_tables(CORE_MODELS, safe=True)
