"""Helpers for tests of the contacts plugin (JMAP calls as the test client)."""

from __future__ import annotations

from typing import Any

CONTACTS = "urn:ietf:params:jmap:contacts"
CONTACTS_PARSE = "urn:ietf:params:jmap:contacts:parse"
PRINCIPALS = "urn:ietf:params:jmap:principals"
USING = ["urn:ietf:params:jmap:core", CONTACTS, CONTACTS_PARSE, PRINCIPALS]


def call(client: Any, method: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name, response = client.call(method, {"accountId": client.account_id, **args}, USING)
    return str(name), dict(response)


def ok(client: Any, method: str, args: dict[str, Any]) -> dict[str, Any]:
    name, response = call(client, method, args)
    assert name != "error", f"{method}: {response}"
    return response


def books(client: Any) -> list[dict[str, Any]]:
    return list(ok(client, "AddressBook/get", {"ids": None})["list"])


def default_book(client: Any) -> str:
    return str(next(b["id"] for b in books(client) if b["isDefault"]))


def principal_id(client: Any) -> str:
    return str(client.session["accounts"][client.account_id]["accountCapabilities"][PRINCIPALS]["currentUserPrincipalId"])


def download(client: Any, blob_id: str, name: str = "file", type: str = "application/octet-stream") -> Any:
    url = client.session["downloadUrl"].format(accountId=client.account_id, blobId=blob_id, name=name, type=type)
    return client.http.get(url)
