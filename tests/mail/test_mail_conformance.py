"""The conformance kit run on Mailbox, Email and Thread."""

from __future__ import annotations

import uuid

from jmapd.testing import Conformance, TypeSpec

MAIL = "urn:ietf:params:jmap:mail"


def role(client, name="inbox"):
    found = client.ok("Mailbox/query", {"filter": {"role": name}})["ids"]
    return found[0]


def mailbox(client):
    return {"name": "kit " + uuid.uuid4().hex[:8]}


def email(client):
    return {
        "mailboxIds": {role(client): True},
        "subject": "kit subject " + uuid.uuid4().hex[:6],
        "from": [{"name": "Kit", "email": "kit@example.com"}],
        "keywords": {"$draft": True},
        "bodyValues": {"1": {"value": "conformance body"}},
        "textBody": [{"partId": "1", "type": "text/plain"}],
    }


def shared_account(client):
    """Another user's account, shared with the client (read-write)."""
    from jmapd.db import ensure_connected
    from jmapd.models import AccountAccess, User

    other = client.server.client()
    other.ok("Mailbox/get", {"ids": []})  # its default mailboxes exist
    ensure_connected()
    AccountAccess.create(account=other.account_id, user=User.get(User.name == client.user), read_only=False)
    return other.account_id


def target_inbox(client, account_id):
    found = client.call("Mailbox/query", {"accountId": account_id, "filter": {"role": "inbox"}})[1]["ids"]
    return {"mailboxIds": {found[0]: True}}


def new_mailbox(client):
    client.ok("Mailbox/set", {"create": {"m": mailbox(client)}})


def new_email(client):
    client.ok("Email/set", {"create": {"e": email(client)}})


def thread_ids(client):
    created = client.ok("Email/set", {"create": {"e": email(client)}})["created"]["e"]
    return [created["threadId"]]


class TestMailbox(Conformance):
    spec = TypeSpec(
        "Mailbox",
        MAIL,
        create=mailbox,
        invalid={"name": "", "sortOrder": "first"},
        invalid_properties=["name", "sortOrder"],
        patch={"name": "renamed " + uuid.uuid4().hex[:6], "isSubscribed": True},
        patched={"isSubscribed": True},
        read_only={"totalEmails": 42, "id": "other"},
        filters=[({"hasAnyRole": False}, True), ({"name": "kit"}, True), ({"role": "inbox"}, False)],
        sorts=["sortOrder", "name"],
        reference=("parentId", "Mailbox", mailbox),
        other_change=new_email,
    )


class TestEmail(Conformance):
    spec = TypeSpec(
        "Email",
        MAIL,
        verbs=frozenset({"get", "changes", "set", "copy", "query", "queryChanges"}),  # queryChanges: a Method of its own
        create=email,
        invalid={"mailboxIds": {}, "subject": 7},
        invalid_properties=["mailboxIds"],
        patch={"keywords/$seen": True, "keywords/$draft": None},
        patched={"keywords": {"$seen": True}},
        read_only={"size": 1, "blobId": "other", "id": "other"},
        filters=[({"subject": "kit subject"}, True), ({"hasKeyword": "$draft"}, True), ({"hasKeyword": "$flagged"}, False)],
        sorts=["receivedAt", "size", "subject", "from", "sentAt"],
        reference=("mailboxIds{}", "Mailbox", mailbox),
        copy_target=shared_account,
        copy_overrides=target_inbox,
        other_change=new_mailbox,
    )


class TestThread(Conformance):
    spec = TypeSpec(
        "Thread",
        MAIL,
        verbs=frozenset({"get", "changes"}),
        existing=thread_ids,
        other_change=new_mailbox,
    )

