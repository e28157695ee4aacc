"""Method-level errors of RFC 8620 §3.6.2 that need an unusual setup: an
account without a capability, a method that fails after writing."""

from __future__ import annotations

from jmapd import hookimpl
from jmapd.methods.registry import Method
from jmapd.state import CREATED

NOTES = "urn:example:notes"


class Fixture:
    """Withholds the notes capability from one account; adds Test/fail, which
    writes a Note and its change inside the write transaction, then crashes."""

    def __init__(self) -> None:
        self.withheld: str | None = None

    @hookimpl
    def jmapd_account_capabilities(self, services, account_id):
        return [NOTES] if account_id == self.withheld else []

    @hookimpl
    def jmapd_methods(self, config):
        def fail(ctx, args):
            from jmapd.models import Document

            account = ctx.account(args.get("accountId"), NOTES, write=True)
            with ctx.write(account.id):
                Document.create(account_id=account.id, type_name="Note", object_id="nghost",
                                data={"id": "nghost", "title": "ghost"})
                ctx.changes.record(account.id, "Note", "nghost", CREATED)
                raise RuntimeError("boom")

        return [Method("Test/fail", fail, NOTES)]


def _share(owner, user):
    from jmapd.db import ensure_connected
    from jmapd.models import AccountAccess, User

    ensure_connected()
    AccountAccess.create(account=owner.account_id, user=User.get(User.name == user.user))


def test_account_not_supported_by_method(make_server):
    """'The accountId given corresponds to a valid account, but the account does
    not support this method or data type' — and for /copy, the from account."""
    fixture = Fixture()
    server = make_server({}, extra_plugins=[fixture])
    alice, bob = server.client(), server.client()
    fixture.withheld = bob.account_id
    _share(bob, alice)
    for method, args in [
        ("Note/get", {"ids": None}),
        ("Note/changes", {"sinceState": "0"}),
        ("Note/set", {"create": {"a": {"title": "x"}}}),
        ("Note/query", {}),
        ("Note/queryChanges", {"sinceQueryState": "0"}),
    ]:
        name, err = alice.call(method, {**args, "accountId": bob.account_id})
        assert (name, err["type"]) == ("error", "accountNotSupportedByMethod"), method
    name, err = alice.call("Note/copy", {
        "fromAccountId": bob.account_id, "accountId": alice.account_id, "create": {},
    })
    assert (name, err["type"]) == ("error", "fromAccountNotSupportedByMethod")
    name, err = alice.call("Note/copy", {
        "fromAccountId": alice.account_id, "accountId": bob.account_id, "create": {},
    })
    assert (name, err["type"]) == ("error", "accountNotSupportedByMethod")
    # The account itself is still there for what it does support.
    assert bob.account_id in alice.session["accounts"]
    assert NOTES not in alice.session["accounts"][bob.account_id]["accountCapabilities"]


def test_server_fail_changes_nothing_and_later_calls_still_run(make_server):
    """'With the exception of when the serverPartialFail error is returned, the
    externally visible state of the server MUST NOT have changed if an error is
    returned at the method level.' 'Any further method calls in the request
    MUST then be processed as normal.'"""
    server = make_server({}, extra_plugins=[Fixture()])
    client = server.client()
    state = client.ok("Note/get", {"ids": []})["state"]
    resp = client.request([
        ["Test/fail", {"accountId": client.account_id}, "0"],
        ["Note/get", {"accountId": client.account_id, "ids": ["nghost"]}, "1"],
    ])
    (name0, err, _), (name1, got, _) = resp["methodResponses"]
    assert (name0, err["type"]) == ("error", "serverFail")
    assert name1 == "Note/get" and got["notFound"] == ["nghost"] and got["state"] == state
    changes = client.ok("Note/changes", {"sinceState": state})
    assert changes["created"] == [] and changes["newState"] == state
