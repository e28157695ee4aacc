"""VacationResponse/get and /set: one object, id "singleton" (RFC 8621 §8)."""

from __future__ import annotations

VACATION = "urn:ietf:params:jmap:vacationresponse"


def test_default_singleton(client):
    result = client.ok("VacationResponse/get")
    assert result["list"] == [
        {
            "id": "singleton",
            "isEnabled": False,
            "fromDate": None,
            "toDate": None,
            "subject": None,
            "textBody": None,
            "htmlBody": None,
        }
    ]
    assert client.ok("VacationResponse/get", {"ids": ["other"]})["notFound"] == ["other"]
    assert client.session["accounts"][client.account_id]["accountCapabilities"][VACATION] == {}


def test_update_and_singleton_errors(client):
    before = client.ok("VacationResponse/get")["state"]
    result = client.ok(
        "VacationResponse/set",
        {
            "update": {
                "singleton": {
                    "isEnabled": True,
                    "fromDate": "2030-01-01T00:00:00Z",
                    "subject": "Away",
                    "textBody": "Back soon",
                }
            },
            "create": {"x": {"isEnabled": True}},
        },
    )
    assert result["updated"] == {"singleton": None}
    assert result["notCreated"]["x"]["type"] == "singleton"
    destroyed = client.ok("VacationResponse/set", {"destroy": ["singleton"]})
    assert destroyed["notDestroyed"]["singleton"]["type"] == "singleton"
    got = client.ok("VacationResponse/get", {"properties": ["isEnabled", "subject", "htmlBody"]})
    assert got["list"] == [{"id": "singleton", "isEnabled": True, "subject": "Away", "htmlBody": None}]
    assert got["state"] != before

    bad = client.ok(
        "VacationResponse/set",
        {"update": {"singleton": {"fromDate": "tomorrow"}, "other": {"isEnabled": False}}},
    )
    assert bad["notUpdated"]["singleton"]["properties"] == ["fromDate"]
    assert bad["notUpdated"]["other"]["type"] == "notFound"
    bad = client.ok("VacationResponse/set", {"update": {"singleton": {"id": "x"}}})
    assert bad["notUpdated"]["singleton"]["type"] == "invalidProperties"
    name, error = client.call("VacationResponse/changes", {"sinceState": "0"})
    assert (name, error["type"]) == ("error", "unknownMethod")


def test_update_names_every_invalid_property(client):
    """#9.5: one SetError for all of them, and nothing changed."""
    before = client.ok("VacationResponse/get", {"ids": ["singleton"]})["list"][0]
    out = client.ok("VacationResponse/set", {"update": {"singleton": {
        "isEnabled": "yes", "fromDate": "tomorrow", "subject": 5, "textBody": ["x"], "nosuch": 1,
    }}})
    err = out["notUpdated"]["singleton"]
    assert err["type"] == "invalidProperties"
    assert sorted(err["properties"]) == ["fromDate", "isEnabled", "nosuch", "subject", "textBody"], err
    assert client.ok("VacationResponse/get", {"ids": ["singleton"]})["list"][0] == before
