"""Documentation that must stay true: every hook is documented."""

import re
from pathlib import Path

from jmapd import hookspecs

DOCS = Path(__file__).parent.parent.parent / "docs"


def test_every_hook_is_documented():
    text = (DOCS / "plugin_hooks.rst").read_text()
    documented = set(re.findall(r"^(jmapd_\w+)\(", text, re.M))
    declared = {name for name in dir(hookspecs) if name.startswith("jmapd_")}
    assert declared - documented == set(), "hooks missing from docs/plugin_hooks.rst"
    assert documented - declared == set(), "docs/plugin_hooks.rst documents hooks that do not exist"


def test_documented_signatures_match():
    import inspect

    text = (DOCS / "plugin_hooks.rst").read_text()
    for name, args in re.findall(r"^(jmapd_\w+)\(([^)]*)\)", text, re.M):
        params = [p for p in inspect.signature(getattr(hookspecs, name)).parameters]
        assert [a.strip() for a in args.split(",") if a.strip()] == params, name
