"""Push subscriptions."""

from jmapd_events.models import MODELS


def up(db):
    db.create_tables(MODELS, safe=True)


def down(db):
    db.drop_tables(MODELS, safe=True)
