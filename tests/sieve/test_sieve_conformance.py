"""The conformance kit run on SieveScript."""

from __future__ import annotations

import itertools

from jmapd.testing import Conformance, TypeSpec

_names = itertools.count()


def _big(client):
    blob = client.upload(b"#" + b"x" * 65536 + b"\r\nkeep;\r\n", "application/sieve")["blobId"]
    return {"name": f"big {next(_names)}", "blobId": blob}


def _script(client):
    blob = client.upload(b"keep;\r\n", "application/sieve")["blobId"]
    return {"name": f"script {next(_names)}", "blobId": blob}


class TestSieveScript(Conformance):
    spec = TypeSpec(
        "SieveScript",
        "urn:ietf:params:jmap:sieve",
        create=_script,
        invalid={"name": 7, "blobId": "not an id!"},
        invalid_properties=["name", "blobId"],
        patch={"name": "renamed"},
        patched={"name": "renamed"},
        read_only={"id": "Sother", "isActive": True},
        filters=[({"isActive": False}, True), ({"isActive": True}, False), ({"name": "script"}, True),
                 ({"name": "zzz"}, False)],
        sorts=["name", "isActive"],
        too_large=_big,
        other_change=lambda c: c.ok("Mailbox/set", {"create": {"m": {"name": f"other {next(_names)}"}}},
                                    ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"]),
    )
