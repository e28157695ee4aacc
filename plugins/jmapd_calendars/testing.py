"""Helpers for tests of the calendars plugin (JMAP calls as the test client)."""

from __future__ import annotations

from typing import Any

CAL = "urn:ietf:params:jmap:calendars"
PRINCIPALS = "urn:ietf:params:jmap:principals"
USING = ["urn:ietf:params:jmap:core", CAL, PRINCIPALS]


def call(client: Any, method: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return client.call(method, {"accountId": client.account_id, **args}, USING)


def ok(client: Any, method: str, args: dict[str, Any]) -> dict[str, Any]:
    name, response = call(client, method, args)
    assert name != "error", f"{method}: {response}"
    return response


def calendars(client: Any) -> list[dict[str, Any]]:
    return ok(client, "Calendar/get", {"ids": None})["list"]


def principal_id(client: Any) -> str:
    return client.session["accounts"][client.account_id]["accountCapabilities"][PRINCIPALS]["currentUserPrincipalId"]
