"""A helper to install a Sieve script (the LMTP listener is tests/conftest.py's lmtp_for)."""

from __future__ import annotations

from typing import Any

import pytest

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:sieve"]


@pytest.fixture
def activate() -> Any:
    """``activate(client, script)``: store ``script`` and make it the active one; returns its id."""
    return _activate


def _activate(client: Any, script: str, name: str = "rules") -> str:
    blob = client.upload(script.encode(), "application/sieve")["blobId"]
    result = client.ok("SieveScript/set", {"create": {"s": {"name": name, "blobId": blob}},
                                           "onSuccessActivateScript": "#s"}, USING)
    assert "s" in (result["created"] or {}), result
    return str(result["created"]["s"]["id"])
