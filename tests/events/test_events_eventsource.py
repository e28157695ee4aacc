"""EventSource (RFC 8620 §7.3) over real sockets against a real server."""

from __future__ import annotations

import httpx

from jmapd.testing import wait_for

NOTES_URL = "/jmap/eventsource?types=Note&closeafter=no&ping=0"


def test_session_advertises_push(fast_server):
    client = fast_server.client()
    session = client.session
    assert session["eventSourceUrl"].endswith(
        "/jmap/eventsource?types={types}&closeafter={closeafter}&ping={ping}"
    )
    ws = session["capabilities"]["urn:ietf:params:jmap:websocket"]
    assert ws == {"url": f"ws://127.0.0.1:{fast_server.port}/jmap/ws", "supportsPush": True}
    key = session["capabilities"]["urn:ietf:params:jmap:webpush-vapid"]["applicationServerKey"]
    assert len(key) == 87  # 65-octet uncompressed point, unpadded base64url


def test_state_event_on_change(fast_server, sse, new_note):
    client = fast_server.client()
    stream = sse(client.http, NOTES_URL)
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-cache"
    new_note(client)
    change = stream.next()
    assert change["@type"] == "StateChange"
    state = client.ok("Note/get", {"ids": []})["state"]
    assert change["changed"] == {client.account_id: {"Note": state}}
    assert stream.last_id and client.account_id in stream.last_id


def test_types_filter_and_coalescing(fast_server, sse, new_note):
    client = fast_server.client()
    folders = sse(client.http, "/jmap/eventsource?types=NoteFolder&closeafter=no&ping=0")
    everything = sse(client.http, "/jmap/eventsource?types=*&closeafter=no&ping=0")
    new_note(client)
    assert set(everything.next()["changed"][client.account_id]) == {"Note"}
    # The positive control: the folder change is the first thing the folders
    # stream hears; had the Note change reached it, it would have come first
    # (or been coalesced into this event).
    client.ok("NoteFolder/set", {"create": {"f": {"name": "work"}}})
    assert set(folders.next()["changed"][client.account_id]) == {"NoteFolder"}


def test_other_users_changes_are_not_seen(fast_server, sse, new_note):
    alice, bob = fast_server.client(), fast_server.client()
    stream = sse(alice.http, "/jmap/eventsource?types=*&closeafter=no&ping=0")
    new_note(bob)
    # The positive control: alice's own change is the first event she gets.
    new_note(alice)
    assert stream.next()["changed"] == {alice.account_id: {"Note": alice.ok("Note/get", {"ids": []})["state"]}}


def test_closeafter_state_ends_the_response(fast_server, sse, new_note):
    client = fast_server.client()
    stream = sse(client.http, "/jmap/eventsource?types=*&closeafter=state&ping=0")
    new_note(client)
    stream.next()
    assert stream.closed.wait(5)


def test_ping_is_clamped_and_has_no_id(make_server, sse):
    server = make_server({"events": {"ping_min": 2}})
    client = server.client()
    stream = sse(client.http, "/jmap/eventsource?types=*&closeafter=no&ping=1")
    first_id = stream.wait_id()
    assert stream.next("ping", timeout=6) == {"interval": 2}
    assert stream.last_id == first_id  # a ping MUST NOT set a new event id


def test_ping_zero_sends_no_pings(fast_server, sse):
    client = fast_server.client()
    stream = sse(client.http, "/jmap/eventsource?types=*&closeafter=no&ping=0")
    # The positive control: a stream opened later with ping=1 is pinged, so
    # the first stream was open long enough to have been pinged too.
    control = sse(client.http, "/jmap/eventsource?types=*&closeafter=no&ping=1")
    assert control.next("ping", timeout=10) == {"interval": 1}
    stream.none("ping")


def test_bad_parameters_are_refused(fast_server):
    client = fast_server.client()
    for query in (
        "types=&closeafter=no&ping=0",
        "types=*&closeafter=maybe&ping=0",
        "types=*&closeafter=no&ping=-1",
    ):
        assert client.http.get(f"/jmap/eventsource?{query}").status_code == 400


def test_last_event_id_reconnect(fast_server, sse, new_note):
    client = fast_server.client()
    new_note(client, "before")
    stream = sse(client.http, NOTES_URL)
    last_id = stream.wait_id()  # given at once, so a reconnect can catch up
    stream.close()
    # Unchanged since that id: nothing is sent on reconnect.
    quiet = sse(client.http, NOTES_URL, {"Last-Event-ID": last_id})
    # The positive control: the first event on it is a change made now, not a
    # replay of the state the id already named.
    new_note(client, "while listening")
    assert quiet.next()["changed"] == {client.account_id: {"Note": client.ok("Note/get", {"ids": []})["state"]}}
    quiet.close()
    new_note(client, "while away")
    state = client.ok("Note/get", {"ids": []})["state"]
    again = sse(client.http, NOTES_URL, {"Last-Event-ID": last_id})
    change = again.next(timeout=2)
    assert change["changed"] == {client.account_id: {"Note": state}}
    assert again.last_id != last_id


def test_change_on_another_server_reaches_the_stream(fast_server, jmap_server, sse, new_note):
    """Two app instances on one database stand in for two workers."""
    user, password = fast_server.make_user()
    watcher = fast_server.client(user, password)
    writer = jmap_server.client(user, password)
    stream = sse(watcher.http, NOTES_URL)
    new_note(writer)
    change = stream.next(timeout=5)
    assert (
        change["changed"][writer.account_id]["Note"] == writer.ok("Note/get", {"ids": []})["state"]
    )


def test_url_token_for_browsers(fast_server, sse, new_note):
    client = fast_server.client()
    resp = client.http.post("/jmap/eventsource/token")
    assert resp.status_code == 201, resp.text
    minted = resp.json()
    assert minted["scope"] == "eventsource" and minted["expiresIn"] > 0
    token = minted["accessToken"]
    anonymous = httpx.Client(base_url=fast_server.url, timeout=10)
    try:
        stream = sse(anonymous, f"{NOTES_URL}&access_token={token}")
        assert stream.status == 200
        new_note(client)
        assert client.account_id in stream.next()["changed"]
        # Single purpose: not an API credential, not even as a bearer token.
        api = anonymous.post(
            "/jmap/api",
            json={"using": [], "methodCalls": []},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert api.status_code == 401
        assert (
            anonymous.post(
                f"/jmap/api?access_token={token}", json={"using": [], "methodCalls": []}
            ).status_code
            == 401
        )
        # A URL token cannot mint another.
        assert anonymous.post(f"/jmap/eventsource/token?access_token={token}").status_code == 401
        assert anonymous.get(f"{NOTES_URL}&access_token=nope").status_code == 401
        assert anonymous.get(NOTES_URL).status_code == 401
    finally:
        anonymous.close()


def test_connection_limit_per_user(make_server, sse):
    server = make_server({"events": {"max_connections_per_user": 2, "keepalive": 1}})
    client = server.client()
    first = sse(client.http, NOTES_URL)
    second = sse(client.http, NOTES_URL)
    assert first.status == second.status == 200
    assert client.http.get(NOTES_URL).status_code == 429
    first.close()
    # Freed once the server notices (keepalive, 1 s here).
    third = wait_for(lambda: sse(client.http, NOTES_URL), lambda s: s.status == 200, timeout=10, interval=0.3)
    assert third.status == 200, "the closed stream's slot was never released"


def test_scoped_app_password_as_basic_password(fast_server, sse, new_note):
    """#9.11: an app password limited to the EventSource is a Basic password
    there (and events arrive), but not for the API: the scope is kept."""
    from jmapd.auth import create_token
    from jmapd.db import ensure_connected
    from jmapd.models import User

    client = fast_server.client()
    ensure_connected()
    token = create_token(User.get(User.name == client.user), "es-basic", scope="eventsource", ttl=600)
    basic = httpx.Client(base_url=client.http.base_url, auth=(client.user, token), timeout=10)
    assert basic.get("/.well-known/jmap").status_code == 401
    stream = sse(basic, "/jmap/eventsource?types=*&closeafter=no&ping=0")
    assert stream.status == 200
    stream.wait_id()
    new_note(client)
    assert "Note" in stream.next()["changed"][client.account_id]
    wrong = httpx.Client(base_url=client.http.base_url, auth=(client.user, token[:-1] + "x"), timeout=10)
    assert wrong.get("/jmap/eventsource?types=*&closeafter=state&ping=0").status_code == 401
