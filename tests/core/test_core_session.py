"""Session resource and authentication (RFC 8620 §2, issue #2 auth points)."""

import base64

import httpx
import pytest

from jmapd.testing import wait_for

CORE = "urn:ietf:params:jmap:core"


def test_session_shape_and_absolute_urls(jmap_server, client):
    session = client.session
    assert session["username"] == client.user
    for key in ("apiUrl", "downloadUrl", "uploadUrl", "eventSourceUrl"):
        assert session[key].startswith(jmap_server.url + "/"), key
    assert "{accountId}" in session["downloadUrl"] and "{blobId}" in session["downloadUrl"]
    assert "{name}" in session["downloadUrl"] and "{type}" in session["downloadUrl"]
    assert "{accountId}" in session["uploadUrl"]
    for var in ("{types}", "{closeafter}", "{ping}"):
        assert var in session["eventSourceUrl"]
    core = session["capabilities"][CORE]
    for limit in (
        "maxSizeUpload", "maxConcurrentUpload", "maxSizeRequest", "maxConcurrentRequests",
        "maxCallsInRequest", "maxObjectsInGet", "maxObjectsInSet", "collationAlgorithms",
    ):
        assert limit in core
    account_id = session["primaryAccounts"]["urn:ietf:params:jmap:blob"]
    assert CORE not in session["primaryAccounts"]  # not an account capability
    account = session["accounts"][account_id]
    assert account["isPersonal"] is True and account["isReadOnly"] is False
    assert "urn:ietf:params:jmap:blob" in account["accountCapabilities"]
    assert isinstance(session["state"], str) and session["state"]


def test_session_state_is_stable(client):
    first = client.http.get("/.well-known/jmap").json()["state"]
    second = client.http.get("/.well-known/jmap").json()["state"]
    assert first == second


def test_session_url_follows_request_host(jmap_server, client):
    resp = client.http.get("/.well-known/jmap", headers={"Host": "mail.example.test:8443"})
    assert resp.json()["apiUrl"] == "http://mail.example.test:8443/jmap/api"


def test_base_url_from_config(make_server):
    server = make_server({"server": {"base_url": "https://jmap.example.com/"}})
    client = server.client()
    assert client.session["apiUrl"] == "https://jmap.example.com/jmap/api"


def test_no_credentials_is_401_with_challenge(jmap_server):
    resp = httpx.get(jmap_server.url + "/.well-known/jmap")
    assert resp.status_code == 401
    assert "Basic" in resp.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "header",
    [
        "Basic Og==",  # ":" only
        "Basic " + base64.b64encode(b"nocolon").decode(),
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic",
        "Bearer",
        "Bearer    x y",
        "Digest foo",
        "Basic " + "A" * 10000,
    ],
)
def test_malformed_credentials_are_401_never_500(jmap_server, header):
    resp = httpx.get(jmap_server.url + "/.well-known/jmap", headers={"Authorization": header})
    assert resp.status_code == 401


def test_unknown_user_and_wrong_password_look_alike(jmap_server):
    name, _ = jmap_server.make_user()
    wrong = httpx.get(jmap_server.url + "/.well-known/jmap", auth=(name, "wrong"))
    unknown = httpx.get(jmap_server.url + "/.well-known/jmap", auth=("nobody-" + name, "wrong"))
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.content == unknown.content
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]


def test_bearer_token_and_revocation(jmap_server):
    from jmapd.auth import create_token
    from jmapd.db import ensure_connected
    from jmapd.models import Token, User

    name, _ = jmap_server.make_user()
    ensure_connected()
    token = create_token(User.get(User.name == name), "phone")
    ok = httpx.get(jmap_server.url + "/.well-known/jmap", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.json()["username"] == name
    Token.delete().where(Token.name == "phone").execute()
    gone = httpx.get(jmap_server.url + "/.well-known/jmap", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401


def test_app_password_as_basic_password(jmap_server):
    """Issue #9.11: clients and MTAs that only speak Basic use an app password
    as the password of its user, with the token's scope, expiry and revocation."""
    import datetime

    from jmapd.auth import create_token
    from jmapd.db import ensure_connected
    from jmapd.models import Token, User

    name, password = jmap_server.make_user()
    other, _ = jmap_server.make_user()
    ensure_connected()
    token = create_token(User.get(User.name == name), "thunderbird")
    scoped = create_token(User.get(User.name == name), "es-only", scope="eventsource", ttl=600)
    url = jmap_server.url + "/.well-known/jmap"
    ok = httpx.get(url, auth=(name, token))
    assert ok.status_code == 200 and ok.json()["username"] == name
    assert httpx.get(url, auth=(name, password)).status_code == 200  # the password still works
    assert httpx.get(url, auth=(other, token)).status_code == 401  # another user's name: no
    assert httpx.get(url, auth=(name, scoped)).status_code == 401  # scope is kept
    assert httpx.get(url, auth=(name, token[:-1] + "x")).status_code == 401
    Token.update(expires=datetime.datetime(2000, 1, 1)).where(Token.name == "thunderbird").execute()
    assert httpx.get(url, auth=(name, token)).status_code == 401  # expiry is kept
    Token.update(expires=None).where(Token.name == "thunderbird").execute()
    assert httpx.get(url, auth=(name, token)).status_code == 200
    Token.delete().where(Token.name == "thunderbird").execute()
    assert httpx.get(url, auth=(name, token)).status_code == 401  # and revocation


def test_scoped_token_cannot_call_api(jmap_server):
    from jmapd.auth import create_token
    from jmapd.db import ensure_connected
    from jmapd.models import User

    name, _ = jmap_server.make_user()
    ensure_connected()
    token = create_token(User.get(User.name == name), "es", scope="eventsource", ttl=60)
    resp = httpx.get(jmap_server.url + "/.well-known/jmap", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401


def test_repeated_failures_lock_out_for_a_doubling_period(make_server, unlocked_loopback):
    server = make_server({"auth": {"failure_threshold": 2, "max_delay": 0.6}})
    unlocked_loopback.lift("ip:127.0.0.1")
    name, password = server.make_user()
    url = server.url + "/.well-known/jmap"
    throttle = server.services.auth.throttle
    assert throttle.delay(f"user:{name}") == 0.0
    assert httpx.get(url, auth=(name, "bad")).status_code == 401
    second = httpx.get(url, auth=(name, "bad"))
    assert second.status_code == 401 and second.headers["Retry-After"] == "1"
    # The lock period (the figure the server computes, not wall-clock time)
    # doubles per failure past the threshold and is capped at max_delay.
    assert throttle.delay(f"user:{name}") == 0.25
    for expected in (0.5, 0.6):
        wait_for(lambda: throttle.retry_after(f"user:{name}") == 0.0)
        assert httpx.get(url, auth=(name, "bad")).status_code == 401
        assert throttle.delay(f"user:{name}") == expected
    # once the lock has run out the right password works
    wait_for(lambda: throttle.retry_after(f"user:{name}") == 0.0)
    assert httpx.get(url, auth=(name, password)).status_code == 200


def test_health_endpoints_need_no_auth(jmap_server):
    assert httpx.get(jmap_server.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(jmap_server.url + "/readyz").json()
    assert ready["status"] == "ok" and ready["checks"]["database"] == "ok"


def test_another_users_account_is_not_found(jmap_server):
    alice = jmap_server.client()
    bob = jmap_server.client()
    name, args = alice.call("Note/get", {"accountId": bob.account_id, "ids": None})
    assert name == "error" and args["type"] == "accountNotFound"
    name, args = alice.call("Note/get", {"accountId": "nonexistent", "ids": None})
    assert name == "error" and args["type"] == "accountNotFound"


def test_recreated_user_can_log_in_at_once(jmap_server):
    """A remembered password must not pin a deleted user's id."""
    from jmapd.db import ensure_connected
    from jmapd.models import User

    name, password = jmap_server.make_user()
    url = jmap_server.url + "/.well-known/jmap"
    first = httpx.get(url, auth=(name, password)).json()
    ensure_connected()
    User.delete().where(User.name == name).execute()
    assert httpx.get(url, auth=(name, password)).status_code == 401
    jmap_server.make_user(name, password)
    again = httpx.get(url, auth=(name, password))
    assert again.status_code == 200
    assert set(again.json()["accounts"]) != set(first["accounts"])


def test_disabled_user_is_refused_even_when_remembered(jmap_server):
    from jmapd.db import ensure_connected
    from jmapd.models import User

    name, password = jmap_server.make_user()
    url = jmap_server.url + "/.well-known/jmap"
    assert httpx.get(url, auth=(name, password)).status_code == 200
    ensure_connected()
    User.update(disabled=True).where(User.name == name).execute()
    assert httpx.get(url, auth=(name, password)).status_code == 401


def test_cors_preflight_and_response_headers(jmap_server, client):
    pre = httpx.options(
        jmap_server.url + "/jmap/api",
        headers={
            "Origin": "https://webmail.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert "authorization" in pre.headers["access-control-allow-headers"].lower()
    resp = client.http.get("/.well-known/jmap", headers={"Origin": "https://webmail.example"})
    assert resp.headers["access-control-allow-origin"] == "*"


def test_cors_restricted_origins(make_server):
    server = make_server({"server": {"cors_origins": ["https://good.example"]}})
    client = server.client()
    good = client.http.get("/.well-known/jmap", headers={"Origin": "https://good.example"})
    assert good.headers["access-control-allow-origin"] == "https://good.example"
    bad = client.http.get("/.well-known/jmap", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in bad.headers
