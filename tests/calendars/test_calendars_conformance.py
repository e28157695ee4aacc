"""The conformance kit run on Calendar."""

from __future__ import annotations

import itertools

from jmapd.testing import Conformance, TypeSpec

_names = itertools.count()


def _calendar(client):
    return {"name": f"Calendar {next(_names)}", "color": "teal"}


class TestCalendar(Conformance):
    spec = TypeSpec(
        "Calendar",
        "urn:ietf:params:jmap:calendars",
        verbs=frozenset({"get", "changes", "set"}),
        create=_calendar,
        invalid={"name": "", "color": "no such colour"},
        invalid_properties=["name", "color"],
        patch={"name": "Renamed", "sortOrder": 7},
        patched={"name": "Renamed", "sortOrder": 7},
        read_only={"id": "cOther", "isDefault": True, "myRights": {}},
    )
