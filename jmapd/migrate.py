"""Per-plugin schema migrations with one history table keyed (plugin, name).

A plugin hands over a package of modules named ``mNNNN_*.py``, each with
``up(db)`` (and optionally ``down(db)``). They run in name order inside a
transaction, once: running ``jmapd migrate`` again is a no-op. The core is
just the first plugin to be migrated.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from types import ModuleType
from typing import Any

import peewee as pw

from .config import ConfigError
from .db import BaseModel
from .models import now

log = logging.getLogger("jmapd.migrate")


class MigrationRecord(BaseModel):
    plugin = pw.CharField(max_length=64)
    name = pw.CharField(max_length=128)
    applied = pw.DateTimeField(default=now)

    class Meta:
        table_name = "jmap_migration"
        primary_key = pw.CompositeKey("plugin", "name")


def _modules(package: ModuleType) -> list[tuple[str, ModuleType]]:
    names = sorted(
        info.name for info in pkgutil.iter_modules(package.__path__) if info.name.startswith("m")
    )
    return [(name, importlib.import_module(f"{package.__name__}.{name}")) for name in names]


def pending(db: Any, plugin: str, package: ModuleType) -> list[str]:
    db.create_tables([MigrationRecord], safe=True)
    done = {r.name for r in MigrationRecord.select().where(MigrationRecord.plugin == plugin)}
    return [name for name, _ in _modules(package) if name not in done]


def migrate(db: Any, packages: dict[str, ModuleType]) -> list[tuple[str, str]]:
    """Apply every pending migration of every plugin; returns what ran."""
    ran: list[tuple[str, str]] = []
    db.create_tables([MigrationRecord], safe=True)
    for plugin, package in packages.items():
        done = {r.name for r in MigrationRecord.select().where(MigrationRecord.plugin == plugin)}
        for name, module in _modules(package):
            if name in done:
                continue
            with db.atomic():
                module.up(db)
                MigrationRecord.create(plugin=plugin, name=name)
            log.info("migrated %s %s", plugin, name)
            ran.append((plugin, name))
    return ran


def missing_tables(pm: Any, db: Any) -> list[tuple[str, str]]:
    """``(plugin, table)`` of every model a plugin declares in ``jmapd_models``
    whose table the database lacks (blocking: one catalogue query)."""
    existing = set(db.get_tables())
    missing = []
    for impl in reversed(pm.hook.jmapd_models.get_hookimpls()):
        for model in impl.function() or []:
            table = model._meta.table_name
            if table not in existing:
                missing.append((impl.plugin_name, table))
    return missing


def check_models(pm: Any, db: Any) -> None:
    """Stop start-up when a declared model has no table: the schema is not
    migrated, or a plugin's migrations forgot a model. Either way every
    request touching it would fail later with a database error; naming the
    plugin and the table now is the useful message.

    :raises ConfigError: naming each plugin and table that is missing.
    """
    was_closed = db.is_closed()
    try:
        missing = missing_tables(pm, db)
    finally:
        if was_closed:  # a worker's main thread serves no queries: leave it unconnected
            db.close()
    if missing:
        names = ", ".join(f"{table} (plugin {plugin!r})" for plugin, table in missing)
        raise ConfigError(f"database schema lacks tables of declared models: {names}; run `jmapd migrate`")
