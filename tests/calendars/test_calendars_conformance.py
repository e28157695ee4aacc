"""The conformance kit run on Calendar, CalendarEvent and ParticipantIdentity."""

from __future__ import annotations

import itertools

from jmapd.testing import Conformance, TypeSpec

_names = itertools.count()


def _calendar(client):
    return {"name": f"Calendar {next(_names)}", "color": "teal"}


def _new_calendar(client):
    from jmapd_calendars.testing import ok

    ok(client, "Calendar/set", {"create": {"c": _calendar(client)}})


def _new_event(client):
    from jmapd_calendars.testing import ok

    ok(client, "CalendarEvent/set", {"create": {"e": _event(client)}})


class TestCalendar(Conformance):
    spec = TypeSpec(
        "Calendar",
        "urn:ietf:params:jmap:calendars",
        verbs=frozenset({"get", "changes", "set"}),
        create=_calendar,
        invalid={"name": "", "color": "no such colour"},
        invalid_properties=["name", "color"],
        patch={"name": "Renamed", "sortOrder": 7},
        patched={"name": "Renamed", "sortOrder": 7},
        read_only={"id": "cOther", "isDefault": True, "myRights": {}},
        other_change=_new_event,
    )


def _event(client):
    from jmapd_calendars.testing import calendars

    return {"calendarIds": {calendars(client)[0]["id"]: True}, "title": f"Event {next(_names)}",
            "start": "2025-06-01T10:00:00", "timeZone": "Europe/Paris", "duration": "PT1H"}


def _shared_account(client):
    """Another user's account the client may write (a delegate), with its default calendar."""
    from jmapd_calendars.testing import calendars

    from jmapd.db import ensure_connected
    from jmapd.models import AccountAccess, User

    other = client.server.client()
    calendars(other)
    ensure_connected()
    AccountAccess.create(account=other.account_id, user=User.get(User.name == client.user), read_only=False)
    return other.account_id


def _target_calendar(client, account_id):
    from jmapd_calendars.testing import USING

    calendar_id = client.ok("Calendar/get", {"accountId": account_id, "ids": None}, USING)["list"][0]["id"]
    return {"calendarIds": {calendar_id: True}}


class TestCalendarEvent(Conformance):
    spec = TypeSpec(
        "CalendarEvent",
        "urn:ietf:params:jmap:calendars",
        verbs=frozenset({"get", "changes", "set", "copy", "query", "queryChanges"}),
        create=_event,
        copy_target=_shared_account,
        copy_overrides=_target_calendar,
        filters=[({"title": "event"}, True), ({"uid": "no-such-uid"}, False)],
        sorts=["start", "uid", "recurrenceId", "created", "updated"],
        invalid={"calendarIds": {"cNope": True}, "start": "2025-13-01T00:00:00", "title": "x"},
        invalid_properties=["start"],
        patch={"title": "Renamed", "duration": "PT2H"},
        patched={"title": "Renamed", "duration": "PT2H"},
        read_only={"id": "eOther", "isOrigin": False, "baseEventId": "eOther"},
        reference=("calendarIds{}", "Calendar", _calendar),
        other_change=_new_calendar,
    )


def _identity(client):
    return {"name": f"Me {next(_names)}", "calendarAddress": f"mailto:{client.user}@localhost"}


class TestParticipantIdentity(Conformance):
    spec = TypeSpec(
        "ParticipantIdentity",
        "urn:ietf:params:jmap:calendars",
        verbs=frozenset({"get", "changes", "set"}),
        create=_identity,
        invalid={"calendarAddress": "https://example.com/me"},
        invalid_properties=["calendarAddress"],
        patch={"name": "Renamed"},
        patched={"name": "Renamed"},
        read_only={"id": "pOther", "isDefault": True},
        other_change=_new_calendar,
    )


def _notifications(client):
    """Notifications in the client's account, made by a sharee editing its calendar."""
    from jmapd_calendars.testing import USING, calendars, principal_id

    cal = calendars(client)[0]["id"]
    other = client.server.client()
    client.ok("Calendar/set", {"update": {cal: {f"shareWith/{principal_id(other)}": {
        "mayReadItems": True, "mayReadFreeBusy": True, "mayWriteAll": True}}}}, USING)
    made = other.ok("CalendarEvent/set", {"accountId": client.account_id, "create": {
        "e": {**_event(client), "calendarIds": {cal: True}}}}, USING)["created"]["e"]
    for title in ("Moved", "Moved again"):
        other.ok("CalendarEvent/set", {"accountId": client.account_id, "update": {made["id"]: {"title": title}}}, USING)
    return client.ok("CalendarEventNotification/query", {}, USING)["ids"]


class TestCalendarEventNotification(Conformance):
    spec = TypeSpec(
        "CalendarEventNotification",
        "urn:ietf:params:jmap:calendars",
        existing=_notifications,
        forbidden=frozenset({"create", "update"}),
        filters=[({"type": "created"}, True), ({"calendarEventIds": ["eNoSuchEvent"]}, False)],
        sorts=["created"],
        other_change=_new_calendar,
    )
