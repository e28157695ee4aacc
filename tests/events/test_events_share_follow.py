"""A push channel follows shares granted and revoked while it is open
(issue #11): no reconnect needed to hear a newly shared account, and a
revoked share's changes stop at once."""

from __future__ import annotations

from jmapd_calendars.testing import ok, principal_id

ALL = "/jmap/eventsource?types=*&closeafter=no&ping=0"


def next_with(stream, account_id, type_name=None):
    """The first StateChange naming ``account_id`` (and ``type_name``)."""
    for _ in range(10):
        change = stream.next()
        got = change["changed"].get(account_id)
        if got is not None and (type_name is None or type_name in got):
            return change
    raise AssertionError(f"no change for {account_id} {type_name}")


def test_stream_follows_a_share_granted_and_revoked(fast_server, sse):
    owner, sharee = fast_server.client(), fast_server.client()
    stream = sse(sharee.http, ALL)
    stream.wait_id()
    event = {"title": "Planning", "start": "2031-05-06T10:00:00", "timeZone": "Europe/Paris", "duration": "PT1H"}

    # granted after the stream opened: announced, and then heard
    cal = ok(owner, "Calendar/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(sharee)}": {"mayReadItems": True}}}})
    next_with(stream, owner.account_id)
    ok(owner, "CalendarEvent/set", {"create": {"e": {**event, "calendarIds": {cal: True}}}})
    change = next_with(stream, owner.account_id, "CalendarEvent")
    assert change["changed"][owner.account_id]["CalendarEvent"] == ok(
        owner, "CalendarEvent/get", {"ids": []})["state"]

    # revoked: the sharee is told (their ShareNotification) ...
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(sharee)}": None}}})
    next_with(stream, sharee.account_id, "ShareNotification")
    # ... and hears nothing more of the owner's account: the first change
    # after the owner's is the sharee's own (the positive control)
    ok(owner, "CalendarEvent/set", {"create": {"e": {**event, "calendarIds": {cal: True}}}})
    mine = ok(sharee, "Calendar/get", {"ids": None})["list"][0]["id"]
    ok(sharee, "CalendarEvent/set", {"create": {"e": {**event, "calendarIds": {mine: True}}}})
    assert set(stream.next()["changed"]) == {sharee.account_id}


def test_websocket_push_follows_a_share(fast_server):
    import json

    from .test_events_websocket import open_ws, recv

    owner, sharee = fast_server.client(), fast_server.client()
    event = {"title": "Review", "start": "2031-05-07T10:00:00", "timeZone": "Europe/Paris", "duration": "PT1H"}
    cal = ok(owner, "Calendar/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
    with open_ws(fast_server, sharee) as ws:
        ws.send(json.dumps({"@type": "WebSocketPushEnable", "dataTypes": None}))
        ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(sharee)}": {"mayReadItems": True}}}})
        ok(owner, "CalendarEvent/set", {"create": {"e": {**event, "calendarIds": {cal: True}}}})
        state = ok(owner, "CalendarEvent/get", {"ids": []})["state"]
        for _ in range(10):
            change = recv(ws)
            if change["changed"].get(owner.account_id, {}).get("CalendarEvent") == state:
                break
        else:
            raise AssertionError("the shared account's change never arrived")
