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
        conditions = [c for c, _ in self.spec.filters]
        for operator, expected in (("AND", all(m for _, m in self.spec.filters)), ("OR", any(m for _, m in self.spec.filters))):
            got = target in self.ok("query", {"filter": {"operator": operator, "conditions": conditions}})["ids"]
            assert got is expected, (operator, conditions)

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
            keys = self.sort_keys(prop, up)
            if keys is not None:  # the values /get shows are in order, both ways
                assert keys == sorted(keys), (prop, keys)
                assert self.sort_keys(prop, down) == sorted(keys, reverse=True), prop

    def sort_keys(self, prop: str, ids: list[str]) -> list[Any] | None:
        """What /get shows of ``prop`` for ``ids``, as comparable keys, or None
        where the order is the type's own (a path, an object, a computed sort)."""
        if "/" in prop or not ids:
            return None
        name, out = self.call("get", {"ids": ids, **self.spec.get_arguments, "properties": [prop]})
        if name == "error":  # a sort that is no property (EmailSubmission's sentAt)
            return None
        found = {o["id"]: o.get(prop) for o in out["list"]}
        values: list[Any] = [found.get(i) for i in ids]
        if any(v is None for v in values):
            return None
        if all(isinstance(v, bool) for v in values):
            return [int(v) for v in values]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return list(values)
        if all(isinstance(v, str) for v in values):
            return [v.casefold() for v in values]  # i;unicode-casemap, the default collation
        return None

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

    def query_now(self) -> tuple[str, list[str]]:
        """The query state and the whole result list it goes with."""
        out = self.ok("query", {})
        if not out["canCalculateChanges"]:
            pytest.skip(f"{self.spec.name}/query says canCalculateChanges: false")
        return str(out["queryState"]), list(out["ids"])

    @staticmethod
    def splice(old: list[str], changes: dict[str, Any]) -> list[str]:
        """``old`` with /queryChanges applied as a client does (§5.6): drop
        every removed id, then insert every added one at its index, lowest first."""
        removed = set(changes["removed"]) | {a["id"] for a in changes["added"]}
        new = [i for i in old if i not in removed]
        for added in sorted(changes["added"], key=lambda a: a["index"]):
            new.insert(added["index"], added["id"])
        return new

    @_check("queryChanges")
    def test_query_changes_from_every_state_handed_out(self, jmap: Any) -> None:
        """From each state (the first, after a creation, after an update and a
        destroy, after a /set that changed nothing, after another type
        changed), the changes turn the results of then into those of now."""
        self.need_create()
        handed_out = [self.query_now()]
        [made, other] = self.make(2)
        handed_out.append(self.query_now())
        if self.spec.patch is not None:
            self.ok("set", {"update": {made: self.spec.patch}})
            handed_out.append(self.query_now())
        if self.spec.destroyable:
            self.ok("set", {"destroy": [other]})
            handed_out.append(self.query_now())
        self.ok("set", {})  # a /set with nothing to do
        handed_out.append(self.query_now())
        if self.spec.other_change is not None:
            self.spec.other_change(self.client)
            handed_out.append(self.query_now())
        state, final = self.query_now()
        for since, then in handed_out:
            out = self.ok("queryChanges", {"sinceQueryState": since})
            assert (out["oldQueryState"], out["newQueryState"]) == (since, state), out
            assert self.splice(then, out) == final, (since, then, out, final)

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
