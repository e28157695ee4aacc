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
