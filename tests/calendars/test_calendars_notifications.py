"""CalendarEventNotification (draft §8): two users and a shared calendar."""

from __future__ import annotations

from typing import Any

from jmapd_calendars.testing import USING, ok, principal_id

NOTE = "CalendarEventNotification"


def as_sharee(client: Any, account_id: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
    return client.ok(method, {"accountId": account_id, **args}, USING)


def shared(jmap_server: Any, **rights: bool) -> tuple[Any, Any, str]:
    owner, sharee = jmap_server.client(), jmap_server.client()
    cal = ok(owner, "Calendar/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
    grant = {"mayReadItems": True, "mayReadFreeBusy": True, "mayWriteAll": True, **rights}
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(sharee)}": grant}}})
    sharee._session = None
    # a sharee is told of changes to calendars they subscribed to (draft §8), and is not subscribed by default
    as_sharee(sharee, owner.account_id, "Calendar/set", {"update": {cal: {"isSubscribed": True}}})
    return owner, sharee, cal


def notes(client: Any, account_id: str) -> list[dict[str, Any]]:
    ids = as_sharee(client, account_id, f"{NOTE}/query", {"sort": [{"property": "created"}]})["ids"]
    got = as_sharee(client, account_id, f"{NOTE}/get", {"ids": ids})["list"] if ids else []
    order = {i: n for n, i in enumerate(ids)}
    return sorted(got, key=lambda n: order[n["id"]])


def standup(cal: str, **extra: Any) -> dict[str, Any]:
    return {"calendarIds": {cal: True}, "title": "Standup", "start": "2031-03-03T09:00:00",
            "timeZone": "Europe/Berlin", "duration": "PT15M", **extra}


def test_changes_by_the_other_user_are_notified_with_the_draft_fields(jmap_server):
    owner, sharee, cal = shared(jmap_server)
    acct = owner.account_id
    made = as_sharee(sharee, acct, "CalendarEvent/set", {"create": {"e": standup(cal)}})["created"]["e"]
    (created,) = notes(owner, acct)
    assert created["type"] == "created" and created["calendarEventId"] == made["id"]
    assert created["changedBy"]["principalId"] == principal_id(sharee)
    assert created["changedBy"]["name"] == sharee.user
    assert created["isDraft"] is False and created["eventPatch"] is None and created["comment"] is None
    assert created["event"]["title"] == "Standup" and "calendarIds" not in created["event"]
    assert created["created"].endswith("Z")
    # the one who made the change is not told of it (the owner above is the positive control)
    assert notes(sharee, acct) == []

    as_sharee(sharee, acct, "CalendarEvent/set", {"update": {made["id"]: {"title": "Daily", "keywords": {"x": True}}}})
    updated = notes(owner, acct)[-1]
    assert updated["type"] == "updated" and updated["event"]["title"] == "Standup"
    # per-user keywords are no part of it; the origin's sequence/updated stamps are
    patch = {k: v for k, v in updated["eventPatch"].items() if k not in ("sequence", "updated")}
    assert patch == {"title": "Daily"} and updated["eventPatch"]["sequence"] == 1

    ok(owner, "CalendarEvent/set", {"update": {made["id"]: {"duration": "PT30M"}}})
    (theirs,) = notes(sharee, acct)
    assert theirs["type"] == "updated" and theirs["eventPatch"]["duration"] == "PT30M"
    assert set(theirs["eventPatch"]) <= {"duration", "sequence", "updated"}
    assert theirs["changedBy"]["principalId"] == principal_id(owner)
    assert theirs["changedBy"]["calendarAddress"] == f"mailto:{owner.user}@localhost"
    assert len(notes(owner, acct)) == 2  # the owner's own change made none for the owner

    ok(owner, "CalendarEvent/set", {"destroy": [made["id"]]})
    gone = notes(sharee, acct)[-1]
    assert gone["type"] == "destroyed" and gone["event"]["title"] == "Daily" and gone["isDraft"] is None


def test_each_user_sees_and_dismisses_only_their_own(jmap_server):
    owner, sharee, cal = shared(jmap_server)
    acct = owner.account_id
    sharee_state = as_sharee(sharee, acct, f"{NOTE}/get", {"ids": []})["state"]
    owner_state = ok(owner, f"{NOTE}/get", {"ids": []})["state"]
    event_id = ok(owner, "CalendarEvent/set", {"create": {"e": standup(cal)}})["created"]["e"]["id"]
    as_sharee(sharee, acct, "CalendarEvent/set", {"update": {event_id: {"title": "Moved"}}})
    (mine,), (theirs,) = notes(sharee, acct), notes(owner, acct)
    assert (mine["type"], theirs["type"]) == ("created", "updated")

    changes = as_sharee(sharee, acct, f"{NOTE}/changes", {"sinceState": sharee_state})
    assert changes["created"] == [mine["id"]] and changes["updated"] == changes["destroyed"] == []
    assert ok(owner, f"{NOTE}/changes", {"sinceState": owner_state})["created"] == [theirs["id"]]
    # another user's notification is not there to get or destroy
    assert as_sharee(sharee, acct, f"{NOTE}/get", {"ids": [theirs["id"]]})["notFound"] == [theirs["id"]]
    refused = as_sharee(sharee, acct, f"{NOTE}/set", {"destroy": [theirs["id"]]})
    assert refused["notDestroyed"][theirs["id"]]["type"] == "notFound"

    after_create = as_sharee(sharee, acct, f"{NOTE}/get", {"ids": []})["state"]
    owner_after = ok(owner, f"{NOTE}/get", {"ids": []})["state"]
    assert as_sharee(sharee, acct, f"{NOTE}/set", {"destroy": [mine["id"]]})["destroyed"] == [mine["id"]]
    assert notes(sharee, acct) == [] and [n["id"] for n in notes(owner, acct)] == [theirs["id"]]
    changes = as_sharee(sharee, acct, f"{NOTE}/changes", {"sinceState": after_create})
    assert changes["destroyed"] == [mine["id"]] and changes["created"] == []
    # the owner is not told the id of the sharee's notification, not even as destroyed
    owner_changes = ok(owner, f"{NOTE}/changes", {"sinceState": owner_after})
    assert owner_changes["created"] == owner_changes["updated"] == owner_changes["destroyed"] == []


def test_set_is_destroy_only(client):
    response = ok(client, f"{NOTE}/set", {"create": {"n": {"type": "created"}}})
    assert response["notCreated"]["n"]["type"] == "forbidden"
    response = ok(client, f"{NOTE}/set", {"update": {"nNope": {"type": "updated"}}})
    assert response["notUpdated"]["nNope"]["type"] in ("forbidden", "notFound")


def test_query_filters_sort_and_query_changes(jmap_server):
    owner, sharee, cal = shared(jmap_server)
    acct = owner.account_id
    first = as_sharee(sharee, acct, "CalendarEvent/set", {"create": {"a": standup(cal)}})["created"]["a"]["id"]
    second = as_sharee(sharee, acct, "CalendarEvent/set", {"create": {"b": standup(cal, title="Retro")}})["created"]["b"]["id"]
    query = ok(owner, f"{NOTE}/query", {"sort": [{"property": "created"}]})
    state = query["queryState"]
    as_sharee(sharee, acct, "CalendarEvent/set", {"update": {first: {"title": "Standup 2"}}})
    by_type = ok(owner, f"{NOTE}/query", {"filter": {"type": "updated"}})["ids"]
    (update_note,) = by_type
    by_event = ok(owner, f"{NOTE}/query", {"filter": {"calendarEventIds": [second]}})["ids"]
    assert len(by_event) == 1 and by_event[0] not in query["ids"][:1]
    got = ok(owner, f"{NOTE}/get", {"ids": by_event})["list"][0]
    assert got["calendarEventId"] == second
    stamp = got["created"]
    assert update_note in ok(owner, f"{NOTE}/query", {"filter": {"after": stamp}})["ids"]
    assert ok(owner, f"{NOTE}/query", {"filter": {"before": "2000-01-01T00:00:00Z"}})["ids"] == []
    assert len(ok(owner, f"{NOTE}/query", {"filter": {"after": None}})["ids"]) == 3
    newest_first = ok(owner, f"{NOTE}/query", {"sort": [{"property": "created", "isAscending": False}]})["ids"]
    assert set(newest_first) == set(query["ids"]) | {update_note}
    changes = ok(owner, f"{NOTE}/queryChanges", {"sinceQueryState": state, "sort": [{"property": "created"}]})
    assert [a["id"] for a in changes["added"]] == [update_note] and changes["removed"] == []
    bad = owner.call(f"{NOTE}/query", {"filter": {"after": "yesterday"}}, USING)
    assert bad[0] == "error" and bad[1]["type"] == "invalidArguments"
    bad = owner.call(f"{NOTE}/query", {"sort": [{"property": "type"}]}, USING)
    assert bad[0] == "error" and bad[1]["type"] == "unsupportedSort"


def test_only_subscribed_readers_are_notified(jmap_server):
    owner, sharee, cal = shared(jmap_server)
    acct = owner.account_id
    other = jmap_server.client()
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(other)}": {
        "mayReadItems": True, "mayReadFreeBusy": True}}}})
    other._session = None
    # other never subscribed (a sharee's isSubscribed is false until they set it)
    ok(owner, "CalendarEvent/set", {"create": {"e": standup(cal)}})
    assert len(notes(sharee, acct)) == 1  # positive control: a subscribed sharee is told
    assert notes(other, acct) == []
    as_sharee(other, acct, "Calendar/set", {"update": {cal: {"isSubscribed": True}}})
    ok(owner, "CalendarEvent/set", {"create": {"s": standup(cal)}})
    assert len(notes(other, acct)) == 1
    as_sharee(other, acct, "Calendar/set", {"update": {cal: {"isSubscribed": False}}})
    # one who may read only free/busy is not told either
    busy_only = jmap_server.client()
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(busy_only)}": {"mayReadFreeBusy": True}}}})
    busy_only._session = None
    ok(owner, "CalendarEvent/set", {"create": {"f": standup(cal)}})
    assert len(notes(sharee, acct)) == 3
    assert len(notes(other, acct)) == 1  # unsubscribed again
    name, response = busy_only.call(f"{NOTE}/query", {"accountId": acct}, USING)
    assert name == "error" or response["ids"] == []


def test_past_the_limit_the_oldest_is_removed(make_server):
    server = make_server({"calendars": {"max_event_notifications": 2}})
    owner, sharee, cal = shared(server)
    acct = owner.account_id
    state = ok(owner, f"{NOTE}/get", {"ids": []})["state"]
    made = [as_sharee(sharee, acct, "CalendarEvent/set", {"create": {"e": standup(cal, title=f"T{i}")}})
            ["created"]["e"]["id"] for i in range(3)]
    kept = notes(owner, acct)
    assert [n["calendarEventId"] for n in kept] == made[1:]
    changes = ok(owner, f"{NOTE}/changes", {"sinceState": state})
    assert sorted(changes["created"]) == sorted(n["id"] for n in kept) and changes["destroyed"] == []
    later = ok(owner, f"{NOTE}/get", {"ids": []})["state"]
    as_sharee(sharee, acct, "CalendarEvent/set", {"create": {"e": standup(cal, title="T3")}})
    changes = ok(owner, f"{NOTE}/changes", {"sinceState": later})
    assert changes["destroyed"] == [kept[0]["id"]] and len(changes["created"]) == 1
