"""One PluginManager per app: the core first, then each enabled entry point."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pluggy

from . import hookspecs

GROUP = "jmapd.plugins"
CORE_PLUGINS = ["jmapd.builtin.core", "jmapd.builtin.blob", "jmapd.builtin.principals", "jmapd.builtin.quota"]


class PluginError(ValueError):
    """A plugin cannot be loaded or the enabled set does not fit together;
    reported to the operator as a configuration error, not a traceback."""


def installed() -> dict[str, importlib.metadata.EntryPoint]:
    """Installed plugins by entry-point name."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=GROUP)}


def make_plugin_manager(enabled: list[str] | None, extra: list[Any] | None = None) -> pluggy.PluginManager:
    """Register the core, then ``enabled`` plugins (None: every installed one).

    An unknown name stops start-up: a typo in the YAML must not silently
    run a server without the capability the operator asked for.
    """
    pm = pluggy.PluginManager("jmapd")
    pm.add_hookspecs(hookspecs)
    import importlib

    for name in CORE_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    # Historic: every plugin registered from here on may add hook
    # specifications for other plugins before check_pending() runs.
    pm.hook.jmapd_add_hookspecs.call_historic(kwargs={"pm": pm})
    available = installed()
    names = list(available) if enabled is None else enabled
    unknown = [n for n in names if n not in available]
    if unknown:
        raise PluginError(
            f"capabilities: unknown plugin {unknown[0]!r} (installed: {', '.join(sorted(available)) or 'none'})"
        )
    for name in names:
        try:
            module = available[name].load()
        except Exception as exc:  # a broken plugin must name itself
            raise PluginError(f"plugin {name!r} failed to load: {exc}") from exc
        pm.register(module, name=name)
    for plugin in extra or []:
        pm.register(plugin)
    pm.check_pending()
    check_requirements(pm)
    return pm


def check_requirements(pm: pluggy.PluginManager) -> None:
    """Every plugin a plugin names in ``jmapd_requires`` must be enabled too:
    the delivery plugin without mail would accept mail it cannot store."""
    for impl in reversed(pm.hook.jmapd_requires.get_hookimpls()):
        names = impl.function() or []
        if not isinstance(names, list):
            raise PluginError(f"plugin {impl.plugin_name!r}: jmapd_requires returned {names!r}, not a list of names")
        for needed in names:
            if not pm.has_plugin(needed):
                raise PluginError(
                    f"capabilities: plugin {impl.plugin_name!r} requires plugin {needed!r}, which is not enabled"
                )


def enabled_names(pm: pluggy.PluginManager) -> list[str]:
    return [name for name, _ in pm.list_name_plugin() if name not in CORE_PLUGINS]
