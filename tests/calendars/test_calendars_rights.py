"""CalendarRights beyond mayWriteAll (draft §4): mayWriteOwn, mayRSVP,
mayUpdatePrivate per occurrence, the mayWriteAll invariant, with an owner
and a sharee over the real API; and vendor properties on /get."""

from __future__ import annotations

import uuid
from email import policy
from email.parser import BytesParser
from typing import Any

from jmapd_calendars.testing import USING, calendars, ok, principal_id

ATTENDEE = {"attendee": True}


def share(owner: Any, sharee: Any, *names: str, **rights: bool) -> list[str]:
    """Calendars ``names`` of ``owner``, each shared with ``sharee`` (rights by name → those)."""
    made = ok(owner, "Calendar/set", {"create": {n: {"name": n} for n in names}})["created"]
    grant = {"mayReadItems": True, "mayReadFreeBusy": True, **rights}
    for n in names:
        ok(owner, "Calendar/set", {"update": {made[n]["id"]: {f"shareWith/{principal_id(sharee)}": grant}}})
    sharee._session = None
    return [made[n]["id"] for n in names]


def grant(owner: Any, sharee: Any, cal: str, **rights: bool) -> None:
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(sharee)}": {
        "mayReadItems": True, "mayReadFreeBusy": True, **rights}}}})


def as_sharee(sharee: Any, owner: Any, method: str, args: dict[str, Any]) -> dict[str, Any]:
    return sharee.ok(method, {"accountId": owner.account_id, **args}, USING)


def address(client: Any) -> str:
    return f"mailto:{client.user}@localhost"


def event(cal: str, **extra: Any) -> dict[str, Any]:
    return {"calendarIds": {cal: True}, "title": "Sync", "start": "2031-06-02T10:00:00",
            "timeZone": "Europe/Rome", "duration": "PT30M", **extra}


def owned_by(who: str, *others: str) -> dict[str, Any]:
    parts = {"o": {"@type": "Participant", "calendarAddress": who, "roles": {"owner": True, "attendee": True}}}
    for i, other in enumerate(others):
        parts[f"a{i}"] = {"@type": "Participant", "calendarAddress": other, "roles": dict(ATTENDEE),
                          "participationStatus": "needs-action", "expectReply": True}
    return {"participants": parts, "organizerCalendarAddress": who}


def itip(received: Any) -> tuple[str, str]:
    """(METHOD parameter, unfolded iCalendar text) of a relayed iMIP message."""
    message = BytesParser(policy=policy.default).parsebytes(received.content)
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return str(part.get_param("method")), part.get_content().replace("\r\n ", "")


def refused(result: dict[str, Any], key: str, verb: str) -> str:
    errors = result[{"create": "notCreated", "update": "notUpdated", "destroy": "notDestroyed"}[verb]] or {}
    assert key in errors, result
    return str(errors[key]["type"])


# -- mayWriteOwn ---------------------------------------------------------------
def test_may_write_own_writes_events_the_user_owns_or_nobody_owns(jmap_server):
    owner, sharee = jmap_server.client(), jmap_server.client()
    (cal,) = share(owner, sharee, "Team", mayWriteOwn=True)
    me, them = address(sharee), address(owner)
    made = as_sharee(sharee, owner, "CalendarEvent/set", {"create": {
        "free": event(cal), "mine": event(cal, **owned_by(me)), "theirs": event(cal, **owned_by(them))}})
    assert set(made["created"]) == {"free", "mine"}, made
    assert refused(made, "theirs", "create") == "forbidden"
    free, mine = made["created"]["free"]["id"], made["created"]["mine"]["id"]
    other = ok(owner, "CalendarEvent/set", {"create": {"e": event(cal, **owned_by(them))}})["created"]["e"]["id"]

    done = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {
        free: {"title": "Free for all"}, mine: {"title": "Mine"}, other: {"title": "Not mine"}}})
    assert set(done["updated"]) == {free, mine} and refused(done, other, "update") == "forbidden"
    assert refused(as_sharee(sharee, owner, "CalendarEvent/set", {"destroy": [other]}), other, "destroy") == "forbidden"
    got = {e["id"]: e["title"] for e in ok(owner, "CalendarEvent/get", {"ids": [free, mine, other]})["list"]}
    assert got == {free: "Free for all", mine: "Mine", other: "Sync"}

    # ownership may be handed on; after that the event is no longer theirs to change
    handed = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {mine: {"participants/o/calendarAddress": them}}})
    assert mine in handed["updated"], handed
    again = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {mine: {"title": "Mine again"}}})
    assert refused(again, mine, "update") == "forbidden"
    # an owner-less event is anyone's with mayWriteOwn, to destroy too
    assert as_sharee(sharee, owner, "CalendarEvent/set", {"destroy": [free]})["destroyed"] == [free]


def test_may_write_own_is_needed_for_anything_but_reading(jmap_server):
    """Negative control: mayReadItems alone writes nothing, owned or not."""
    owner, sharee = jmap_server.client(), jmap_server.client()
    (cal,) = share(owner, sharee, "Team")
    made = as_sharee(sharee, owner, "CalendarEvent/set", {"create": {"e": event(cal, **owned_by(address(sharee)))}})
    assert refused(made, "e", "create") == "forbidden"
    grant(owner, sharee, cal, mayWriteOwn=True)
    assert "e" in as_sharee(sharee, owner, "CalendarEvent/set", {"create": {
        "e": event(cal, **owned_by(address(sharee)))}})["created"]


def test_moving_an_event_needs_write_rights_on_both_calendars(jmap_server):
    owner, sharee = jmap_server.client(), jmap_server.client()
    own_cal, all_cal, read_cal = share(owner, sharee, "Own", "All", "Read")
    grant(owner, sharee, own_cal, mayWriteOwn=True)
    grant(owner, sharee, all_cal, mayWriteAll=True)
    me, them = address(sharee), address(owner)
    made = as_sharee(sharee, owner, "CalendarEvent/set", {"create": {
        "m": event(own_cal, **owned_by(me)), "t": event(all_cal, **owned_by(them))}})["created"]
    mine, theirs = made["m"]["id"], made["t"]["id"]
    moves = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {
        mine: {"calendarIds": {all_cal: True}},           # theirs to take out of Own, All takes anything
        theirs: {"calendarIds": {own_cal: True}}}})       # Own takes only their own events
    assert mine in moves["updated"] and refused(moves, theirs, "update") == "forbidden"
    into_read = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {mine: {"calendarIds": {read_cal: True}}}})
    assert refused(into_read, mine, "update") == "forbidden"
    # an event also in a calendar they only read: changing it needs rights there too
    both = ok(owner, "CalendarEvent/set", {"create": {"b": {**event(all_cal), "calendarIds": {
        all_cal: True, read_cal: True}}}})["created"]["b"]["id"]
    assert refused(as_sharee(sharee, owner, "CalendarEvent/set", {"update": {both: {"title": "x"}}}),
                   both, "update") == "forbidden"
    # ... but taking it out of the one they may write is theirs to do
    out = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {both: {f"calendarIds/{all_cal}": None}}})
    assert both in out["updated"], out
    final = {e["id"]: e["calendarIds"] for e in ok(owner, "CalendarEvent/get", {"ids": [mine, theirs, both]})["list"]}
    assert final == {mine: {all_cal: True}, theirs: {all_cal: True}, both: {read_cal: True}}


# -- mayRSVP -------------------------------------------------------------------
def test_may_rsvp_changes_only_the_users_own_answer(jmap_server):
    owner, sharee = jmap_server.client(), jmap_server.client()
    (cal,) = share(owner, sharee, "Team", mayRSVP=True)
    guest = f"mailto:guest-{uuid.uuid4().hex[:6]}@example.net"
    rid = "2031-06-09T10:00:00"
    series = event(cal, recurrenceRule={"@type": "RecurrenceRule", "frequency": "weekly", "count": 4},
                   **owned_by(address(owner), address(sharee), guest))
    event_id = ok(owner, "CalendarEvent/set", {"create": {"e": series}})["created"]["e"]["id"]
    answer = {"participants/a0/participationStatus": "accepted", "participants/a0/expectReply": False,
              "participants/a0/scheduleSequence": 1, "participants/a0/scheduleUpdated": "2031-05-01T00:00:00Z"}
    done = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {event_id: answer}})
    assert event_id in (done["updated"] or {}), done["notUpdated"]
    got = ok(owner, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert got["participants"]["a0"]["participationStatus"] == "accepted"
    assert got["participants"]["a0"]["expectReply"] is False

    # per occurrence, as an override patch of the base event and through the instance id
    patch = {"recurrenceOverrides": {rid: {"participants/a0/participationStatus": "tentative"}}}
    done = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {event_id: patch}})
    assert event_id in (done["updated"] or {}), done["notUpdated"]
    instance = f"{event_id}_{rid.replace('-', '').replace(':', '')}"
    done = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {
        instance: {"participants/a0/participationStatus": "declined"}}})
    assert instance in done["updated"], done
    got = ok(owner, "CalendarEvent/get", {"ids": [instance]})["list"][0]
    assert got["participants"]["a0"]["participationStatus"] == "declined" and got["title"] == "Sync"

    for change in ({"title": "Mine now"},
                   {"participants/a1/participationStatus": "accepted"},     # someone else's answer
                   {"participants/a0/roles/owner": True},                   # more than an answer
                   {"participants/a0/participationStatus": "accepted", "title": "and this"},
                   {f"recurrenceOverrides/{rid}": {"title": "Moved"}},
                   {"recurrenceOverrides/2031-06-10T10:00:00": {"participants/a0/participationStatus": "accepted"}}):
        result = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {event_id: change}})
        assert refused(result, event_id, "update") == "forbidden", change
    # without mayRSVP the answer is not theirs either
    grant(owner, sharee, cal)
    result = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {event_id: {
        "participants/a0/participationStatus": "declined"}}})
    assert refused(result, event_id, "update") == "forbidden"


def test_rsvp_of_a_sharee_sends_their_reply_to_the_organizer(relay, make_server):
    """Draft §5.5.1 REPLY: the server is not the origin (the organizer is
    remote) and the user's own participant answered: a REPLY from the
    sharee's address, for the series and then for one occurrence."""
    server = make_server({"submission": relay.config()})
    owner, sharee = server.client(), server.client()
    (cal,) = share(owner, sharee, "Team", mayRSVP=True)
    boss = f"boss-{uuid.uuid4().hex[:6]}@example.net"
    me = f"{sharee.user}@localhost"
    invite = event(cal, recurrenceRule={"@type": "RecurrenceRule", "frequency": "weekly", "count": 4},
                   **owned_by(f"mailto:{boss}", address(owner), f"mailto:{me}"))
    made = ok(owner, "CalendarEvent/set", {"create": {"i": invite}})["created"]["i"]
    assert made["isOrigin"] is False
    event_id = made["id"]
    done = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {event_id: {
        "participants/a1/participationStatus": "accepted"}}, "sendSchedulingMessages": True})
    assert event_id in (done["updated"] or {}), done["notUpdated"]
    [received] = relay.wait(lambda r: boss in r.rcpt_tos)
    method, ics = itip(received)
    assert method == "REPLY" and received.mail_from == me
    assert f"mailto:{me}".upper() in ics.upper() and "PARTSTAT=ACCEPTED" in ics and "RECURRENCE-ID" not in ics
    done = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {event_id: {"recurrenceOverrides": {
        "2031-06-09T10:00:00": {"participants/a1/participationStatus": "declined"}}}}, "sendSchedulingMessages": True})
    assert event_id in (done["updated"] or {}), done["notUpdated"]
    method, ics = itip(relay.wait(lambda r: boss in r.rcpt_tos and r is not received)[0])
    assert method == "REPLY" and "PARTSTAT=DECLINED" in ics and "RECURRENCE-ID;TZID=Europe/Rome:20310609T100000" in ics, ics


# -- mayUpdatePrivate ----------------------------------------------------------
def test_may_update_private_on_an_occurrence_without_an_override(jmap_server):
    owner, sharee = jmap_server.client(), jmap_server.client()
    (cal,) = share(owner, sharee, "Team", mayUpdatePrivate=True)
    rid = "2031-06-16T10:00:00"
    series = event(cal, recurrenceRule={"@type": "RecurrenceRule", "frequency": "weekly", "count": 4})
    event_id = ok(owner, "CalendarEvent/set", {"create": {"e": series}})["created"]["e"]["id"]
    done = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {event_id: {
        "recurrenceOverrides": {rid: {"color": "red"}}}}})
    assert event_id in (done["updated"] or {}), done["notUpdated"]
    seen = as_sharee(sharee, owner, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert seen["recurrenceOverrides"] == {rid: {"color": "red"}}
    own = ok(owner, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert not own["recurrenceOverrides"], own["recurrenceOverrides"]
    # not a title, nor an extra occurrence, with mayUpdatePrivate alone
    for change in ({f"recurrenceOverrides/{rid}": {"color": "red", "title": "Mine"}},
                   {"recurrenceOverrides/2031-06-17T10:00:00": {"color": "red"}}):
        result = as_sharee(sharee, owner, "CalendarEvent/set", {"update": {event_id: change}})
        assert refused(result, event_id, "update") == "forbidden", change


# -- the invariant of mayWriteAll ---------------------------------------------
def test_may_write_all_implies_the_lesser_write_rights(jmap_server):
    owner, sharee = jmap_server.client(), jmap_server.client()
    cal = ok(owner, "Calendar/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
    pid = principal_id(sharee)
    done = ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{pid}": {"mayReadItems": True, "mayWriteAll": True}}}})
    stored = ok(owner, "Calendar/get", {"ids": [cal]})["list"][0]["shareWith"][pid]
    assert {r: stored[r] for r in ("mayWriteAll", "mayWriteOwn", "mayUpdatePrivate", "mayRSVP")} == dict.fromkeys(
        ("mayWriteAll", "mayWriteOwn", "mayUpdatePrivate", "mayRSVP"), True)
    assert stored["mayShare"] is False and stored["mayDelete"] is False
    # RFC 8620 §5.3: what the server changed of what was set is reported
    assert done["updated"][cal]["shareWith"][pid] == stored, done
    sharee._session = None
    rights = as_sharee(sharee, owner, "Calendar/get", {"ids": [cal]})["list"][0]["myRights"]
    assert rights["mayWriteOwn"] and rights["mayUpdatePrivate"] and rights["mayRSVP"]


# -- vendor properties ---------------------------------------------------------
def test_get_with_null_properties_returns_vendor_properties(client):
    cal = calendars(client)[0]["id"]
    made = ok(client, "CalendarEvent/set", {"create": {"e": event(cal, **{"example.com:room": {"floor": 3}})}})
    event_id = made["created"]["e"]["id"]
    got = ok(client, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert got["example.com:room"] == {"floor": 3} and got["title"] == "Sync"
    named = ok(client, "CalendarEvent/get", {"ids": [event_id], "properties": ["title"]})["list"][0]
    assert named == {"id": event_id, "title": "Sync"}
