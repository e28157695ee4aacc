"""The /get and /changes checks (RFC 8620 §5.1, §5.2)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .base import Checks
from .base import check as _check


class ReadingChecks(Checks):
    # -- /get (§5.1) ------------------------------------------------------------
    @_check("get")
    def test_get_ids_null_returns_all(self, jmap: Any) -> None:
        ids = self.some_ids()
        out = self.get(None)
        assert set(ids) <= {o["id"] for o in out["list"]}
        assert out["notFound"] == []
        if self.spec.account_scoped:
            assert isinstance(out["state"], str) and out["accountId"] == self.account_id

    @_check("get")
    def test_get_duplicates_and_unknown_ids(self, jmap: Any) -> None:
        [first, *_] = self.some_ids()
        missing = "zz" + uuid.uuid4().hex[:10]
        out = self.get([first, first, missing, missing])
        assert [o["id"] for o in out["list"]] == [first]  # an id given twice is answered once
        assert out["notFound"] == [missing]

    @_check("get")
    def test_get_properties_selection_always_has_id(self, jmap: Any) -> None:
        [first, *_] = self.some_ids()
        whole = self.get([first])["list"][0]
        chosen = next((p for p in whole if p != "id"), None)
        if chosen is None:
            pytest.skip("the object has no property but id")
        out = self.get([first], properties=[chosen])
        assert set(out["list"][0]) == {"id", chosen}
        assert out["list"][0][chosen] == whole[chosen]
        assert set(self.get([first], properties=[])["list"][0]) == {"id"}

    @_check("get")
    def test_get_invalid_arguments(self, jmap: Any) -> None:
        assert self.error("get", {"ids": None, **self.spec.get_arguments, "properties": [self.spec.unknown_property]}) == "invalidArguments"
        assert self.error("get", {"ids": "x", **self.spec.get_arguments}) == "invalidArguments"
        assert self.error("get", {"ids": [], **self.spec.get_arguments, "noSuchArgument": 1}) == "invalidArguments"

    @_check("get")
    def test_get_unknown_account(self, jmap: Any) -> None:
        if not self.spec.account_scoped:
            pytest.skip(f"{self.spec.name} is not per account")
        name, response = self.client.call(f"{self.spec.name}/get", {"accountId": "nosuchaccount", "ids": []}, self.using)
        assert (name, response["type"]) == ("error", "accountNotFound")

    # -- /changes (§5.2) --------------------------------------------------------
    @_check("changes")
    def test_changes_without_change(self, jmap: Any) -> None:
        state = self.state()
        out = self.ok("changes", {"sinceState": state})
        assert (out["oldState"], out["newState"], out["hasMoreChanges"]) == (state, state, False)
        assert out["created"] == out["updated"] == out["destroyed"] == []

    @_check("changes")
    def test_changes_report_created_updated_destroyed(self, jmap: Any) -> None:
        self.need_create()
        state = self.state()
        [a, b] = self.make(2)
        out = self.ok("changes", {"sinceState": state})
        assert sorted(out["created"]) == sorted([a, b]) and out["newState"] == self.state()
        if self.spec.patch is not None:
            middle = self.state()
            self.ok("set", {"update": {a: self.spec.patch}})
            assert self.ok("changes", {"sinceState": middle})["updated"] == [a]
            # created and then updated since ``state``: reported created only
            since_creation = self.ok("changes", {"sinceState": state})
            assert a in since_creation["created"] and a not in since_creation["updated"], since_creation
        if self.spec.destroyable:
            middle = self.state()
            self.ok("set", {"destroy": [b]})
            assert self.ok("changes", {"sinceState": middle})["destroyed"] == [b]
            # created and destroyed since ``state``: not reported at all
            assert b not in str(self.ok("changes", {"sinceState": state}))
            if self.spec.patch is not None:
                # updated and then destroyed: reported destroyed only
                middle = self.state()
                self.ok("set", {"update": {a: self.spec.patch}})
                self.ok("set", {"destroy": [a]})
                out = self.ok("changes", {"sinceState": middle})
                assert (out["destroyed"], out["updated"], out["created"]) == ([a], [], []), out

    @_check("changes")
    def test_changes_max_changes_pages(self, jmap: Any) -> None:
        self.need_create()
        state = self.state()
        made = self.make(3)
        seen: list[str] = []
        for _ in range(10):
            out = self.ok("changes", {"sinceState": state, "maxChanges": 1})
            assert len(out["created"]) + len(out["updated"]) + len(out["destroyed"]) <= 1
            seen += out["created"]
            assert out["oldState"] == state
            state = out["newState"]
            if not out["hasMoreChanges"]:
                break
        assert sorted(seen) == sorted(made) and state == self.state()

    @_check("changes")
    def test_changes_unknown_state_and_bad_arguments(self, jmap: Any) -> None:
        for since in ("garbage", "9" * 15, "-1"):
            assert self.error("changes", {"sinceState": since}) == "cannotCalculateChanges", since
        state = self.state()
        for bad in (0, -1, "2", 1.5):
            assert self.error("changes", {"sinceState": state, "maxChanges": bad}) == "invalidArguments", bad
        assert self.error("changes", {}) == "invalidArguments"

    @_check("changes")
    def test_changes_from_a_pruned_state(self, jmap: Any) -> None:
        """A state older than the change log keeps is cannotCalculateChanges;
        the state after the pruning still works."""
        import datetime

        from ..db import ensure_connected
        from ..state import prune_before

        self.need_create()
        old = self.state()
        self.make()
        middle = self.state()
        ensure_connected()
        prune_before(datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(seconds=5), self.account_id)
        assert self.error("changes", {"sinceState": old}) == "cannotCalculateChanges"
        assert self.ok("changes", {"sinceState": middle})["created"] == []
        if "queryChanges" in self.spec.verbs and self.ok("query", {})["canCalculateChanges"]:
            name, response = self.call("queryChanges", {"sinceQueryState": old})
            assert (name, response.get("type")) == ("error", "cannotCalculateChanges")
            # a queryState handed out after the pruning is answered (issue #9.1)
            fresh = self.ok("query", {})["queryState"]
            response = self.ok("queryChanges", {"sinceQueryState": fresh})
            assert (response["added"], response["removed"]) == ([], []), response

    @_check("changes")
    def test_changes_from_a_state_after_another_type_changed(self, jmap: Any) -> None:
        if self.spec.other_change is None:
            pytest.skip("spec.other_change not given")
        before = self.state()
        self.spec.other_change(self.client)
        after = self.state()
        for since in (before, after):
            # The other type may touch this one (an Email changes its Mailbox's
            # counts), but creates or destroys none of its objects.
            out = self.ok("changes", {"sinceState": since})
            assert out["created"] == out["destroyed"] == [] and out["hasMoreChanges"] is False
