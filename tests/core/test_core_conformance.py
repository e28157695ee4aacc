"""The conformance kit run on the example plugin's Note and NoteFolder."""

from __future__ import annotations

import uuid

from jmapd.testing import Conformance, TypeSpec

NOTES = "urn:example:notes"


def note(client):
    return {"title": "conformance " + uuid.uuid4().hex[:6], "body": "kit body", "tags": {"kit": True}}


def folder(client):
    return {"name": "folder " + uuid.uuid4().hex[:6]}


def new_folder(client):
    client.ok("NoteFolder/set", {"create": {"f": folder(client)}})


def shared_account(client):
    """Another user's account, shared with the client (read-write)."""
    from jmapd.db import ensure_connected
    from jmapd.models import AccountAccess, User

    other = client.server.client()
    ensure_connected()
    AccountAccess.create(account=other.account_id, user=User.get(User.name == client.user), read_only=False)
    return other.account_id


def new_note(client):
    client.ok("Note/set", {"create": {"n": note(client)}})


class TestNote(Conformance):
    spec = TypeSpec(
        "Note",
        NOTES,
        verbs=frozenset({"get", "changes", "set", "copy", "query", "queryChanges"}),
        create=note,
        invalid={"title": "   ", "pinned": "yes"},
        invalid_properties=["title", "pinned"],
        patch={"title": "patched", "tags/kit": None, "tags/new": True},
        patched={"title": "patched", "tags": {"new": True}},
        read_only={"created": "2001-01-01T00:00:00Z", "revision": 99, "id": "other"},
        too_large=lambda c: {"title": "big", "body": "x" * 100_001},
        filters=[({"text": "kit body"}, True), ({"hasTag": "kit"}, True), ({"pinned": True}, False)],
        sorts=["title", "created", "pinned", "size"],
        reference=("folderId", "NoteFolder", folder),
        copy_target=shared_account,
        other_change=new_folder,
    )


class TestNoteFolder(Conformance):
    spec = TypeSpec(
        "NoteFolder",
        NOTES,
        create=folder,
        invalid={"name": "", "sortOrder": -1},
        invalid_properties=["name", "sortOrder"],
        patch={"name": "renamed", "sortOrder": 3},
        patched={"name": "renamed", "sortOrder": 3},
        read_only={"id": "other"},
        filters=[({"name": "folder"}, True), ({"name": "nomatch-" + uuid.uuid4().hex}, False)],
        sorts=["name", "sortOrder"],
        reference=("parentId", "NoteFolder", folder),
        other_change=new_note,
    )


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
