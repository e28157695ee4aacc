"""Helpers for tests of the calendars plugin (JMAP calls as the test client)."""

from __future__ import annotations

from typing import Any

from jmapd.testing import JmapClient

CAL = "urn:ietf:params:jmap:calendars"
PRINCIPALS = "urn:ietf:params:jmap:principals"
USING = ["urn:ietf:params:jmap:core", CAL, PRINCIPALS]


def call(client: JmapClient, method: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return client.call(method, {"accountId": client.account_id, **args}, USING)


def ok(client: JmapClient, method: str, args: dict[str, Any]) -> dict[str, Any]:
    name, response = call(client, method, args)
    assert name != "error", f"{method}: {response}"
    return response


def calendars(client: JmapClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(client, "Calendar/get", {"ids": None})["list"]
    return found


def principal_id(client: JmapClient) -> str:
    return str(client.session["accounts"][client.account_id]["accountCapabilities"][PRINCIPALS]["currentUserPrincipalId"])
