"""Core tables."""

from jmapd.models import CORE_MODELS


def up(db):
    db.create_tables(CORE_MODELS, safe=True)


def down(db):
    db.drop_tables(CORE_MODELS, safe=True)
