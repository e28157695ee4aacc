"""Principal changes reach push channels (RFC 8620 §7.1 with RFC 9670).

Principals are read in every personal account but logged once, in the
directory account, which is nobody's: a channel hears that log's changes as
a change of ``Principal`` in each of its accounts that has the principals
capability, with the state Principal/get answers there."""

from __future__ import annotations

import json

from .test_events_share_follow import next_with
from .test_events_websocket import open_ws, recv, request

ALL = "/jmap/eventsource?types=*&closeafter=no&ping=0"


def rename(client, name):
    me = client.session["accounts"][client.account_id]["accountCapabilities"]["urn:ietf:params:jmap:principals"]
    result = client.ok("Principal/set", {"update": {me["currentUserPrincipalId"]: {"name": name}}})
    assert result["updated"], result


def principal_state(client):
    return client.ok("Principal/get", {"ids": []})["state"]


def test_another_users_principal_change_reaches_an_open_stream(fast_server, sse):
    watcher, other = fast_server.client(), fast_server.client()
    stream = sse(watcher.http, ALL)
    stream.wait_id()
    before = principal_state(watcher)

    rename(other, "Other Person")
    change = next_with(stream, watcher.account_id, "Principal")
    after = principal_state(watcher)
    assert after != before
    assert change["changed"][watcher.account_id]["Principal"] == after
    # the directory account itself is nobody's: it is never named
    assert all(account in watcher.session["accounts"] for account in change["changed"])


def test_principal_changes_honour_the_types_filter_and_the_last_event_id(fast_server, sse):
    watcher, other = fast_server.client(), fast_server.client()
    only_notes = sse(watcher.http, "/jmap/eventsource?types=Note&closeafter=no&ping=0")
    only_principals = sse(watcher.http, "/jmap/eventsource?types=Principal&closeafter=no&ping=0")
    only_notes.wait_id()
    only_principals.wait_id()

    rename(other, "First")
    got = only_principals.next()
    assert got["changed"] == {watcher.account_id: {"Principal": principal_state(watcher)}}
    # a Note of the watcher's own is the positive control for the Note-only
    # stream: it arrives first, so no Principal change came before it
    watcher.ok("Note/set", {"create": {"n": {"title": "control"}}})
    assert set(only_notes.next()["changed"][watcher.account_id]) == {"Note"}

    # reconnecting with the last event id hears what changed meanwhile
    last = only_principals.wait_id()
    only_principals.close()
    rename(other, "Second")
    again = sse(watcher.http, "/jmap/eventsource?types=Principal&closeafter=no&ping=0", {"Last-Event-ID": last})
    assert again.next()["changed"][watcher.account_id]["Principal"] == principal_state(watcher)


def test_principal_changes_reach_a_websocket_push_channel(fast_server):
    watcher, other = fast_server.client(), fast_server.client()
    with open_ws(fast_server, watcher) as ws:
        ws.send(json.dumps({"@type": "WebSocketPushEnable", "dataTypes": ["Principal"]}))
        # messages on one socket are handled in order: once this answers, push is on
        ws.send(request([["Core/echo", {}, "c1"]], "r1"))
        assert recv(ws)["@type"] == "Response"
        rename(other, "Over WebSocket")
        change = recv(ws)
        assert change["@type"] == "StateChange"
        assert change["changed"] == {watcher.account_id: {"Principal": principal_state(watcher)}}
