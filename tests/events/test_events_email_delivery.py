"""The push-only EmailDelivery type (RFC 8621 §1.5, issue #9.2).

Its state MUST change whenever a new Email is added to the store and SHOULD
NOT change on any other change to Emails (marked read, moved, destroyed).
"""

from __future__ import annotations

from jmapd_mail.api import deliver

URL = "/jmap/eventsource?types=EmailDelivery&closeafter=no&ping=0"
RAW = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\nMessage-ID: <%d@x>\r\n\r\nhello\r\n"


def test_only_new_email_moves_email_delivery(fast_server, sse):
    client = fast_server.client()
    first = deliver(fast_server.services, client.account_id, RAW % 1)
    stream = sse(client.http, URL)
    everything = sse(client.http, "/jmap/eventsource?types=*&closeafter=no&ping=0")
    stream.wait_id()
    # changes to an existing Email: Email and Mailbox move, EmailDelivery does not
    client.ok("Email/set", {"update": {first: {"keywords/$seen": True}}})
    assert "Email" in everything.next()["changed"][client.account_id]
    client.ok("Email/set", {"destroy": [first]})
    # the positive control: the delivery is the first event this stream hears
    second = deliver(fast_server.services, client.account_id, RAW % 2)
    change = stream.next()["changed"][client.account_id]
    assert set(change) == {"EmailDelivery"}
    # ...and it carries the delivery's state: had the keyword change or the
    # destroy moved EmailDelivery, this stream's first event would be older.
    while "EmailDelivery" not in (seen := everything.next()["changed"][client.account_id]):
        pass
    assert seen["EmailDelivery"] == change["EmailDelivery"]
    # an import and a created draft add Emails to the store too
    blob = client.upload(RAW % 3, "message/rfc822")["blobId"]
    inbox = next(m["id"] for m in client.ok("Mailbox/get", {"ids": None})["list"] if m["role"] == "inbox")
    client.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": {inbox: True}}}})
    nxt = stream.next()["changed"][client.account_id]
    assert nxt["EmailDelivery"] != change["EmailDelivery"]
    assert second


def test_a_local_submission_moves_the_recipients_email_delivery(fast_server, sse):
    """Alice's EmailSubmission to bob on the same server is delivered into bob's
    account (#9.9): bob's EmailDelivery stream hears of it."""
    alice, bob = fast_server.client(), fast_server.client()
    stream = sse(bob.http, URL)
    stream.wait_id()
    raw = (
        f"From: <{alice.user}@localhost>\r\nTo: <{bob.user}@localhost>\r\nSubject: local\r\n"
        "Message-ID: <local-1@x>\r\n\r\nhello\r\n"
    ).encode()
    draft = deliver(fast_server.services, alice.account_id, raw, mailbox_role="drafts")
    identity = alice.ok("Identity/get")["list"][0]["id"]
    alice.ok("EmailSubmission/set", {"create": {"k": {"identityId": identity, "emailId": draft}}})
    change = stream.next()["changed"]
    assert "EmailDelivery" in change[bob.account_id]
    assert bob.ok("Email/query", {"filter": {"subject": "local"}})["ids"]


def _draft(client, inbox: str, subject: str) -> dict:
    return {"mailboxIds": {inbox: True}, "subject": subject, "bodyValues": {"b": {"value": "x"}},
            "textBody": [{"partId": "b", "type": "text/plain"}]}


def _email_delivery_sequence(client, services, next_change):
    """Changes that move Mailbox but add no Email push no EmailDelivery (each
    such push is the positive control that a push would have come); a
    delivery and an Email/set create do. ``next_change()`` is the next
    StateChange's ``changed`` for the account of a subscriber to
    Mailbox and EmailDelivery."""
    first = deliver(services, client.account_id, RAW % 11)
    assert "EmailDelivery" in next_change()
    client.ok("Email/set", {"update": {first: {"keywords/$seen": True}}})
    assert set(next_change()) == {"Mailbox"}
    client.ok("Email/set", {"destroy": [first]})
    assert set(next_change()) == {"Mailbox"}
    deliver(services, client.account_id, RAW % 12)
    assert set(next_change()) == {"Mailbox", "EmailDelivery"}
    inbox = next(m["id"] for m in client.ok("Mailbox/get", {"ids": None})["list"] if m["role"] == "inbox")
    client.ok("Email/set", {"create": {"d": _draft(client, inbox, "made")}})
    assert set(next_change()) == {"Mailbox", "EmailDelivery"}


def test_websocket_push_carries_email_delivery(fast_server):
    """#9.2 over WebSocket push (RFC 8887 WebSocketPushEnable dataTypes)."""
    import json

    from websockets.sync.client import connect

    client = fast_server.client()
    url = client.session["capabilities"]["urn:ietf:params:jmap:websocket"]["url"]
    with connect(url, subprotocols=["jmap"], open_timeout=10,
                 additional_headers={"Authorization": fast_server.basic(client.user, client.password)}) as ws:
        ws.send(json.dumps({"@type": "WebSocketPushEnable", "dataTypes": ["Mailbox", "EmailDelivery"]}))

        def next_change() -> dict:
            while True:
                msg = json.loads(ws.recv(timeout=10))
                if msg.get("@type") == "StateChange" and msg["changed"].get(client.account_id):
                    return msg["changed"][client.account_id]

        _email_delivery_sequence(client, fast_server.services, next_change)


def test_push_subscription_carries_email_delivery(fast_server, receiver):
    """#9.2 over a PushSubscription limited to types [Mailbox, EmailDelivery]."""
    client = fast_server.client()
    obj = {"deviceClientId": "dev-" + client.user, "url": receiver.url, "types": ["Mailbox", "EmailDelivery"]}
    name, out, _ = client.request([["PushSubscription/set", {"create": {"p": obj}}, "c"]])["methodResponses"][0]
    assert name == "PushSubscription/set", out
    sub_id = out["created"]["p"]["id"]
    code = receiver.next_json()["verificationCode"]
    name, out, _ = client.request(
        [["PushSubscription/set", {"update": {sub_id: {"verificationCode": code}}}, "c"]]
    )["methodResponses"][0]
    assert sub_id in out["updated"], out

    def next_change() -> dict:
        while True:
            changed = receiver.next_json()["changed"]
            if changed.get(client.account_id):
                return changed[client.account_id]

    _email_delivery_sequence(client, fast_server.services, next_change)
