"""The conformance kit run on AddressBook and ContactCard."""

from __future__ import annotations

import itertools

from jmapd.testing import Conformance, TypeSpec

_names = itertools.count()


def _book(client):
    return {"name": f"Book {next(_names)}"}


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
    )
