"""The examples of RFC 8620 §7 (push) and RFC 8887 (JMAP over WebSocket),
re-expressed against a real server: StateChange, the PushSubscription
walk-through, EventSource and the WebSocket message shapes."""

from __future__ import annotations

import datetime
import json

from jmapd_events.domain.statechange import coalesce, filter_types, state_change
from websockets.sync.client import connect

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


def call(client, method, args):
    name, result, _ = client.request([[method, args, "0"]])["methodResponses"][0]
    assert name == method, result
    return result


# -- §7.1 StateChange --------------------------------------------------------------
def test_state_change_example_is_what_coalescing_produces():
    """'the server has amalgamated a few changes together across two different
    accounts the user has access to, before pushing the following StateChange'."""
    example = {
        "@type": "StateChange",
        "changed": {
            "a3123": {
                "Email": "d35ecb040aab",
                "EmailDelivery": "428d565f2440",
                "CalendarEvent": "87accfac587a",
            },
            "a43461d": {"Mailbox": "0af7a512ce70", "CalendarEvent": "7a4297cecd76"},
        },
    }
    pushed = coalesce([
        state_change({"a3123": {"Email": "older", "CalendarEvent": "87accfac587a"}}),
        state_change({"a43461d": {"Mailbox": "0af7a512ce70"}}),
        state_change({"a3123": {"Email": "d35ecb040aab", "EmailDelivery": "428d565f2440"}}),
        state_change({"a43461d": {"CalendarEvent": "7a4297cecd76"}}),
    ])
    assert pushed == example
    # PushSubscription.types: "Other types are omitted from the TypeState object."
    assert filter_types(example, ["Mailbox"]) == {
        "@type": "StateChange", "changed": {"a43461d": {"Mailbox": "0af7a512ce70"}},
    }
    assert filter_types(example, None) == example
    assert filter_types(example, []) is None  # nothing to push


def test_state_change_states_are_those_foo_get_returns(fast_server, receiver, new_note):
    """'the value is the state property that would currently be returned by a
    call to Foo/get' — pushed to a verified PushSubscription."""
    client = fast_server.client()
    created = call(client, "PushSubscription/set", {"create": {"p": {
        "deviceClientId": "d", "url": receiver.url, "types": None,
    }}})["created"]["p"]
    code = receiver.next_json()["verificationCode"]
    call(client, "PushSubscription/set", {"update": {created["id"]: {"verificationCode": code}}})
    new_note(client)
    change = receiver.next_json()
    assert set(change) == {"@type", "changed"}
    assert change["changed"] == {
        client.account_id: {"Note": client.ok("Note/get", {"ids": []})["state"]}
    }


# -- §7.2 PushSubscription -------------------------------------------------------
def test_push_subscription_example_walk_through(fast_server, receiver, new_note):
    client = fast_server.client()
    # "fetches the set of push subscriptions currently on the server"
    assert call(client, "PushSubscription/get", {"ids": None}) == {"list": [], "notFound": []}
    # "So it creates one" (types null; no expires: the server sets 7 days)
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0, tzinfo=None)
    result = call(client, "PushSubscription/set", {"create": {"4f29": {
        "deviceClientId": "a889-ffea-910",
        "url": receiver.url,
        "types": None,
    }}})
    assert set(result) == {
        "created", "updated", "destroyed", "notCreated", "notUpdated", "notDestroyed",
    }  # no accountId, oldState or newState
    created = result["created"]["4f29"]
    assert set(created) >= {"id", "keys", "expires"} and created["keys"] is None
    expires = datetime.datetime.strptime(created["expires"], "%Y-%m-%dT%H:%M:%SZ")
    assert before + datetime.timedelta(days=7) <= expires
    assert expires <= before + datetime.timedelta(days=7, minutes=5)
    # "The server also immediately makes a POST request to [the url]"
    path, headers, body = receiver.next()
    assert headers["Content-Type"] == "application/json" and "TTL" in headers
    verification = json.loads(body)
    assert verification == {
        "@type": "PushVerification",
        "pushSubscriptionId": created["id"],
        "verificationCode": verification["verificationCode"],
    }
    # "The client receives this and updates the subscription"
    result = call(client, "PushSubscription/set", {"update": {
        created["id"]: {"verificationCode": verification["verificationCode"]},
    }})
    assert result["updated"] == {created["id"]: None}
    # "... will now make requests to the registered URL when the state changes"
    new_note(client)
    assert receiver.next_json()["@type"] == "StateChange"
    # "the client updates the subscription to extend its lifetime ... The server
    # extends the expiry time, but only again to its maximum limit of 7 days"
    far = (before + datetime.timedelta(days=38)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = call(client, "PushSubscription/set", {"update": {created["id"]: {"expires": far}}})
    extended = result["updated"][created["id"]]["expires"]
    assert extended != far
    assert datetime.datetime.strptime(extended, "%Y-%m-%dT%H:%M:%SZ") <= (
        datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(days=7)
    )
    # And /get lists it as the example's response shows, url and keys withheld.
    listed = call(client, "PushSubscription/get", {"ids": None})
    assert listed == {"list": [{
        "id": created["id"],
        "deviceClientId": "a889-ffea-910",
        "verificationCode": verification["verificationCode"],
        "expires": extended,
        "types": None,
    }], "notFound": []}


def test_push_subscription_set_takes_no_if_in_state_nor_account_id(fast_server):
    client = fast_server.client()
    for args in ({"ifInState": "x"}, {"accountId": client.account_id}):
        name, error, _ = client.request([["PushSubscription/set", args, "0"]])["methodResponses"][0]
        assert (name, error["type"]) == ("error", "invalidArguments")


# -- §7.3 EventSource -------------------------------------------------------------
def test_eventsource_closeafter_state_after_catching_up(fast_server, sse, new_note):
    """A reconnect with Last-Event-ID gets the missed changes at once ('it
    SHOULD send these changes immediately on connection'), and with
    closeafter=state the response then ends ('MUST end the HTTP response
    after pushing a state event')."""
    client = fast_server.client()
    first = sse(client.http, "/jmap/eventsource?types=Note,NoteFolder&closeafter=no&ping=0")
    last_id = first.wait_id()
    first.close()
    new_note(client, "missed")
    again = sse(
        client.http,
        "/jmap/eventsource?types=Note,NoteFolder&closeafter=state&ping=0",
        headers={"Last-Event-ID": last_id},
    )
    change = again.next()
    assert change == {
        "@type": "StateChange",
        "changed": {client.account_id: {"Note": client.ok("Note/get", {"ids": []})["state"]}},
    }
    assert again.closed.wait(10)
    assert again.last_id != last_id  # a new event id with the state event


def test_eventsource_ping_data(fast_server, sse):
    """'The data for the ping event MUST be a JSON object containing an
    interval property' (UnsignedInt, the interval the server uses)."""
    client = fast_server.client()
    stream = sse(client.http, "/jmap/eventsource?types=*&closeafter=no&ping=1")
    ping = stream.next("ping")
    assert ping == {"interval": 1} and isinstance(ping["interval"], int)


# -- RFC 8887 ---------------------------------------------------------------------
def open_ws(server, client):
    url = client.session["capabilities"]["urn:ietf:params:jmap:websocket"]["url"]
    return connect(
        url,
        subprotocols=["jmap"],
        additional_headers={"Authorization": server.basic(client.user, client.password)},
        open_timeout=10,
    )


def recv(ws):
    return json.loads(ws.recv(timeout=10))


MESSAGE = (
    b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: hi\r\n"
    b"Date: Tue, 01 Jun 2021 10:00:00 +0200\r\nMessage-ID: <ws@x>\r\n\r\nhello\r\n"
)


def test_rfc8887_example_messages(fast_server):
    """The RFC 8887 §5 exchange: push enabled for Mailbox and Email, a Request
    with id "R1" answered by a Response with requestId "R1", a StateChange with
    a pushState when mail arrives, and a RequestError echoing the request id."""
    client = fast_server.client()
    account = client.account_id
    inbox = next(
        m["id"] for m in client.ok("Mailbox/get", {"ids": None})["list"] if m["role"] == "inbox"
    )
    with open_ws(fast_server, client) as ws:
        ws.send(json.dumps({"@type": "WebSocketPushEnable", "dataTypes": ["Mailbox", "Email"]}))
        ws.send(json.dumps({
            "@type": "Request",
            "id": "R1",
            "using": [CORE, MAIL],
            "methodCalls": [["Email/get", {"accountId": account, "ids": [], "properties": ["mailboxIds"]}, "c1"]],
        }))
        response = recv(ws)
        assert set(response) == {"@type", "requestId", "methodResponses", "sessionState"}
        assert (response["@type"], response["requestId"]) == ("Response", "R1")
        name, args, call_id = response["methodResponses"][0]
        assert (name, call_id, args["list"]) == ("Email/get", "c1", [])
        # New mail: Email and Mailbox states change (the example's "changed").
        blob = client.upload(MESSAGE, "message/rfc822")["blobId"]
        client.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": {inbox: True}}}})
        change = recv(ws)
        assert set(change) == {"@type", "changed", "pushState"}
        assert change["@type"] == "StateChange" and isinstance(change["pushState"], str)
        states = change["changed"][account]
        while set(states) != {"Email", "Mailbox"}:  # both may come in one push or two
            states.update(recv(ws)["changed"][account])
        assert states["Email"] == client.ok("Email/get", {"ids": []})["state"]
        assert states["Mailbox"] == client.ok("Mailbox/get", {"ids": []})["state"]
        # A malformed request: a RequestError with the request's id.
        ws.send(json.dumps({"@type": "Request", "id": "R2", "using": [CORE], "methodCalls": {}}))
        error = recv(ws)
        assert error["@type"] == "RequestError" and error["requestId"] == "R2"
        assert error["type"] == "urn:ietf:params:jmap:error:notRequest"
        assert error["status"] == 400 and isinstance(error["detail"], str)
