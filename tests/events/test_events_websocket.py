"""JMAP over WebSocket (RFC 8887) with the `websockets` client over a real socket."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

CORE = "urn:ietf:params:jmap:core"
NOTES = "urn:example:notes"


def open_ws(server, client, **kwargs):
    url = client.session["capabilities"]["urn:ietf:params:jmap:websocket"]["url"]
    return connect(
        url,
        subprotocols=["jmap"],
        additional_headers={"Authorization": server.basic(client.user, client.password)},
        open_timeout=10,
        **kwargs,
    )


def recv(ws, timeout=10):
    return json.loads(ws.recv(timeout=timeout))


def request(calls, request_id=None):
    msg = {"@type": "Request", "using": [CORE, NOTES], "methodCalls": calls}
    if request_id is not None:
        msg["id"] = request_id
    return json.dumps(msg)


def test_request_response(fast_server):
    client = fast_server.client()
    with open_ws(fast_server, client) as ws:
        assert ws.subprotocol == "jmap"
        ws.send(request([["Core/echo", {"hello": 1}, "c1"]], "r1"))
        response = recv(ws)
        assert response["@type"] == "Response"
        assert response["requestId"] == "r1"
        assert response["methodResponses"] == [["Core/echo", {"hello": 1}, "c1"]]
        assert response["sessionState"] == client.session["state"]
        # The same method code as POST apiUrl: a real change, in the change log.
        ws.send(
            request(
                [
                    [
                        "Note/set",
                        {"accountId": client.account_id, "create": {"a": {"title": "x"}}},
                        "c2",
                    ]
                ]
            )
        )
        created = recv(ws)
        assert "requestId" not in created
        assert created["methodResponses"][0][1]["created"]["a"]["id"]
        assert client.ok("Note/get", {"ids": None})["list"][0]["title"] == "x"


def test_request_errors(fast_server):
    client = fast_server.client()
    with open_ws(fast_server, client) as ws:
        ws.send("not json")
        problem = recv(ws)
        assert problem["@type"] == "RequestError"
        assert problem["type"] == "urn:ietf:params:jmap:error:notJSON"
        ws.send(json.dumps({"@type": "Request", "id": "bad", "using": "nope", "methodCalls": []}))
        problem = recv(ws)
        assert (problem["type"], problem["requestId"]) == (
            "urn:ietf:params:jmap:error:notRequest",
            "bad",
        )
        ws.send(
            json.dumps(
                {"@type": "Request", "id": "u", "using": ["urn:x:unknown"], "methodCalls": []}
            )
        )
        assert recv(ws)["type"] == "urn:ietf:params:jmap:error:unknownCapability"
        ws.send(json.dumps({"@type": "Gibberish", "id": "g"}))
        assert recv(ws)["requestId"] == "g"


def test_push_enable_disable(fast_server, new_note):
    client = fast_server.client()
    with open_ws(fast_server, client) as ws:
        ws.send(json.dumps({"@type": "WebSocketPushEnable", "dataTypes": ["Note"]}))
        new_note(client)
        change = recv(ws)
        assert change["@type"] == "StateChange"
        assert change["changed"] == {
            client.account_id: {"Note": client.ok("Note/get", {"ids": []})["state"]}
        }
        assert change["pushState"]
        client.ok("NoteFolder/set", {"create": {"f": {"name": "not subscribed"}}})
        ws.send(json.dumps({"@type": "WebSocketPushDisable"}))
        new_note(client)
        ws.send(request([["Core/echo", {}, "c"]], "after"))
        assert recv(ws)["requestId"] == "after"  # and no StateChange came first


def test_push_state_catch_up(fast_server, new_note):
    client = fast_server.client()
    with open_ws(fast_server, client) as ws:
        ws.send(json.dumps({"@type": "WebSocketPushEnable", "dataTypes": None}))
        new_note(client)
        push_state = recv(ws)["pushState"]
    new_note(client, "while disconnected")
    with open_ws(fast_server, client) as ws:
        ws.send(
            json.dumps({"@type": "WebSocketPushEnable", "dataTypes": None, "pushState": push_state})
        )
        change = recv(ws, timeout=3)
        assert change["changed"][client.account_id] == {
            "Note": client.ok("Note/get", {"ids": []})["state"]
        }
        assert change["pushState"] != push_state


def test_change_through_the_socket_is_pushed_to_it(fast_server):
    client = fast_server.client()
    with open_ws(fast_server, client) as ws:
        ws.send(json.dumps({"@type": "WebSocketPushEnable", "dataTypes": ["Note"]}))
        ws.send(
            request(
                [
                    [
                        "Note/set",
                        {"accountId": client.account_id, "create": {"a": {"title": "x"}}},
                        "c",
                    ]
                ],
                "w",
            )
        )
        kinds = {recv(ws)["@type"], recv(ws)["@type"]}
        assert kinds == {"Response", "StateChange"}


def test_handshake_needs_subprotocol_and_credentials(fast_server):
    client = fast_server.client()
    url = client.session["capabilities"]["urn:ietf:params:jmap:websocket"]["url"]
    with pytest.raises(InvalidStatus):
        connect(
            url,
            additional_headers={"Authorization": fast_server.basic(client.user, client.password)},
            open_timeout=5,
        )
    with pytest.raises(InvalidStatus):
        connect(url, subprotocols=["jmap"], open_timeout=5)


def test_url_token_for_websocket(fast_server):
    client = fast_server.client()
    minted = client.http.post("/jmap/eventsource/token", json={"scope": "websocket"}).json()
    url = client.session["capabilities"]["urn:ietf:params:jmap:websocket"]["url"]
    with connect(
        f"{url}?access_token={minted['accessToken']}", subprotocols=["jmap"], open_timeout=5
    ) as ws:
        ws.send(request([["Core/echo", {}, "c"]], "t"))
        assert recv(ws)["requestId"] == "t"
    # An EventSource token does not open the socket (it carries full API access).
    es = client.http.post("/jmap/eventsource/token").json()["accessToken"]
    with pytest.raises(InvalidStatus):
        connect(f"{url}?access_token={es}", subprotocols=["jmap"], open_timeout=5)


def test_refused_handshakes_say_why(make_server):
    """401 without valid credentials, 429 over the per-user cap (not a bare 403)."""
    server = make_server({"events": {"max_connections_per_user": 1}})
    client = server.client()
    url = client.session["capabilities"]["urn:ietf:params:jmap:websocket"]["url"]
    with pytest.raises(InvalidStatus) as refused:
        connect(url, subprotocols=["jmap"], open_timeout=5)
    assert refused.value.response.status_code == 401
    assert b"Basic" in refused.value.response.headers.get("WWW-Authenticate", "").encode()
    with open_ws(server, client) as ws:
        ws.send(request([["Core/echo", {}, "c"]], "t"))
        assert recv(ws)["requestId"] == "t"
        with pytest.raises(InvalidStatus) as over:
            open_ws(server, client)
        assert over.value.response.status_code == 429
        assert over.value.response.headers["Retry-After"] == "30"
