"""The conformance kit run on Identity and EmailSubmission."""

from __future__ import annotations

import uuid

import pytest

from jmapd.testing import Conformance, TypeSpec

SUBMISSION = "urn:ietf:params:jmap:submission"
USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", SUBMISSION]


@pytest.fixture
def sending_client(sending):
    """A user of a server whose queue worker is off: nothing changes a
    submission behind the kit's back between two of its calls."""
    return sending(worker=False).client()


def identity(client):
    return {"email": f"{client.user}@localhost", "name": "kit " + uuid.uuid4().hex[:6]}


def first_identity(client):
    return client.ok("Identity/get", {}, USING)["list"][0]["id"]


def draft(client):
    drafts = client.ok("Mailbox/query", {"filter": {"role": "drafts"}}, USING)["ids"][0]
    email = {
        "mailboxIds": {drafts: True},
        "from": [{"email": f"{client.user}@localhost"}],
        "to": [{"email": "bob@example.net"}],
        "subject": "kit " + uuid.uuid4().hex[:6],
        "bodyValues": {"1": {"value": "hello"}},
        "textBody": [{"partId": "1", "type": "text/plain"}],
    }
    return client.ok("Email/set", {"create": {"e": email}}, USING)["created"]["e"]["id"]


def submission(client):
    return {"identityId": first_identity(client), "emailId": draft(client)}


def new_identity(client):
    client.ok("Identity/set", {"create": {"i": identity(client)}}, USING)


class TestIdentity(Conformance):
    spec = TypeSpec(
        "Identity",
        SUBMISSION,
        verbs=frozenset({"get", "changes", "set"}),
        create=identity,
        invalid={"email": "not an address", "name": 5},
        invalid_properties=["email", "name"],
        patch={"name": "renamed", "textSignature": "-- \nkit"},
        patched={"name": "renamed", "textSignature": "-- \nkit"},
        read_only={"email": "other@localhost", "mayDelete": False, "id": "other"},
        other_change=lambda c: c.ok("Mailbox/set", {"create": {"m": {"name": uuid.uuid4().hex}}}, USING),
    )


class TestEmailSubmission(Conformance):
    spec = TypeSpec(
        "EmailSubmission",
        SUBMISSION,
        using=("urn:ietf:params:jmap:mail",),
        create=submission,
        invalid={"identityId": 5, "emailId": "nosuch!"},
        invalid_properties=["identityId"],
        read_only={"sendAt": "2001-01-01T00:00:00Z", "threadId": "other", "id": "other"},
        filters=[({"undoStatus": "canceled"}, False)],
        sorts=["emailId", "threadId", "sentAt"],
        other_change=new_identity,
        client_fixture="sending_client",
    )
