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


def test_stream_follows_a_delegation_from_the_command_line(fast_server, sse, tmp_path, jmapd_database, jmapd_data_dir):
    """``jmapd share grant`` in another process reaches an open stream (and
    the session state), ``revoke`` stops it — no reconnect."""
    import os
    import subprocess
    import sys

    config = tmp_path / "jmapd.yaml"
    config.write_text(f"server:\n  data_dir: {jmapd_data_dir}\ndatabase:\n  url: {jmapd_database}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}

    def share(*args):
        subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "share", *args],
                       check=True, capture_output=True, env=env, timeout=120)

    owner, sharee = fast_server.client(), fast_server.client()
    inbox = owner.ok("Mailbox/get", {"ids": None})["list"][0]
    stream = sse(sharee.http, ALL)
    stream.wait_id()
    session_state = sharee.request([["Core/echo", {}, "0"]])["sessionState"]

    share("grant", owner.user, "--to", sharee.user, "--rights", "read")
    announced = next_with(stream, owner.account_id, "Mailbox")
    shared_state = sharee.ok("Mailbox/get", {"accountId": owner.account_id, "ids": []})["state"]
    assert announced["changed"][owner.account_id]["Mailbox"] == shared_state
    assert sharee.request([["Core/echo", {}, "0"]])["sessionState"] != session_state
    notes = sharee.ok("ShareNotification/get", {"ids": None})["list"]
    note = next(n for n in notes if n["objectId"] == inbox["id"])
    assert (note["objectType"], note["objectAccountId"], note["oldRights"]) == ("Mailbox", owner.account_id, None)
    assert note["newRights"]["mayReadItems"] and not note["newRights"]["mayDelete"]
    assert note["changedBy"]["principalId"] is None
    # then heard like any account of theirs
    owner.ok("Mailbox/set", {"create": {"m": {"name": "Projects"}}})
    change = next_with(stream, owner.account_id, "Mailbox")
    assert change["changed"][owner.account_id]["Mailbox"] == owner.ok("Mailbox/get", {"ids": []})["state"]

    # revoked: told through their ShareNotification, and the owner's account is heard no more
    share("revoke", owner.user, "--to", sharee.user)
    next_with(stream, sharee.account_id, "ShareNotification")
    owner.ok("Mailbox/set", {"create": {"m": {"name": "Later"}}})
    sharee.ok("Mailbox/set", {"create": {"m": {"name": "Mine"}}})
    assert set(stream.next()["changed"]) == {sharee.account_id}
    assert owner.account_id not in sharee.http.get("/.well-known/jmap").json()["accounts"]
