"""PushSubscription/get and /set (RFC 8620 §7.2), delivered to a real loopback receiver."""

from __future__ import annotations

import datetime
import json
import time

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jmapd_events.domain.webpush import b64url_encode, decrypt


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
    receiver.nothing(wait=0.5)
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
    receiver.nothing(wait=0.5)
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
    receiver.nothing(wait=0.5)


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
    ensure_connected()
    PushSubscription.update(expires=now() - datetime.timedelta(seconds=1)).where(
        PushSubscription.id == sub_id
    ).execute()
    new_note(client)
    receiver.nothing(wait=1.0)


def test_gone_endpoint_destroys_the_subscription(fast_server, receiver, new_note):
    client = fast_server.client()
    sub_id = create(client, url=receiver.url)["created"]["p"]["id"]
    verify(client, receiver, sub_id)
    receiver.statuses = [410]
    new_note(client)
    receiver.next()
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=5)
    while ok(client, "PushSubscription/get", {"ids": None})["list"]:
        assert datetime.datetime.now() < deadline, "subscription survived a 410"
        time.sleep(0.05)
    new_note(client)
    receiver.nothing(wait=0.5)
