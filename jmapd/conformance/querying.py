"""The /query and /queryChanges checks (RFC 8620 §5.5, §5.6)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .base import Checks
from .base import check as _check


class QueryingChecks(Checks):
    # -- /query (§5.5) ----------------------------------------------------------
    @_check("query")
    def test_query_window_anchor_and_total(self, jmap: Any) -> None:
        if self.spec.create is not None and "set" in self.spec.verbs and not self.spec.singleton:
            self.make(3)
        full = self.ok("query", {"calculateTotal": True})
        ids = full["ids"]
        if len(ids) < 3:
            pytest.skip("fewer than three objects to page through")
        assert full["total"] == len(ids) and full["position"] == 0
        assert isinstance(full["queryState"], str) and isinstance(full["canCalculateChanges"], bool)
        assert "total" not in self.ok("query", {})
        page = self.ok("query", {"position": 1, "limit": 1})
        assert (page["ids"], page["position"]) == ([ids[1]], 1)
        assert self.ok("query", {"position": -1})["ids"] == [ids[-1]]
        assert self.ok("query", {"position": -len(ids) - 5})["position"] == 0
        assert self.ok("query", {"position": len(ids) + 5})["ids"] == []
        anchored = self.ok("query", {"anchor": ids[2], "anchorOffset": -1, "limit": 2})
        assert (anchored["ids"], anchored["position"]) == (ids[1:3], 1)
        assert self.ok("query", {"anchor": ids[0], "anchorOffset": -5})["position"] == 0
        assert self.error("query", {"anchor": "zz" + uuid.uuid4().hex[:10]}) == "anchorNotFound"
        assert self.error("query", {"limit": -1}) == "invalidArguments"
        assert self.error("query", {"position": "1"}) == "invalidArguments"

    @_check("query")
    def test_query_filters(self, jmap: Any) -> None:
        assert self.error("query", {"filter": {"noSuchCondition": 1}}) == "unsupportedFilter"
        assert self.error("query", {"filter": {"operator": "XOR", "conditions": []}}) == "invalidArguments"
        if not self.spec.filters:
            pytest.skip("spec.filters not given")
        [target] = self.make()
        for condition, matches in self.spec.filters:
            got = target in self.ok("query", {"filter": condition})["ids"]
            assert got is matches, condition
            negated = target in self.ok("query", {"filter": {"operator": "NOT", "conditions": [condition]}})["ids"]
            assert negated is not matches, ("NOT", condition)

    @_check("query")
    def test_query_sorts(self, jmap: Any) -> None:
        assert self.error("query", {"sort": [{"property": "noSuchProperty"}]}) == "unsupportedSort"
        assert self.error("query", {"sort": [{"property": "id", "collation": "no;such"}]}) in ("unsupportedSort", "invalidArguments")
        if not self.spec.sorts:
            pytest.skip("spec.sorts not given")
        if self.spec.create is not None and "set" in self.spec.verbs:
            self.make(2)
        everything = set(self.ok("query", {})["ids"])
        for prop in self.spec.sorts:
            up = self.ok("query", {"sort": [{"property": prop, "isAscending": True}]})["ids"]
            down = self.ok("query", {"sort": [{"property": prop, "isAscending": False}]})["ids"]
            assert set(up) == set(down) == everything, prop

    # -- /queryChanges (§5.6) ---------------------------------------------------
    def query_state(self) -> str:
        out = self.ok("query", {})
        if not out["canCalculateChanges"]:
            pytest.skip(f"{self.spec.name}/query says canCalculateChanges: false")
        return str(out["queryState"])

    @_check("queryChanges")
    def test_query_changes_without_change(self, jmap: Any) -> None:
        if self.spec.create is not None and "set" in self.spec.verbs and not self.spec.singleton:
            self.make()  # a state the account reached by a change, not its first
        state = self.query_state()
        out = self.ok("queryChanges", {"sinceQueryState": state})
        assert (out["oldQueryState"], out["removed"], out["added"]) == (state, [], [])

    @_check("queryChanges")
    def test_query_changes_from_every_state_handed_out(self, jmap: Any) -> None:
        self.need_create()
        handed_out = [self.query_state()]
        [made] = self.make()
        handed_out.append(self.query_state())
        self.ok("set", {})  # a /set with nothing to do
        handed_out.append(self.query_state())
        if self.spec.other_change is not None:
            self.spec.other_change(self.client)
            handed_out.append(self.query_state())
        final = self.ok("query", {})["ids"]
        for state in handed_out:
            out = self.ok("queryChanges", {"sinceQueryState": state})
            added = {a["id"]: a["index"] for a in out["added"]}
            assert set(added) <= set(final) and not (set(out["removed"]) - set(added) & set(final) - {made})
            for object_id, index in added.items():
                assert final[index] == object_id

    @_check("queryChanges")
    def test_query_changes_reports_a_creation(self, jmap: Any) -> None:
        self.need_create()
        state = self.query_state()
        [made] = self.make()
        out = self.ok("queryChanges", {"sinceQueryState": state, "calculateTotal": True})
        ids = self.ok("query", {})["ids"]
        assert {"id": made, "index": ids.index(made)} in out["added"]
        assert out["total"] == len(ids) and out["newQueryState"] == self.ok("query", {})["queryState"]

    @_check("queryChanges")
    def test_query_changes_max_changes_and_up_to_id(self, jmap: Any) -> None:
        self.need_create()
        state = self.query_state()
        made = self.make(3)
        assert self.error("queryChanges", {"sinceQueryState": state, "maxChanges": 1}) == "tooManyChanges"
        ids = self.ok("query", {})["ids"]
        last = max(made, key=ids.index)
        out = self.ok("queryChanges", {"sinceQueryState": state, "upToId": ids[ids.index(last)]})
        assert {a["id"] for a in out["added"]} <= set(made)

    @_check("queryChanges")
    def test_query_changes_unknown_state(self, jmap: Any) -> None:
        for since in ("garbage", "9" * 15):
            assert self.error("queryChanges", {"sinceQueryState": since}) == "cannotCalculateChanges", since
        assert self.error("queryChanges", {}) == "invalidArguments"
