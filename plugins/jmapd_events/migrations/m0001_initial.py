"""Push subscriptions."""

from typing import Any

from jmapd_events.models import MODELS


def up(db: Any) -> None:
    db.create_tables(MODELS, safe=True)


def down(db: Any) -> None:
    db.drop_tables(MODELS, safe=True)
