"""The conformance kit run on the core's Principal (the example plugin's Note
and NoteFolder run it in tests/example_plugin/tests/test_notes.py)."""

from __future__ import annotations

import uuid

from jmapd.testing import Conformance, TypeSpec


def note(client):
    return {"title": "conformance " + uuid.uuid4().hex[:6], "body": "kit body", "tags": {"kit": True}}


def new_note(client):
    client.ok("Note/set", {"create": {"n": note(client)}})


def principal_ids(client):
    return [p["id"] for p in client.ok("Principal/get", {"ids": None})["list"]]


class TestPrincipal(Conformance):
    spec = TypeSpec(
        "Principal",
        "urn:ietf:params:jmap:principals",
        existing=principal_ids,
        read_only={"capabilities": {"x": {}}, "id": "other"},
        forbidden=frozenset({"create", "destroy"}),
        sorts=["name", "type", "email"],
        other_change=new_note,
    )


def _specified_types() -> dict[str, str]:
    """Type name → test file, for every ``TypeSpec("Name", …)`` in the suite."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found = {}
    for path in root.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "TypeSpec"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found[node.args[0].value] = str(path.relative_to(root))
    return found


def test_every_data_type_runs_the_conformance_kit(tmp_path):
    """Every data type any installed plugin declares has a TypeSpec in the
    suite, so a new type cannot ship without the RFC 8620 checks."""
    from jmapd.app import build_registry, load_config

    cfg, pm = load_config(None, {"JMAPD_SERVER__DATA_DIR": str(tmp_path)})
    declared = set(build_registry(pm, cfg).data_types)
    assert {"Email", "ContactCard", "CalendarEvent", "Note"} <= declared  # every plugin is loaded
    missing = declared - set(_specified_types())
    assert not missing, f"data types without a Conformance class: {sorted(missing)}"


def test_every_type_with_changes_is_checked_after_another_type_changed(tmp_path):
    """Issue #9.1's neighbours: every type with /changes gives the kit an
    ``other_change``, so its /changes (and /queryChanges) from a state newer
    than its own last change is checked, not skipped."""
    import ast
    from pathlib import Path

    from jmapd.app import build_registry, load_config

    root = Path(__file__).resolve().parents[1]
    without = set()
    for path in root.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "TypeSpec"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and not any(k.arg == "other_change" for k in node.keywords)):
                without.add(node.args[0].value)
    cfg, pm = load_config(None, {"JMAPD_SERVER__DATA_DIR": str(tmp_path)})
    with_changes = {name for name, dt in build_registry(pm, cfg).data_types.items() if "changes" in dt.verbs}
    assert not with_changes & without, f"TypeSpecs without other_change: {sorted(with_changes & without)}"
