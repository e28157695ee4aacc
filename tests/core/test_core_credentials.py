"""The principal names the credential it authenticated with (RFC 8620 §7.2
ties push subscriptions to it; tests/events checks the consequences)."""

from __future__ import annotations

import base64

from jmapd.auth import Authenticator, token_digest


def test_credential_of_names_basic_and_bearer():
    basic = "Basic " + base64.b64encode(b"alice:secret").decode()
    assert Authenticator.credential_of(basic) == "basic"
    assert Authenticator.credential_of("Bearer  abc ") == "token:" + token_digest("abc")
    assert Authenticator.credential_of("bearer abc") == "token:" + token_digest("abc")
    assert Authenticator.credential_of(None) is None
    assert Authenticator.credential_of("Bearer ") is None
    assert Authenticator.credential_of("Digest x") is None
