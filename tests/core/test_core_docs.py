"""Documentation that must stay true: every hook (the core's and those plugins
offer each other), property type and verb is documented, the example plugin
the author's guide includes is the one the suite tests, and plugins import
only the public API the guide names."""

from __future__ import annotations

import ast
import fnmatch
import inspect
import re
from pathlib import Path

import pytest

from jmapd import hookspecs
from jmapd.methods.types import CHECKS, STANDARD_VERBS
from jmapd.plugins import make_plugin_manager

ROOT = Path(__file__).parent.parent.parent
DOCS = ROOT / "docs"
HEADING = re.compile(r"^(\S.*)\n([-~=^])\2+$", re.M)


def section(doc: str, title: str) -> str:
    """The text of the section titled ``title``, with its subsections (up to
    the next heading of the same level or above; reST levels are the
    underline characters in the order they first appear)."""
    text = (DOCS / doc).read_text()
    headings = [(m.group(1).strip().strip("`"), m.group(2), m.start(), m.end()) for m in HEADING.finditer(text)]
    levels: list[str] = []
    for _, mark, _, _ in headings:
        if mark not in levels:
            levels.append(mark)
    for i, (name, mark, _, end) in enumerate(headings):
        if name == title:
            later = [start for _, m, start, _ in headings[i + 1 :] if levels.index(m) <= levels.index(mark)]
            return text[end : later[0] if later else len(text)]
    raise AssertionError(f"docs/{doc} has no section {title!r}")


def terms(text: str) -> set[str]:
    """The terms of a reST definition list: lines that are one ``literal``."""
    return set(re.findall(r"^``([^`]+)``$", text, re.M))


# -- hooks ------------------------------------------------------------------------
def test_every_hook_is_documented():
    text = (DOCS / "plugin_hooks.rst").read_text()
    documented = set(re.findall(r"^(jmapd_\w+)\(", text, re.M))
    declared = {name for name in dir(hookspecs) if name.startswith("jmapd_")}
    assert declared - documented == set(), "hooks missing from docs/plugin_hooks.rst"
    assert documented - declared == set(), "docs/plugin_hooks.rst documents hooks that do not exist"


def test_documented_signatures_match():
    text = (DOCS / "plugin_hooks.rst").read_text()
    for name, args in re.findall(r"^(jmapd_\w+)\(([^)]*)\)", text, re.M):
        params = [p for p in inspect.signature(getattr(hookspecs, name)).parameters]
        assert [a.strip() for a in args.split(",") if a.strip()] == params, name


def _offered_hooks() -> dict[str, tuple[list[str], str]]:
    """Hooks plugins add for each other (``jmapd_add_hookspecs``), with every
    installed plugin loaded: name → (arguments, the module declaring it)."""
    pm = make_plugin_manager(None)
    offered = {}
    for name in dir(pm.hook):
        caller = getattr(pm.hook, name)
        spec = getattr(caller, "spec", None)
        if name.startswith("jmapd_") and spec is not None and not hasattr(hookspecs, name):
            offered[name] = (list(spec.argnames), spec.namespace.__name__)
    return offered


def test_every_hook_a_plugin_offers_is_documented_with_its_plugin():
    offered = _offered_hooks()
    assert "jmapd_message_delivered" in offered, "the delivery plugin's hook is found"
    text = section("plugin_hooks.rst", "Hooks offered by plugins")
    documented = dict(re.findall(r"^``(jmapd_\w+)\(([^)]*)\)``$", text, re.M))
    assert set(offered) - set(documented) == set(), "plugin-offered hooks missing from docs/plugin_hooks.rst"
    assert set(documented) - set(offered) == set(), "docs/plugin_hooks.rst documents offered hooks that do not exist"
    for name, (args, module) in offered.items():
        assert [a.strip() for a in documented[name].split(",") if a.strip()] == args, name
        body = section("plugin_hooks.rst", f"{name}({documented[name]})")
        where = module.replace(".", "/") + ".py"
        assert f"``{where}``" in body, f"{name}: the docs do not name {where}, where it is declared"


# -- the data type declaration ------------------------------------------------------
def test_every_property_type_is_documented():
    listed = terms(section("plugin_author.rst", "Property types"))
    assert set(CHECKS) - listed == set(), "property types missing from docs/plugin_author.rst"
    assert listed - set(CHECKS) == set(), "docs/plugin_author.rst lists property types that do not exist"


def test_every_verb_is_documented():
    listed = terms(section("plugin_author.rst", "Verbs"))
    assert set(STANDARD_VERBS) - listed == set(), "verbs missing from docs/plugin_author.rst"
    assert listed - set(STANDARD_VERBS) == set(), "docs/plugin_author.rst lists verbs that do not exist"


# -- the example plugin -------------------------------------------------------------
def _included() -> list[Path]:
    text = (DOCS / "plugin_author.rst").read_text()
    return [(DOCS / p).resolve() for p in re.findall(r"^\.\. literalinclude:: (\S+)$", text, re.M)]


def test_the_included_example_plugin_is_complete():
    included = {p.relative_to(ROOT).as_posix() for p in _included()}
    example = ROOT / "tests" / "example_plugin"
    for path in sorted(included):
        assert (ROOT / path).is_file(), f"docs/plugin_author.rst includes {path}, which does not exist"
    wanted = {"pyproject.toml", "jmapd_example/plugin.py", "jmapd_example/types.py", "jmapd_example/config.py"}
    assert {f"tests/example_plugin/{w}" for w in wanted} <= included
    # every module of the plugin is shown (an empty __init__.py aside), and its entry point is plugin.py
    for module in (example / "jmapd_example").glob("*.py"):
        if module.read_text().strip().count("\n") > 1:
            assert module.relative_to(ROOT).as_posix() in included, f"{module.name} is not shown"
    assert 'example = "jmapd_example.plugin"' in (example / "pyproject.toml").read_text()


def test_the_included_example_tests_run_in_the_suite(pytestconfig):
    """The example's tests the guide shows are collected by a plain ``pytest``:
    under a ``testpaths`` entry, in no ``norecursedirs`` directory, named as
    ``python_files`` asks, and running the conformance kit."""
    tests = [p for p in _included() if p.suffix == ".py" and p.name.startswith("test")]
    assert tests, "docs/plugin_author.rst shows no test of the example plugin"
    root = pytestconfig.rootpath
    for path in tests:
        rel = path.relative_to(root)
        assert any(rel.is_relative_to(t) for t in pytestconfig.getini("testpaths")), f"{rel} is outside testpaths"
        skipped = pytestconfig.getini("norecursedirs")
        assert not [d for d in rel.parts[:-1] for pat in skipped if fnmatch.fnmatch(d, pat)], f"{rel} is in a skipped directory"
        assert any(fnmatch.fnmatch(path.name, pat) for pat in pytestconfig.getini("python_files")), rel
        tree = ast.parse(path.read_text())
        kits = [
            node.name for node in tree.body
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test")
            and any(isinstance(b, ast.Name) and b.id == "Conformance" for b in node.bases)
        ]
        assert kits, f"{rel} runs no Conformance class"


# -- the public API -----------------------------------------------------------------
def public_modules() -> set[str]:
    return set(re.findall(r"^   \* - ``(jmapd[\w.]*)``$", section("plugin_author.rst", "The public API"), re.M))


#: Internal modules in-tree plugins still import, and why. The list may only
#: shrink: a third-party plugin (tests/example_plugin) gets none of them.
IN_TREE_INTERNALS = {
    "jmapd.app": {"jmapd_delivery"},  # the LMTP process and `jmapd deliver` build their own Services
    "jmapd.logformat": {"jmapd_delivery"},  # the LMTP process writes log.format like every other
    "jmapd.cli_setup": {"jmapd_calendars", "jmapd_contacts", "jmapd_mail"},  # import CLIs: UserSession
    "jmapd.methods.dispatch": {"jmapd_calendars"},  # iMIP runs CalendarEvent/set in-process
    "jmapd.methods.paging": {"jmapd_mail"},  # Email/query pages in SQL
    "jmapd.methods.standard.query": {"jmapd_mail"},  # Email/query and SearchSnippet reuse the filter checks
    "jmapd.resources.api": {"jmapd_events"},  # JMAP over WebSocket runs a Request object
    "jmapd.resources.common": {"jmapd_events"},  # EventSource/WebSocket authenticate as the API does
}


def _jmapd_imports(path: Path) -> set[str]:
    """The jmapd modules a file imports (``from jmapd.x import y`` counts y if it is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            if name.split(".")[0] == "jmapd":
                rel = ROOT / name.replace(".", "/")
                if rel.with_suffix(".py").is_file() or (rel / "__init__.py").is_file():
                    found.add(name)
    return found


def test_the_public_api_exists():
    modules = public_modules()
    assert {"jmapd", "jmapd.methods.types", "jmapd.testing"} <= modules
    for name in modules:
        rel = ROOT / name.replace(".", "/")
        assert rel.with_suffix(".py").is_file() or (rel / "__init__.py").is_file(), f"no module {name}"


def test_the_example_plugin_imports_only_the_public_api():
    public = public_modules()
    example = ROOT / "tests" / "example_plugin"
    for path in example.rglob("*.py"):
        internal = _jmapd_imports(path) - public
        assert not internal, f"{path.relative_to(ROOT)} imports internal modules {sorted(internal)}"


@pytest.mark.parametrize("plugin", sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "plugin.py").is_file()))
def test_in_tree_plugins_import_only_the_public_api(plugin):
    public = public_modules()
    allowed = {m for m, users in IN_TREE_INTERNALS.items() if plugin in users}
    used: set[str] = set()
    for path in (ROOT / "plugins" / plugin).rglob("*.py"):
        internal = _jmapd_imports(path) - public
        assert internal <= allowed, f"{path.relative_to(ROOT)} imports internal modules {sorted(internal - allowed)}"
        used |= internal
    stale = allowed - used
    assert not stale, f"{plugin} no longer imports {sorted(stale)}: drop it from IN_TREE_INTERNALS"
