"""The conformance kit run on VacationResponse (a singleton: get and set)."""

from __future__ import annotations

from jmapd.testing import Conformance, TypeSpec


class TestVacationResponse(Conformance):
    spec = TypeSpec(
        "VacationResponse",
        "urn:ietf:params:jmap:vacationresponse",
        verbs=frozenset({"get", "set"}),
        singleton="singleton",
        invalid={"isEnabled": "yes"},
        patch={"subject": "Away", "textBody": "Back on Monday."},
        patched={"subject": "Away", "textBody": "Back on Monday."},
        read_only={"id": "other"},
    )
