"""Users created while the submission plugin was disabled get their default
identity on their first Identity or EmailSubmission call."""

from __future__ import annotations

import threading

from jmapd.db import ensure_connected
from jmapd.models import Document


def identities(account_id):
    ensure_connected()
    return list(
        Document.select(Document.object_id, Document.data)
        .where((Document.account_id == account_id) & (Document.type_name == "Identity"))
        .tuples()
    )


def legacy_client(make_server, jmap_server):
    """A user made by a server without the submission plugin, logged in to one with it."""
    before = make_server({"capabilities": ["mail"]})
    user, password = before.make_user()
    client = jmap_server.client(user, password)
    assert identities(client.account_id) == []
    return client


def test_first_identity_get_creates_the_default(make_server, jmap_server):
    client = legacy_client(make_server, jmap_server)
    got = client.ok("Identity/get")
    [identity] = got["list"]
    assert identity["email"] == f"{client.user}@localhost" and identity["mayDelete"] is False
    changes = client.ok("Identity/changes", {"sinceState": "0"})
    assert changes["created"] == [identity["id"]]
    assert changes["newState"] == got["state"]  # the state /get answered already includes it
    again = client.ok("Identity/get")
    assert [i["id"] for i in again["list"]] == [identity["id"]] and again["state"] == got["state"]
    assert len(identities(client.account_id)) == 1
    name, error = client.call("Identity/get", {"accountId": "nosuchaccount"})
    assert (name, error["type"]) == ("error", "accountNotFound")


def test_first_submission_set_creates_the_default(make_server, jmap_server):
    client = legacy_client(make_server, jmap_server)
    result = client.ok("EmailSubmission/set", {})
    assert not result.get("created") and not result.get("notCreated")
    [(identity_id, data)] = identities(client.account_id)
    assert data["mayDelete"] is False
    assert client.ok("Identity/changes", {"sinceState": "0"})["created"] == [identity_id]


def test_concurrent_first_calls_create_one_identity(make_server, jmap_server):
    client = legacy_client(make_server, jmap_server)
    clients = [jmap_server.client(client.user, client.password) for _ in range(6)]
    start = threading.Barrier(len(clients))
    seen: list[list[str]] = []

    def first_call(n, c):
        start.wait()
        if n % 2:
            seen.append([i["id"] for i in c.ok("Identity/get")["list"]])
        else:
            seen.append(c.ok("Identity/changes", {"sinceState": "0"})["created"])

    threads = [threading.Thread(target=first_call, args=(n, c)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [(identity_id, _)] = identities(client.account_id)
    assert seen == [[identity_id]] * len(clients)
