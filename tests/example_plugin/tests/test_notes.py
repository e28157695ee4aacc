"""The example plugin's own tests: the conformance kit on Note and NoteFolder,
and one test of what is particular to notes.

A third-party plugin's tests look like this: installing jmapd installs the
pytest plugin (``jmapd.testing``) whose ``client`` fixture is a fresh user
on a real server with every installed plugin enabled.
"""

from __future__ import annotations

import uuid

from jmapd.testing import Conformance, TypeSpec

NOTES = "urn:example:notes"


def note(client):
    return {"title": "conformance " + uuid.uuid4().hex[:6], "body": "kit body", "tags": {"kit": True}}


def folder(client):
    return {"name": "folder " + uuid.uuid4().hex[:6]}


def new_note(client):
    client.ok("Note/set", {"create": {"n": note(client)}})


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


class TestNote(Conformance):
    spec = TypeSpec(
        "Note",
        NOTES,
        verbs=frozenset({"get", "changes", "set", "copy", "query", "queryChanges"}),
        create=note,                                  # a fresh valid object
        invalid={"title": "   ", "pinned": "yes"},    # refused as invalidProperties ...
        invalid_properties=["title", "pinned"],       # ... naming these
        patch={"title": "patched", "tags/kit": None, "tags/new": True},
        patched={"title": "patched", "tags": {"new": True}},
        read_only={"created": "2001-01-01T00:00:00Z", "revision": 99, "id": "other"},
        too_large=lambda c: {"title": "big", "body": "x" * 100_001},
        filters=[({"text": "kit body"}, True), ({"hasTag": "kit"}, True), ({"pinned": True}, False)],
        sorts=["title", "created", "pinned", "size"],
        reference=("folderId", "NoteFolder", folder),  # "#creationId" resolved in folderId
        copy_target=shared_account,                    # another account the client may write
        other_change=new_folder,                       # another type of the same account
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


def test_a_folder_with_notes_cannot_be_destroyed(client):
    """What the kit cannot know: the type's own SetError (NoteFolder.check_destroy)."""
    made = client.ok("NoteFolder/set", {"create": {"f": folder(client)}})["created"]["f"]["id"]
    client.ok("Note/set", {"create": {"n": {**note(client), "folderId": made}}})
    out = client.ok("NoteFolder/set", {"destroy": [made]})
    assert out["notDestroyed"][made]["type"] == "folderHasNotes"
    assert client.ok("NoteFolder/get", {"ids": [made]})["list"][0]["id"] == made
