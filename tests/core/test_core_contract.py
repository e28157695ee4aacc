"""The DataType contract: a bad declaration stops start-up naming the plugin,
the type and what was expected; every hook the engine calls is declared on
the base class."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from jmapd import hookimpl
from jmapd.app import build_registry, load_config
from jmapd.methods.documents import DocumentType
from jmapd.methods.registry import Capability
from jmapd.methods.types import DataType, P
from jmapd.plugins import PluginError

URN = "urn:example:contract"
ENGINE = Path(__file__).parent.parent.parent / "jmapd" / "methods" / "standard"


def _type(**attrs):
    return type("Thing", (DocumentType,), {"name": "Thing", "capability": URN, "properties": {"a": P("String")}, **attrs})


class Plugin:
    """A plugin contributing one capability and one type, as given."""

    def __init__(self, data_type, capability=None):
        self.data_type = data_type
        self.capability = capability if capability is not None else Capability(URN)

    @hookimpl
    def jmapd_capabilities(self, config):
        return [self.capability]

    @hookimpl
    def jmapd_data_types(self, config):
        return [self.data_type(config)]


def _build(tmp_path, plugin):
    path = tmp_path / "jmapd.yaml"
    path.write_text("capabilities: []\n")
    cfg, pm = load_config(str(path), {}, extra_plugins=[plugin])
    return build_registry(pm, cfg)


def test_a_good_declaration_registers_its_methods_with_the_default_account_part(tmp_path):
    registry = _build(tmp_path, Plugin(_type()))
    assert {"Thing/get", "Thing/set", "Thing/query"} <= set(registry.methods)
    assert registry.capabilities[URN].account_value("A1", None) == {}


@pytest.mark.parametrize(
    "attrs, expected",
    [
        ({"verbs": ("get", "sett")}, "unknown verb 'sett' (expected one of get, changes, set, copy, query, queryChanges)"),
        ({"properties": {"a": P("Strnig")}}, "property 'a' has unknown type 'Strnig' (expected one of String,"),
        ({"properties": {"a": P("Id", ref="idz")}}, "property 'a' has unknown ref 'idz'"),
    ],
)
def test_bad_declaration_stops_start_up_naming_plugin_type_and_expectation(tmp_path, attrs, expected):
    plugin = Plugin(_type(**attrs))
    with pytest.raises(PluginError) as info:
        _build(tmp_path, plugin)
    message = str(info.value)
    assert f"plugin {str(id(plugin))!r}: data type Thing" in message
    assert expected in message


def test_per_account_type_on_a_capability_without_account_part_stops_start_up(tmp_path):
    plugin = Plugin(_type(), Capability(URN, account=None))
    with pytest.raises(PluginError, match=r"data type Thing is per account, but capability urn:example:contract has no account part"):
        _build(tmp_path, plugin)


def _hook_calls(tree: ast.AST) -> set[str]:
    """Attributes the engine reads on its ``dt`` argument."""
    return {
        node.attr for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "dt"
    }


def test_every_hook_the_engine_uses_is_declared_and_documented_on_the_base_class():
    used: set[str] = set()
    for path in ENGINE.glob("*.py"):
        tree = ast.parse(path.read_text())
        used |= _hook_calls(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("getattr", "hasattr"), f"{path.name}: hooks are declared, not discovered"
    assert used, "the engine reads hooks through its dt argument"
    for name in sorted(used):
        assert hasattr(DataType, name) or name in DataType.__annotations__, f"DataType does not declare {name}"
        member = getattr(DataType, name, None)
        if callable(member):
            assert member.__doc__, f"DataType.{name} has no docstring"
    doc = (Path(__file__).parent.parent.parent / "docs" / "plugin_author.rst").read_text()
    missing = sorted(name for name in used if f"``{name}" not in doc)
    assert not missing, f"docs/plugin_author.rst does not document {missing}"


def test_every_declared_hook_is_used():
    """No hook that nothing calls: each public member of DataType is read by
    the engine, the registry, the blob methods or DocumentType."""
    root = Path(__file__).parent.parent.parent / "jmapd"
    text = "".join(p.read_text() for p in root.rglob("*.py") if p.name != "types.py")
    # id_prefix is read by DataType.new_id itself, the default id.
    declared = [n for n in vars(DataType) if not n.startswith("_") and n != "id_prefix"]
    unused = [n for n in declared if text.count(f".{n}") < 1]
    assert not unused, f"declared on DataType but never used: {unused}"


class Extender:
    """A plugin extending a type another plugin declares (jmapd_type_extensions)."""

    def __init__(self, type_name):
        self.type_name = type_name

    @hookimpl
    def jmapd_type_extensions(self, config):
        from jmapd.methods.types import TypeExtension

        return [TypeExtension(type_name=self.type_name, capability=URN)]


def _build_with(tmp_path, *plugins):
    path = tmp_path / "jmapd.yaml"
    path.write_text("capabilities: []\n")
    cfg, pm = load_config(str(path), {}, extra_plugins=list(plugins))
    return build_registry(pm, cfg)


def test_an_extension_reaches_its_type(tmp_path):
    taken = []

    class Extensible(_type()):
        def extend(self, extension):
            taken.append(extension)

    _build_with(tmp_path, Plugin(Extensible), Extender("Thing"))
    assert [(e.type_name, e.capability) for e in taken] == [("Thing", URN)]


@pytest.mark.parametrize("type_name, expected", [
    ("Thing", "extends data type Thing of plugin"),
    ("Nothing", "extends data type Nothing, which no enabled plugin declares"),
])
def test_a_bad_extension_stops_start_up(tmp_path, type_name, expected):
    with pytest.raises(PluginError, match=expected):
        _build_with(tmp_path, Plugin(_type()), Extender(type_name))
