"""Alerts, useDefaultAlerts, default alerts and the per-user event properties
(draft §5.3 per-user properties, §6 alerts), with an owner and a sharee."""

from __future__ import annotations

from typing import Any

from jmapd_calendars.testing import USING, calendars, ok, principal_id

ALERT = {"@type": "Alert", "trigger": {"@type": "OffsetTrigger", "offset": "-PT15M"}, "action": "display"}


def shared(jmap_server: Any, **rights: bool) -> tuple[Any, Any, str]:
    owner, sharee = jmap_server.client(), jmap_server.client()
    cal = ok(owner, "Calendar/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
    grant = {"mayReadItems": True, "mayReadFreeBusy": True, **rights}
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(sharee)}": grant}}})
    sharee._session = None
    return owner, sharee, cal


def as_sharee(client: Any, account_id: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
    return client.ok(method, {"accountId": account_id, **args}, USING)


def event(cal: str, **extra: Any) -> dict[str, Any]:
    return {"calendarIds": {cal: True}, "title": "Review", "start": "2031-04-01T14:00:00",
            "timeZone": "Europe/London", "duration": "PT1H", **extra}


def test_alerts_and_use_default_alerts_are_stored_and_returned(client):
    cal = calendars(client)[0]["id"]
    ok(client, "Calendar/set", {"update": {cal: {"defaultAlertsWithTime": {"d1": ALERT},
                                                 "defaultAlertsWithoutTime": {"d2": {**ALERT, "trigger": {
                                                     "@type": "OffsetTrigger", "offset": "PT9H"}}}}}})
    got = ok(client, "Calendar/get", {"ids": [cal]})["list"][0]
    assert got["defaultAlertsWithTime"] == {"d1": ALERT} and got["defaultAlertsWithoutTime"]["d2"]["trigger"]["offset"] == "PT9H"
    plain = ok(client, "CalendarEvent/set", {"create": {"p": event(cal)}})["created"]["p"]["id"]
    made = ok(client, "CalendarEvent/set", {"create": {"e": event(cal, useDefaultAlerts=True, alerts={"a1": ALERT},
                                                                   mayInviteSelf=True)}})["created"]["e"]["id"]
    by_id = {e["id"]: e for e in ok(client, "CalendarEvent/get", {"ids": [plain, made]})["list"]}
    assert by_id[plain]["useDefaultAlerts"] is False and by_id[plain]["alerts"] is None
    assert by_id[plain]["mayInviteSelf"] is False and by_id[plain]["hideAttendees"] is False
    assert by_id[made]["useDefaultAlerts"] is True and by_id[made]["mayInviteSelf"] is True
    assert by_id[made]["alerts"]["a1"]["trigger"]["offset"] == "-PT15M"
    # acknowledging a default alert adds it to the event's alerts with the calendar default's id (draft §6.2)
    ok(client, "CalendarEvent/set", {"update": {made: {"alerts/d1": {**ALERT, "acknowledged": "2031-04-01T13:45:00Z"}}}})
    again = ok(client, "CalendarEvent/get", {"ids": [made], "properties": ["alerts", "useDefaultAlerts"]})["list"][0]
    assert again["alerts"]["d1"]["acknowledged"] == "2031-04-01T13:45:00Z" and again["useDefaultAlerts"] is True
    bad = ok(client, "CalendarEvent/set", {"update": {made: {"useDefaultAlerts": "yes",
                                                             "alerts/a1/acknowledged": "soon"}}})["notUpdated"][made]
    assert bad["type"] == "invalidProperties" and "useDefaultAlerts" in bad["properties"]


def test_sharees_keep_their_own_per_user_properties(jmap_server):
    owner, sharee, cal = shared(jmap_server, mayUpdatePrivate=True)
    acct = owner.account_id
    mine = {"keywords": {"work": True}, "color": "red", "freeBusyStatus": "free", "useDefaultAlerts": True,
            "alerts": {"a1": ALERT}}
    event_id = ok(owner, "CalendarEvent/set", {"create": {"e": event(cal, **mine)}})["created"]["e"]["id"]
    seen = as_sharee(sharee, acct, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    # sharees start from the defaults, not the owner's values
    assert seen["title"] == "Review" and seen["keywords"] is None and seen["color"] is None
    assert seen["alerts"] is None and seen["useDefaultAlerts"] is False and seen["freeBusyStatus"] is None

    theirs = {"keywords": {"later": True}, "color": "blue", "alerts": {"b1": {**ALERT, "acknowledged": "2031-04-01T13:46:00Z"}}}
    done = as_sharee(sharee, acct, "CalendarEvent/set", {"update": {event_id: theirs}})
    assert event_id in done["updated"], done
    seen = as_sharee(sharee, acct, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert seen["keywords"] == {"later": True} and seen["color"] == "blue"
    assert seen["alerts"]["b1"]["acknowledged"] == "2031-04-01T13:46:00Z" and seen["useDefaultAlerts"] is False
    own = ok(owner, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert {k: own[k] for k in mine} == mine and own["alerts"]["a1"].get("acknowledged") is None

    # the owner acknowledging theirs leaves the sharee's alone, and the reverse
    ok(owner, "CalendarEvent/set", {"update": {event_id: {"alerts/a1/acknowledged": "2031-04-01T13:45:00Z"}}})
    as_sharee(sharee, acct, "CalendarEvent/set", {"update": {event_id: {"alerts/b1/acknowledged": "2031-04-01T13:50:00Z"}}})
    own = ok(owner, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    seen = as_sharee(sharee, acct, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert own["alerts"] == {"a1": {**ALERT, "acknowledged": "2031-04-01T13:45:00Z"}}
    assert seen["alerts"] == {"b1": {**ALERT, "acknowledged": "2031-04-01T13:50:00Z"}}
    # a per-user change is nobody else's news
    assert ok(owner, "CalendarEventNotification/query", {})["ids"] == []
    # but the rest of the event is not theirs to change without mayWriteAll
    refused = as_sharee(sharee, acct, "CalendarEvent/set", {"update": {event_id: {"title": "Mine"}}})
    assert refused["notUpdated"][event_id]["type"] == "forbidden"
    # a shared change by the owner reaches the sharee with their own values kept
    ok(owner, "CalendarEvent/set", {"update": {event_id: {"title": "Review 2"}}})
    seen = as_sharee(sharee, acct, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert seen["title"] == "Review 2" and seen["color"] == "blue"


def test_per_user_writes_need_may_update_private(jmap_server):
    owner, sharee, cal = shared(jmap_server)
    acct = owner.account_id
    event_id = ok(owner, "CalendarEvent/set", {"create": {"e": event(cal)}})["created"]["e"]["id"]
    refused = as_sharee(sharee, acct, "CalendarEvent/set", {"update": {event_id: {"color": "red"}}})
    assert refused["notUpdated"][event_id]["type"] == "forbidden"
    # positive control: with the right, the same write succeeds
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(sharee)}/mayUpdatePrivate": True}}})
    assert event_id in as_sharee(sharee, acct, "CalendarEvent/set", {"update": {event_id: {"color": "red"}}})["updated"]


def test_sharee_writes_with_may_write_all_keep_per_user_values_apart(jmap_server):
    owner, sharee, cal = shared(jmap_server, mayWriteAll=True, mayUpdatePrivate=True)
    acct = owner.account_id
    made = as_sharee(sharee, acct, "CalendarEvent/set", {"create": {"e": event(cal, color="green", keywords={"k": True})}})
    event_id = made["created"]["e"]["id"]
    own = ok(owner, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert own["title"] == "Review" and own["color"] is None and own["keywords"] is None
    seen = as_sharee(sharee, acct, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert seen["color"] == "green" and seen["keywords"] == {"k": True}
    ok(owner, "CalendarEvent/set", {"update": {event_id: {"color": "navy"}}})
    as_sharee(sharee, acct, "CalendarEvent/set", {"update": {event_id: {"title": "Renamed", "color": "lime"}}})
    own = ok(owner, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    seen = as_sharee(sharee, acct, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert (own["title"], own["color"]) == ("Renamed", "navy")
    assert (seen["title"], seen["color"]) == ("Renamed", "lime")
    as_sharee(sharee, acct, "CalendarEvent/set", {"destroy": [event_id]})
    assert ok(owner, "CalendarEvent/get", {"ids": [event_id]})["notFound"] == [event_id]


def test_per_occurrence_per_user_values_and_updated(jmap_server):
    owner, sharee, cal = shared(jmap_server, mayUpdatePrivate=True)
    acct = owner.account_id
    rid = "2031-04-08T14:00:00"
    series = event(cal, recurrenceRule={"@type": "RecurrenceRule", "frequency": "weekly", "count": 4},
                   updated="2031-01-01T00:00:00Z",
                   recurrenceOverrides={rid: {"title": "Review (moved)", "alerts": {"o1": ALERT}}})
    event_id = ok(owner, "CalendarEvent/set", {"create": {"e": series}})["created"]["e"]["id"]
    seen = as_sharee(sharee, acct, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert seen["recurrenceOverrides"] == {rid: {"title": "Review (moved)"}}  # the owner's alert is theirs
    # the sharee's own alert on that occurrence, through the instance id
    instance = f"{event_id}_{rid.replace('-', '').replace(':', '')}"
    done = as_sharee(sharee, acct, "CalendarEvent/set", {"update": {instance: {"alerts": {"s1": ALERT}},
                                                                     }})
    assert instance in done["updated"], done
    seen = as_sharee(sharee, acct, "CalendarEvent/get", {"ids": [event_id, instance]})["list"]
    base, inst = (seen[0], seen[1]) if seen[0]["id"] == event_id else (seen[1], seen[0])
    assert base["recurrenceOverrides"][rid]["title"] == "Review (moved)"
    assert inst["alerts"] == {"s1": ALERT} and inst["title"] == "Review (moved)"
    own = ok(owner, "CalendarEvent/get", {"ids": [event_id]})["list"][0]
    assert own["recurrenceOverrides"][rid]["alerts"] == {"o1": ALERT}
    assert own["updated"] == "2031-01-01T00:00:00Z"
    # updated written with per-user values only is the sharee's; reads give the later one
    as_sharee(sharee, acct, "CalendarEvent/set", {"update": {event_id: {"color": "red", "updated": "2031-02-01T00:00:00Z"}}})
    assert as_sharee(sharee, acct, "CalendarEvent/get", {"ids": [event_id]})["list"][0]["updated"] == "2031-02-01T00:00:00Z"
    assert ok(owner, "CalendarEvent/get", {"ids": [event_id]})["list"][0]["updated"] == "2031-01-01T00:00:00Z"
