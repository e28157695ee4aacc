"""The conformance kit run on AddressBook and ContactCard."""

from __future__ import annotations

import itertools

from jmapd.testing import Conformance, TypeSpec

_names = itertools.count()


def _book(client):
    return {"name": f"Book {next(_names)}"}


def _new_book(client):
    from jmapd_contacts.testing import ok

    ok(client, "AddressBook/set", {"create": {"b": _book(client)}})


def _new_card(client):
    from jmapd_contacts.testing import ok

    ok(client, "ContactCard/set", {"create": {"c": _card(client)}})


def _shared_account(client):
    """Another user's account the client may write (a delegate), with its default book."""
    from jmapd_contacts.testing import default_book

    from jmapd.db import ensure_connected
    from jmapd.models import AccountAccess, User

    other = client.server.client()
    default_book(other)
    ensure_connected()
    AccountAccess.create(account=other.account_id, user=User.get(User.name == client.user), read_only=False)
    return other.account_id


def _target_book(client, account_id):
    from jmapd_contacts.testing import USING

    found = client.ok("AddressBook/get", {"accountId": account_id, "ids": None}, USING)["list"]
    return {"addressBookIds": {next(b["id"] for b in found if b["isDefault"]): True}}


class TestAddressBook(Conformance):
    spec = TypeSpec(
        "AddressBook",
        "urn:ietf:params:jmap:contacts",
        verbs=frozenset({"get", "changes", "set"}),
        create=_book,
        invalid={"name": "", "sortOrder": -1},
        invalid_properties=["name", "sortOrder"],
        patch={"name": "Renamed", "sortOrder": 7},
        patched={"name": "Renamed", "sortOrder": 7},
        read_only={"id": "bOther", "isDefault": True, "myRights": {}},
        other_change=_new_card,
    )


def _card(client):
    from jmapd_contacts.testing import default_book

    return {"addressBookIds": {default_book(client): True}, "name": {"full": f"Card {next(_names)}"},
            "emails": {"e": {"address": "someone@example.com"}}}


class TestContactCard(Conformance):
    spec = TypeSpec(
        "ContactCard",
        "urn:ietf:params:jmap:contacts",
        verbs=frozenset({"get", "changes", "set", "copy", "query", "queryChanges"}),
        create=_card,
        filters=[({"email": "someone@"}, True), ({"uid": "no-such-uid"}, False), ({"text": "card"}, True),
                 ({"kind": "org"}, False)],
        sorts=["created", "updated", "name/given", "name/surname", "name/surname2"],
        invalid={"addressBookIds": {"bNope": True}, "kind": 3, "emails": {"e": {"address": 1}}},
        invalid_properties=["kind", "emails/e/address"],
        patch={"name/full": "Renamed", "kind": "org"},
        patched={"name": {"full": "Renamed"}, "kind": "org"},
        read_only={"id": "kOther"},
        reference=("addressBookIds{}", "AddressBook", _book),
        copy_target=_shared_account,
        copy_overrides=_target_book,
        other_change=_new_book,
        unknown_property="extra",  # RFC 9553 §1.7.2: reserved; unknown names are kept, not refused
    )
