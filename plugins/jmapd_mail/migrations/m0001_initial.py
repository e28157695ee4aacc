"""Mail tables and the engine-specific full-text index."""

from jmapd_mail.models import MODELS
from jmapd_mail.search import create_index, drop_index


def up(db):
    db.create_tables(MODELS, safe=True)
    create_index(db)


def down(db):
    drop_index(db)
    db.drop_tables(MODELS, safe=True)
