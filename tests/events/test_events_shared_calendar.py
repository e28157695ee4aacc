"""Push for a shared calendar (RFC 8620 §7.1 over the events plugin): the
sharee's EventSource hears the owner's changes to events it can see."""

from __future__ import annotations

from jmapd_calendars.testing import USING, ok, principal_id

TYPES = "/jmap/eventsource?types=CalendarEvent&closeafter=no&ping=0"


def test_sharee_hears_the_owners_edit_of_a_shared_event(fast_server, sse):
    owner, sharee, stranger = fast_server.client(), fast_server.client(), fast_server.client()
    cal = ok(owner, "Calendar/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(sharee)}": {
        "mayReadItems": True, "mayReadFreeBusy": True}}}})
    event = {"calendarIds": {cal: True}, "title": "Planning", "start": "2031-05-06T10:00:00",
             "timeZone": "Europe/Paris", "duration": "PT1H"}
    event_id = ok(owner, "CalendarEvent/set", {"create": {"e": event}})["created"]["e"]["id"]
    sharee._session = None
    assert owner.account_id in sharee.session["accounts"]
    heard = sse(sharee.http, TYPES)
    unrelated = sse(stranger.http, TYPES)
    heard.wait_id()
    unrelated.wait_id()

    ok(owner, "CalendarEvent/set", {"update": {event_id: {"title": "Planning (moved)"}}})
    change = heard.next()
    state = sharee.ok("CalendarEvent/get", {"accountId": owner.account_id, "ids": [event_id]}, USING)
    assert change["@type"] == "StateChange"
    assert change["changed"] == {owner.account_id: {"CalendarEvent": state["state"]}}
    assert state["list"][0]["title"] == "Planning (moved)"
    # what the state change announces is there to fetch
    since = sharee.ok("CalendarEvent/changes", {"accountId": owner.account_id, "sinceState": "0"}, USING)
    assert event_id in since["created"] + since["updated"]

    # the stranger hears nothing of it: the positive control is their own
    # change, the first event their stream carries
    mine = ok(stranger, "CalendarEvent/set", {"create": {"e": {**event, "calendarIds": {
        ok(stranger, "Calendar/get", {"ids": None})["list"][0]["id"]: True}}}})
    assert mine["created"]
    assert set(unrelated.next()["changed"]) == {stranger.account_id}
