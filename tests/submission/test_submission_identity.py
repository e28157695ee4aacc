"""Identity/get, /changes, /set (RFC 8621 §6) over real HTTP."""

from __future__ import annotations

SUBMISSION = "urn:ietf:params:jmap:submission"


def test_default_identity_is_created_with_the_account(client):
    result = client.ok("Identity/get")
    [identity] = result["list"]
    assert identity["email"] == f"{client.user}@localhost"
    assert identity["mayDelete"] is False
    assert identity["name"] == "" and identity["textSignature"] == "" and identity["htmlSignature"] == ""
    assert identity["replyTo"] is None and identity["bcc"] is None
    changes = client.ok("Identity/changes", {"sinceState": "0"})
    assert changes["created"] == [identity["id"]]


def test_default_identity_cannot_be_destroyed(client):
    identity = client.ok("Identity/get")["list"][0]
    result = client.ok("Identity/set", {"destroy": [identity["id"]]})
    assert result["notDestroyed"][identity["id"]]["type"] == "forbidden"


def test_session_advertises_submission(client):
    account = client.session["accounts"][client.account_id]["accountCapabilities"][SUBMISSION]
    assert account["maxDelayedSend"] == 604800
    assert account["submissionExtensions"]["FUTURERELEASE"][0] == "604800"
    assert client.session["capabilities"][SUBMISSION] == {}


def test_create_update_destroy(make_server):
    server = make_server({"submission": {"addresses": {"alice@example.com": ["*@team.example.com"]}}})
    client = server.client(*server.make_user("alice@example.com"))
    [default] = client.ok("Identity/get")["list"]
    assert default["email"] == "alice@example.com"

    created = client.ok(
        "Identity/set",
        {
            "create": {
                "a": {"email": "*@team.example.com", "name": "Team"},
                "b": {"email": "sales@team.example.com", "bcc": [{"name": None, "email": "archive@team.example.com"}]},
                "c": {"email": "mallory@evil.example"},
                "d": {"email": "*@example.com"},
                "e": {"email": "x@team.example.com", "mayDelete": False},
                "f": {"email": "not an address"},
                "g": {"email": "y@team.example.com", "replyTo": [{"email": "bad"}]},
            }
        },
    )
    assert set(created["created"]) == {"a", "b"}
    assert created["created"]["a"]["mayDelete"] is True
    assert created["created"]["b"]["textSignature"] == ""
    assert created["notCreated"]["c"]["type"] == "forbiddenFrom"
    assert created["notCreated"]["d"]["type"] == "forbiddenFrom"
    assert created["notCreated"]["e"] == {**created["notCreated"]["e"], "type": "invalidProperties", "properties": ["mayDelete"]}
    assert created["notCreated"]["f"]["properties"] == ["email"]
    assert created["notCreated"]["g"]["properties"] == ["replyTo/0/email"]

    team = created["created"]["a"]["id"]
    updated = client.ok(
        "Identity/set",
        {
            "update": {
                team: {
                    "name": "The Team",
                    "replyTo": [{"name": "Desk", "email": "desk@team.example.com"}],
                    "textSignature": "-- \nTeam",
                    "htmlSignature": "<b>Team</b>",
                },
                default["id"]: {"email": "other@example.com"},
            }
        },
    )
    assert team in updated["updated"]
    assert updated["notUpdated"][default["id"]]["type"] == "invalidProperties"
    got = client.ok("Identity/get", {"ids": [team]})["list"][0]
    assert got["name"] == "The Team" and got["replyTo"][0]["email"] == "desk@team.example.com"
    assert got["email"] == "*@team.example.com"

    changes = client.ok("Identity/changes", {"sinceState": created["newState"]})
    assert changes["updated"] == [team]
    destroyed = client.ok("Identity/set", {"destroy": [team]})
    assert destroyed["destroyed"] == [team]
    assert client.ok("Identity/get", {"ids": [team]})["notFound"] == [team]
