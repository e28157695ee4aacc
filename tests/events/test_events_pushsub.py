"""PushSubscription/get and /set (RFC 8620 §7.2), delivered to a real loopback receiver."""

from __future__ import annotations

import datetime
import json

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jmapd_events.domain.webpush import b64url_encode, decrypt

from jmapd.testing import wait_for


def call(client, method, args):
    """One call without the accountId the test client adds by default."""
    name, result, _ = client.request([[method, args, "c"]])["methodResponses"][0]
    return name, result


def ok(client, method, args):
    name, result = call(client, method, args)
    assert name == method, result
    return result


def create(client, **props):
    obj = {"deviceClientId": "dev-" + client.user, **props}
    return ok(client, "PushSubscription/set", {"create": {"p": obj}})


def note_state(client):
    return client.ok("Note/get", {"ids": []})["state"]


def control_subscription(client, receiver):
    """A second, live subscription of the user on its own path: the positive
    control of a test that expects no push for another one."""
    path = "/push/control"
    obj = {"deviceClientId": "control-" + client.user, "url": f"http://127.0.0.1:{receiver.port}{path}"}
    sub_id = ok(client, "PushSubscription/set", {"create": {"c": obj}})["created"]["c"]["id"]
    verify(client, receiver, sub_id)
    return path


def verify(client, receiver, sub_id):
    verification = receiver.next_json()
    assert verification == {
        "@type": "PushVerification",
        "pushSubscriptionId": sub_id,
        "verificationCode": verification["verificationCode"],
    }
    assert len(verification["verificationCode"]) >= 32
    result = ok(
        client,
        "PushSubscription/set",
        {"update": {sub_id: {"verificationCode": verification["verificationCode"]}}},
    )
    assert sub_id in result["updated"]
    return verification["verificationCode"]


def test_verification_then_state_changes(fast_server, receiver, new_note):
    client = fast_server.client()
    result = create(client, url=receiver.url, types=["Note"])
    created = result["created"]["p"]
    sub_id = created["id"]
    assert created["keys"] is None and created["verificationCode"] is None
    assert "accountId" not in result and "newState" not in result
    # Nothing but the verification before the client proves it got it.
    new_note(client, "unverified")
    code = verify(client, receiver, sub_id)
    # The positive control: the first push after verification is this change.
    new_note(client, "verified")
    path, headers, body = receiver.next()
    assert path == "/push/device?x=1"
    assert headers["Content-Type"] == "application/json"
    assert headers["TTL"] == "86400"
    assert headers["Authorization"].startswith("vapid t=")
    change = json.loads(body)
    assert change == {
        "@type": "StateChange",
        "changed": {client.account_id: {"Note": client.ok("Note/get", {"ids": []})["state"]}},
    }
    # Other types are not pushed to a subscription limited to Note.
    client.ok("NoteFolder/set", {"create": {"f": {"name": "x"}}})
    # The positive control: the next push is a Note change made after it.
    new_note(client)
    assert receiver.next_json()["changed"] == {client.account_id: {"Note": note_state(client)}}
    listed = ok(client, "PushSubscription/get", {"ids": None})
    assert listed["list"] == [
        {
            "id": sub_id,
            "deviceClientId": "dev-" + client.user,
            "verificationCode": code,
            "expires": created["expires"],
            "types": ["Note"],
        }
    ]


def test_encrypted_delivery(fast_server, receiver, new_note):
    client = fast_server.client()
    ua = ec.generate_private_key(ec.SECP256R1())
    keys = {
        "p256dh": b64url_encode(
            ua.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        ),
        "auth": b64url_encode(b"0123456789abcdef"),
    }
    sub_id = create(client, url=receiver.url, keys=keys)["created"]["p"]["id"]
    _, headers, body = receiver.next()
    assert headers["Content-Encoding"] == "aes128gcm"
    code = json.loads(decrypt(body, ua, keys["auth"]))["verificationCode"]
    ok(client, "PushSubscription/set", {"update": {sub_id: {"verificationCode": code}}})
    new_note(client)
    _, headers, body = receiver.next()
    assert headers["Content-Encoding"] == "aes128gcm"
    assert json.loads(decrypt(body, ua, keys["auth"]))["@type"] == "StateChange"


def test_failed_delivery_is_retried(fast_server, receiver, new_note):
    client = fast_server.client()
    sub_id = create(client, url=receiver.url)["created"]["p"]["id"]
    verify(client, receiver, sub_id)
    receiver.statuses = [500, 503]
    new_note(client)
    first, second, third = (json.loads(receiver.next()[2]) for _ in range(3))
    assert first == second == third and first["@type"] == "StateChange"
    # No fourth attempt: the next push is the next change.
    new_note(client)
    assert receiver.next_json()["changed"] == {client.account_id: {"Note": note_state(client)}}


def test_rules_of_set(fast_server, receiver):
    client = fast_server.client()
    far = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    result = create(client, url=receiver.url, expires=far)
    sub = result["created"]["p"]
    expires = datetime.datetime.fromisoformat(sub["expires"].replace("Z", "+00:00"))
    assert expires <= datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=7, seconds=5)
    sub_id = sub["id"]
    code = receiver.next_json()["verificationCode"]
    # One subscription per deviceClientId.
    again = ok(
        client,
        "PushSubscription/set",
        {"create": {"q": {"deviceClientId": "dev-" + client.user, "url": receiver.url}}},
    )
    assert again["notCreated"]["q"]["properties"] == ["deviceClientId"]
    assert again["notCreated"]["q"]["existingId"] == sub_id
    # url and keys are immutable; a wrong code is refused.
    bad = ok(client, "PushSubscription/set", {"update": {sub_id: {"url": receiver.url + "&y"}}})
    assert bad["notUpdated"][sub_id]["type"] == "invalidProperties"
    bad = ok(client, "PushSubscription/set", {"update": {sub_id: {"verificationCode": "0" * 32}}})
    assert bad["notUpdated"][sub_id]["properties"] == ["verificationCode"]
    done = ok(
        client,
        "PushSubscription/set",
        {"update": {sub_id: {"verificationCode": code, "expires": far, "types": None}}},
    )
    assert set(done["updated"][sub_id]) == {"expires"}  # clamped again, so returned
    # url and keys are never returned, and asking for them is forbidden.
    name, error = call(client, "PushSubscription/get", {"ids": None, "properties": ["url"]})
    assert (name, error["type"]) == ("error", "forbidden")
    name, error = call(client, "PushSubscription/get", {"accountId": client.account_id})
    assert error["type"] == "invalidArguments"
    # Another user sees nothing of it.
    other = fast_server.client()
    assert ok(other, "PushSubscription/get", {"ids": [sub_id]})["notFound"] == [sub_id]
    assert (
        ok(other, "PushSubscription/set", {"destroy": [sub_id]})["notDestroyed"][sub_id]["type"]
        == "notFound"
    )
    assert ok(client, "PushSubscription/set", {"destroy": [sub_id]})["destroyed"] == [sub_id]
    assert ok(client, "PushSubscription/get", {"ids": None})["list"] == []


def test_ssrf_refusal(jmap_server):
    """Without push_allow, loopback, private and metadata addresses are refused,
    and so is plain http."""
    client = jmap_server.client()
    for i, url in enumerate(
        [
            "https://127.0.0.1/push",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest",
            "https://[::1]:8443/",
            "http://example.com/",
        ]
    ):
        result = ok(
            client,
            "PushSubscription/set",
            {"create": {"p": {"deviceClientId": f"d{i}", "url": url}}},
        )
        error = result["notCreated"]["p"]
        assert (error["type"], error["properties"]) == ("invalidProperties", ["url"]), url
    assert ok(client, "PushSubscription/get", {"ids": None})["list"] == []


def test_expired_subscription_gets_nothing(fast_server, receiver, new_note):
    from jmapd_events.models import PushSubscription

    from jmapd.db import ensure_connected
    from jmapd.models import now

    client = fast_server.client()
    sub_id = create(client, url=receiver.url)["created"]["p"]["id"]
    verify(client, receiver, sub_id)
    control = control_subscription(client, receiver)
    ensure_connected()
    PushSubscription.update(expires=now() - datetime.timedelta(seconds=1)).where(
        PushSubscription.id == sub_id
    ).execute()
    new_note(client)
    assert receiver.until_control(control) == []
    receiver.nothing(wait=0.2)


def test_gone_endpoint_destroys_the_subscription(fast_server, receiver, new_note):
    client = fast_server.client()
    sub_id = create(client, url=receiver.url)["created"]["p"]["id"]
    verify(client, receiver, sub_id)
    receiver.statuses = [410]
    new_note(client)
    receiver.next()
    listed = wait_for(lambda: ok(client, "PushSubscription/get", {"ids": None})["list"], lambda subs: not subs)
    assert listed == [], "subscription survived a 410"
    control = control_subscription(client, receiver)
    new_note(client)
    assert receiver.until_control(control) == []
    receiver.nothing(wait=0.2)


# -- credentials (RFC 8620 §7.2) ------------------------------------------------
def make_token(server, client, ttl=None):
    """A bearer token of the client's user, as `jmapd token create` makes one."""
    from jmapd.auth import create_token
    from jmapd.db import ensure_connected
    from jmapd.models import User

    ensure_connected()
    return create_token(User.get(User.name == client.user), "push-test", ttl=ttl)


def bearer_ok(server, token, method, args):
    import httpx

    body = {"using": server.capabilities(), "methodCalls": [[method, args, "c"]]}
    resp = httpx.post(
        server.url + "/jmap/api", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 200, resp.text
    name, result, _ = resp.json()["methodResponses"][0]
    assert name == method, result
    return result


def row_of(sub_id):
    from jmapd_events.models import PushSubscription

    from jmapd.db import ensure_connected

    ensure_connected()
    return PushSubscription.get_or_none(PushSubscription.id == sub_id)


def test_subscriptions_belong_to_the_credential_that_created_them(fast_server, receiver):
    """'The server MUST only return push subscriptions that were created using the
    same authentication credentials as for this PushSubscription/get request.'"""
    client = fast_server.client()
    token = make_token(fast_server, client)
    by_password = create(client, url=receiver.url)["created"]["p"]["id"]
    receiver.next()
    # The same user with a token sees nothing of it, and cannot touch it.
    got = bearer_ok(fast_server, token, "PushSubscription/get", {"ids": None})
    assert got == {"list": [], "notFound": []}
    got = bearer_ok(fast_server, token, "PushSubscription/get", {"ids": [by_password]})
    assert got["notFound"] == [by_password]
    result = bearer_ok(
        fast_server, token, "PushSubscription/set",
        {"update": {by_password: {"types": []}}, "destroy": [by_password]},
    )
    assert result["notUpdated"][by_password]["type"] == "notFound"
    assert result["notDestroyed"][by_password]["type"] == "notFound"
    # The same device may subscribe with its other credential.
    result = bearer_ok(
        fast_server, token, "PushSubscription/set",
        {"create": {"t": {"deviceClientId": "dev-" + client.user, "url": receiver.url}}},
    )
    by_token = result["created"]["t"]["id"]
    receiver.next()
    listed = bearer_ok(fast_server, token, "PushSubscription/get", {"ids": None})["list"]
    assert [s["id"] for s in listed] == [by_token]
    listed = ok(client, "PushSubscription/get", {"ids": None})["list"]
    assert [s["id"] for s in listed] == [by_password]


def test_revoking_the_token_destroys_its_subscriptions(fast_server, receiver):
    """'Should these credentials expire or be revoked, the push subscription MUST
    be destroyed by the JMAP server.' Revoking is what `jmapd token revoke` does."""
    from jmapd.models import Token

    client = fast_server.client()
    token = make_token(fast_server, client)
    result = bearer_ok(
        fast_server, token, "PushSubscription/set",
        {"create": {"t": {"deviceClientId": "phone", "url": receiver.url}}},
    )
    sub_id = result["created"]["t"]["id"]
    code = receiver.next_json()["verificationCode"]
    bearer_ok(
        fast_server, token, "PushSubscription/set",
        {"update": {sub_id: {"verificationCode": code}}},
    )
    assert row_of(sub_id) is not None
    Token.delete().where(Token.name == "push-test").where(
        Token.user == row_of(sub_id).user_id
    ).execute()
    assert row_of(sub_id) is None  # gone with the token, URL and keys included


def test_a_new_password_destroys_the_subscriptions_of_the_old_one(fast_server, receiver, new_note):
    from jmapd.auth import hash_password
    from jmapd.models import User

    client = fast_server.client()
    sub_id = create(client, url=receiver.url)["created"]["p"]["id"]
    verify(client, receiver, sub_id)
    new_password = "new-" + client.password
    User.update(password_hash=hash_password(new_password)).where(
        User.name == client.user
    ).execute()
    # The next change finds the subscription's credential revoked: destroyed,
    # not pushed to (the commit hook runs before the API call answers).
    new_note(fast_server.client(client.user, new_password))
    assert row_of(sub_id) is None


def test_sweep_destroys_subscriptions_of_expired_tokens(fast_server, receiver):
    import datetime as dt

    from jmapd_events.pushdelivery import destroy_revoked

    from jmapd.models import Token, now

    client = fast_server.client()
    token = make_token(fast_server, client, ttl=3600)
    result = bearer_ok(
        fast_server, token, "PushSubscription/set",
        {"create": {"t": {"deviceClientId": "tablet", "url": receiver.url}}},
    )
    sub_id = result["created"]["t"]["id"]
    receiver.next()
    row = row_of(sub_id)
    Token.update(expires=now() - dt.timedelta(seconds=1)).where(Token.id == row.token_id).execute()
    assert destroy_revoked() >= 1  # what the worker's periodic cleanup runs
    assert row_of(sub_id) is None


def test_expiry_follows_a_credential_with_its_own_expiry(fast_server, receiver):
    """'When these credentials have their own expiry ... the server SHOULD NOT set
    or bound the expiry time for the push subscription given by the client but
    MUST expire it when the session expires.'"""
    client = fast_server.client()
    token = make_token(fast_server, client, ttl=30 * 86400)
    in_20_days = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=20)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    result = bearer_ok(
        fast_server, token, "PushSubscription/set",
        {"create": {
            "a": {"deviceClientId": "a", "url": receiver.url, "expires": in_20_days},
            "b": {"deviceClientId": "b", "url": receiver.url},
        }},
    )
    assert "expires" not in result["created"]["a"]  # kept as given: not bounded to 7 days
    token_expires = row_of(result["created"]["a"]["id"]).token.expires
    assert result["created"]["b"]["expires"] == token_expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    in_40_days = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=40)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    a = result["created"]["a"]["id"]
    result = bearer_ok(
        fast_server, token, "PushSubscription/set", {"update": {a: {"expires": in_40_days}}}
    )
    assert result["updated"][a] == {"expires": token_expires.strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_expires_must_be_a_future_utcdate_on_create(fast_server, receiver):
    """A subscription that expired before it exists could not even be sent its
    PushVerification (the server 'MUST NOT make further requests ... after this
    time'), so a past expires is refused rather than clamped."""
    client = fast_server.client()
    past = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    for i, value in enumerate([past, "2030-01-01T00:00:00+00:00", "2030-01-01", 12]):
        result = ok(
            client, "PushSubscription/set",
            {"create": {"p": {"deviceClientId": f"d{i}", "url": receiver.url, "expires": value}}},
        )
        error = result["notCreated"]["p"]
        assert (error["type"], error["properties"]) == ("invalidProperties", ["expires"]), value
    assert ok(client, "PushSubscription/get", {"ids": None})["list"] == []


def test_types_null_pushes_every_type(fast_server, receiver, new_note):
    """'If null, changes will be pushed for all types.' An empty list: none."""
    client = fast_server.client()
    result = create(client, url=receiver.url, types=None)
    sub_id = result["created"]["p"]["id"]
    assert "types" not in result["created"]["p"]  # given by the client, so not echoed
    verify(client, receiver, sub_id)
    assert ok(client, "PushSubscription/get", {"ids": [sub_id]})["list"][0]["types"] is None
    new_note(client)
    assert set(receiver.next_json()["changed"][client.account_id]) == {"Note"}
    client.ok("NoteFolder/set", {"create": {"f": {"name": "x"}}})
    assert set(receiver.next_json()["changed"][client.account_id]) == {"NoteFolder"}
    ok(client, "PushSubscription/set", {"update": {sub_id: {"types": ["NoteFolder"]}}})
    new_note(client)
    client.ok("NoteFolder/set", {"create": {"g": {"name": "y"}}})
    assert set(receiver.next_json()["changed"][client.account_id]) == {"NoteFolder"}


def test_every_invalid_property_is_named(fast_server, receiver):
    """#9.5: create and update refuse once, naming every bad property; nothing is made or changed."""
    client = fast_server.client()
    name, bad = call(client, "PushSubscription/set", {"create": {"p": {
        "deviceClientId": "", "url": 5, "keys": {"p256dh": "x"}, "verificationCode": "abc",
        "expires": "yesterday", "types": "Email", "id": "mine", "colour": 1,
    }}})
    err = bad["notCreated"]["p"]
    assert err["type"] == "invalidProperties"
    assert sorted(err["properties"]) == sorted([
        "deviceClientId", "url", "keys", "verificationCode", "expires", "types", "id", "colour",
    ]), err
    assert ok(client, "PushSubscription/get", {"ids": None})["list"] == []
    sub_id = create(client, url=receiver.url)["created"]["p"]["id"]
    receiver.next()
    bad = ok(client, "PushSubscription/set", {"update": {sub_id: {
        "verificationCode": "wrong", "expires": "soon", "types": [5], "url": receiver.url + "&y",
    }}})
    err = bad["notUpdated"][sub_id]
    assert sorted(err["properties"]) == ["expires", "types", "url", "verificationCode"], err
    got = ok(client, "PushSubscription/get", {"ids": [sub_id]})["list"][0]
    assert got["verificationCode"] is None and got["types"] is None
