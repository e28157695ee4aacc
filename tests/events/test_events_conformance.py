"""The conformance kit run on PushSubscription: no account, no state (RFC 8620 §7.2)."""

from __future__ import annotations

from jmapd.testing import Conformance, TypeSpec


class TestPushSubscription(Conformance):
    spec = TypeSpec(
        "PushSubscription",
        "urn:ietf:params:jmap:core",
        verbs=frozenset({"get", "set"}),
        account_scoped=False,
        invalid={"deviceClientId": 5, "url": "not a url"},
        invalid_properties=["deviceClientId"],
    )
