"""Quotas: per-account usage and operator limits (RFC 9425)."""

from typing import Any

from jmapd.models import QUOTA_MODELS


def up(db: Any) -> None:
    db.create_tables(QUOTA_MODELS, safe=True)


def down(db: Any) -> None:
    db.drop_tables(QUOTA_MODELS, safe=True)
