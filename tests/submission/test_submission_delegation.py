"""Sending from a delegated account (#11): only a delegate with the
``submit`` right sees the owner's Identities and may send; ``write``
alone is forbidden / forbiddenToSend, with ``submit`` as positive control."""

from __future__ import annotations

from jmapd.db import ensure_connected


def delegate(owner, delegate_client, rights: str) -> None:
    from jmapd.models import User
    from jmapd.sharing import delegate as grant

    ensure_connected()
    grant(owner.account_id, User.get(User.name == delegate_client.user).id, rights)
    delegate_client._session = None


def test_only_a_submit_delegate_sees_identities_and_sends(make_server, mailer_for):
    server = make_server({})
    alice = mailer_for(server)
    identity = alice.identity()
    bob = server.client()
    email_id = alice.store(alice.message(to=f"{alice.client.user}@localhost"))
    as_alice = {"accountId": alice.client.account_id}
    create = {"create": {"k": {"identityId": identity["id"], "emailId": email_id}}}

    delegate(alice.client, bob, "write")
    name, out = bob.call("Identity/get", as_alice)
    assert (name, out["type"]) == ("error", "forbidden")
    name, out = bob.call("Identity/set", {**as_alice, "update": {identity["id"]: {"name": "Bob was here"}}})
    assert (name, out["type"]) == ("error", "forbidden")
    out = bob.ok("EmailSubmission/set", {**as_alice, **create})
    assert out["notCreated"]["k"]["type"] == "forbiddenToSend"
    # positive control: the same calls with the submit right
    delegate(alice.client, bob, "submit")
    assert [i["id"] for i in bob.ok("Identity/get", as_alice)["list"]] == [identity["id"]]
    out = bob.ok("EmailSubmission/set", {**as_alice, **create})
    assert "k" in out["created"], out
    assert alice.identity()["name"] == identity["name"]  # the refused update wrote nothing
