"""Quotas: per-account usage and operator limits (RFC 9425)."""

from jmapd.models import QUOTA_MODELS


def up(db):
    db.create_tables(QUOTA_MODELS, safe=True)


def down(db):
    db.drop_tables(QUOTA_MODELS, safe=True)
