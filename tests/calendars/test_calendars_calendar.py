"""Calendar/get, /changes, /set over real HTTP (JMAP for Calendars draft §4)."""

from __future__ import annotations

from jmapd_calendars.testing import CAL, USING, calendars, call, ok, principal_id


def test_capability_carries_the_draft_account_fields(client):
    assert client.session["capabilities"][CAL] == {}
    account = client.session["accounts"][client.account_id]["accountCapabilities"][CAL]
    assert set(account) == {
        "maxCalendarsPerEvent", "minDateTime", "maxDateTime", "maxExpandedQueryDuration",
        "maxParticipantsPerEvent", "mayCreateCalendar",
    }
    assert account["mayCreateCalendar"] is True and account["maxCalendarsPerEvent"] >= 1


def test_every_account_has_exactly_one_default_calendar(client):
    first = calendars(client)
    assert len(first) == 1
    cal = first[0]
    assert cal["isDefault"] is True and cal["name"] == "Calendar"
    assert cal["myRights"] == dict.fromkeys(
        ["mayReadFreeBusy", "mayReadItems", "mayWriteAll", "mayWriteOwn", "mayUpdatePrivate", "mayRSVP",
         "mayShare", "mayDelete"], True)
    assert cal["shareWith"] is None and cal["includeInAvailability"] == "all"
    assert calendars(client) == first  # not made twice
    changes = ok(client, "Calendar/changes", {"sinceState": "0"})
    assert changes["created"] == [cal["id"]]


def test_create_with_every_property_and_defaults(client):
    calendars(client)
    created = ok(client, "Calendar/set", {"create": {"w": {
        "name": "Work", "description": "office", "color": "DarkBlue", "sortOrder": 3, "isVisible": False,
        "timeZone": "Europe/Berlin", "includeInAvailability": "attending",
        "defaultAlertsWithTime": {"a1": {"@type": "Alert", "trigger": {"@type": "OffsetTrigger", "offset": "-PT15M"}}},
    }, "p": {"name": "Plain"}}})["created"]
    assert created["w"]["isDefault"] is False
    got = {c["id"]: c for c in calendars(client)}
    work, plain = got[created["w"]["id"]], got[created["p"]["id"]]
    assert work["color"] == "DarkBlue" and work["timeZone"] == "Europe/Berlin" and work["isVisible"] is False
    assert work["defaultAlertsWithTime"]["a1"]["trigger"]["offset"] == "-PT15M"
    assert plain == {**plain, "description": None, "color": None, "sortOrder": 0, "isSubscribed": True,
                     "isVisible": True, "timeZone": None, "defaultAlertsWithTime": None,
                     "defaultAlertsWithoutTime": None, "includeInAvailability": "all"}


def test_invalid_properties_are_named(client):
    bad = {
        "name": "", "color": "not-a-colour", "sortOrder": 2**31, "timeZone": "Mars/Olympus",
        "includeInAvailability": "sometimes",
        "defaultAlertsWithoutTime": {"a": {"@type": "Alert", "trigger": {"@type": "AbsoluteTrigger",
                                                                          "when": "2024-01-01T00:00:00Z"}}},
    }
    for prop, value in bad.items():
        obj = {"name": "x", prop: value}
        err = ok(client, "Calendar/set", {"create": {"c": obj}})["notCreated"]["c"]
        assert err["type"] == "invalidProperties", prop
        assert any(p.startswith(prop) for p in err["properties"]), (prop, err)
    long = ok(client, "Calendar/set", {"create": {"c": {"name": "é" * 128}}})["notCreated"]["c"]
    assert long["properties"] == ["name"]
    assert ok(client, "Calendar/set", {"create": {"c": {"name": "#abc", "color": "#A0b1C2"}}})["created"]
    assert ok(client, "Calendar/set", {"create": {"c": {"isDefault": True, "name": "n"}}})["notCreated"]["c"][
        "type"] == "invalidProperties"


def test_on_success_set_is_default_moves_the_flag(client):
    old = calendars(client)[0]["id"]
    response = ok(client, "Calendar/set", {"create": {"n": {"name": "New"}}, "onSuccessSetIsDefault": "#n"})
    new = response["created"]["n"]["id"]
    assert response["created"]["n"]["isDefault"] is True
    assert response["updated"] == {old: {"isDefault": False}}
    flags = {c["id"]: c["isDefault"] for c in calendars(client)}
    assert flags == {old: False, new: True}
    changes = ok(client, "Calendar/changes", {"sinceState": response["oldState"]})
    assert changes["newState"] == response["newState"]
    assert set(changes["created"]) == {new} and set(changes["updated"]) == {old}


def test_on_success_set_is_default_ignored_when_anything_fails_or_unknown(client):
    default = calendars(client)[0]["id"]
    response = ok(client, "Calendar/set", {"create": {"n": {"name": "New"}, "bad": {"name": ""}},
                                            "onSuccessSetIsDefault": "#n"})
    assert response["notCreated"]["bad"]["type"] == "invalidProperties"
    assert response["created"]["n"]["isDefault"] is False and response["updated"] is None
    response = ok(client, "Calendar/set", {"onSuccessSetIsDefault": "cNoSuchCalendar"})
    assert response["updated"] is None
    assert [c["id"] for c in calendars(client) if c["isDefault"]] == [default]


def test_destroy_and_unknown_arguments(client):
    calendars(client)
    cid = ok(client, "Calendar/set", {"create": {"x": {"name": "Gone"}}})["created"]["x"]["id"]
    assert ok(client, "Calendar/set", {"destroy": [cid]})["destroyed"] == [cid]
    assert ok(client, "Calendar/get", {"ids": [cid]})["notFound"] == [cid]
    name, err = call(client, "Calendar/set", {"onDestroyRemoveEvent": True})
    assert (name, err["type"]) == ("error", "invalidArguments")


def test_shared_calendar_per_user_properties(jmap_server):
    owner, sharee = jmap_server.client(), jmap_server.client()
    cal = ok(owner, "Calendar/set", {"create": {"t": {"name": "Team", "color": "red"}}})["created"]["t"]["id"]
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(sharee)}": {
        "mayReadItems": True, "mayReadFreeBusy": True}}}})
    sharee._session = None
    args = {"accountId": owner.account_id}
    got = sharee.ok("Calendar/get", {**args, "ids": None}, USING)["list"]
    assert [c["id"] for c in got] == [cal]  # no default calendar is made in someone else's account
    assert got[0]["myRights"]["mayReadItems"] is True and got[0]["myRights"]["mayWriteAll"] is False
    response = sharee.ok("Calendar/set", {**args, "update": {cal: {"color": "blue", "name": "Theirs",
                                                                   "isVisible": False}}}, USING)
    assert cal in response["updated"]
    mine = sharee.ok("Calendar/get", {**args, "ids": [cal]}, USING)["list"][0]
    assert (mine["color"], mine["name"], mine["isVisible"]) == ("blue", "Theirs", False)
    theirs = ok(owner, "Calendar/get", {"ids": [cal]})["list"][0]
    assert (theirs["color"], theirs["name"], theirs["isVisible"]) == ("red", "Team", True)
    refused = sharee.ok("Calendar/set", {**args, "update": {cal: {"description": "mine now"}}}, USING)
    assert refused["notUpdated"][cal]["type"] == "forbidden"
    refused = sharee.ok("Calendar/set", {**args, "destroy": [cal]}, USING)
    assert refused["notDestroyed"][cal]["type"] == "forbidden"


def test_free_busy_only_is_invisible(jmap_server):
    owner, sharee = jmap_server.client(), jmap_server.client()
    cal = ok(owner, "Calendar/set", {"create": {"t": {"name": "Busy"}}})["created"]["t"]["id"]
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(sharee)}": {"mayReadFreeBusy": True}}}})
    name, response = sharee.call("Calendar/get", {"accountId": owner.account_id, "ids": [cal]}, USING)
    assert name == "error" or response["notFound"] == [cal]


def test_is_subscribed_is_false_for_a_sharee_until_they_set_it(jmap_server):
    """Draft §4: isSubscribed "SHOULD default to false for Calendars in
    shared accounts"; per user, so neither side's value reaches the other."""
    owner, sharee = jmap_server.client(), jmap_server.client()
    cal = ok(owner, "Calendar/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
    assert ok(owner, "Calendar/get", {"ids": [cal]})["list"][0]["isSubscribed"] is True  # the owner's own
    ok(owner, "Calendar/set", {"update": {cal: {f"shareWith/{principal_id(sharee)}": {
        "mayReadItems": True, "mayReadFreeBusy": True}}}})
    sharee._session = None
    args = {"accountId": owner.account_id}
    assert sharee.ok("Calendar/get", {**args, "ids": [cal]}, USING)["list"][0]["isSubscribed"] is False
    done = sharee.ok("Calendar/set", {**args, "update": {cal: {"isSubscribed": True}}}, USING)
    assert cal in done["updated"], done
    assert sharee.ok("Calendar/get", {**args, "ids": [cal]}, USING)["list"][0]["isSubscribed"] is True
    ok(owner, "Calendar/set", {"update": {cal: {"isSubscribed": False}}})
    assert sharee.ok("Calendar/get", {**args, "ids": [cal]}, USING)["list"][0]["isSubscribed"] is True
    assert ok(owner, "Calendar/get", {"ids": [cal]})["list"][0]["isSubscribed"] is False
    # a sharee's change of another per-user property leaves the owner's isSubscribed alone
    sharee.ok("Calendar/set", {**args, "update": {cal: {"isSubscribed": False, "color": "blue"}}}, USING)
    assert ok(owner, "Calendar/get", {"ids": [cal]})["list"][0]["isSubscribed"] is False
    ok(owner, "Calendar/set", {"update": {cal: {"isSubscribed": True}}})
    sharee.ok("Calendar/set", {**args, "update": {cal: {"color": "green"}}}, USING)
    assert ok(owner, "Calendar/get", {"ids": [cal]})["list"][0]["isSubscribed"] is True
    assert sharee.ok("Calendar/get", {**args, "ids": [cal]}, USING)["list"][0]["isSubscribed"] is False


def test_write_delegate_keeps_the_owners_per_user_values(jmap_server):
    """A write delegate edits the calendar itself; what they see of per-user
    properties (their own value, or the sharee default) is not written
    over the owner's."""
    from jmapd.db import database, ensure_connected
    from jmapd.models import User
    from jmapd.sharing import delegate

    owner, helper = jmap_server.client(), jmap_server.client()
    cal = ok(owner, "Calendar/set", {"create": {"t": {"name": "Team", "color": "red"}}})["created"]["t"]["id"]
    ensure_connected()
    with database.obj.atomic():
        delegate(owner.account_id, User.get(User.name == helper.user).id, "write")
    helper._session = None
    args = {"accountId": owner.account_id}
    seen = helper.ok("Calendar/get", {**args, "ids": [cal]}, USING)["list"][0]
    assert seen["isSubscribed"] is False
    helper.ok("Calendar/set", {**args, "update": {cal: {"color": "blue"}}}, USING)
    done = helper.ok("Calendar/set", {**args, "update": {cal: {"description": "Shared by all"}}}, USING)
    assert cal in done["updated"], done
    mine = ok(owner, "Calendar/get", {"ids": [cal]})["list"][0]
    assert (mine["description"], mine["color"], mine["isSubscribed"]) == ("Shared by all", "red", True)
