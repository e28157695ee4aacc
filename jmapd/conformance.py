"""The RFC 8620 standard-method conformance suite, reusable by any plugin.

A plugin describes one of its types with a :class:`TypeSpec` (how to make a
valid object, an invalid one, a patch, which filters and sorts exist) and
subclasses :class:`Conformance`; pytest then runs every check of RFC 8620
§5.1–5.6 that applies against a real server::

    class TestNote(Conformance):
        spec = TypeSpec("Note", NOTES, create=lambda c: {"title": "conformance"})

A check the spec gives no material for is skipped with the reason, so the
report says what was not exercised. The checks talk to the server only
through JMAP requests (the ``client`` fixture, or ``spec.client_fixture``),
so they test what a client sees, whichever storage the type uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

#: A function of the test client (a :class:`jmapd.testing.JmapClient`).
Maker = Callable[[Any], Any]

__all__ = ["Conformance", "TypeSpec"]


@dataclass
class TypeSpec:
    """What the suite needs to know about one data type.

    :param name: the type name, as in ``Note/get``.
    :param capability: the URN to be ``using`` (besides core).
    :param verbs: the standard methods the type has.
    :param create: a fresh valid creation object (called once per object).
    :param existing: ids of objects the account already has or the function
        makes by other means (a Thread from an imported Email); used when
        ``create`` is absent.
    :param invalid: a creation object the server must refuse with
        ``invalidProperties``, and ``invalid_properties`` the names it
        must report.
    :param patch: a valid PatchObject for an object made by ``create``;
        ``patched`` the property values /get must show after it.
    :param read_only: server-set or immutable properties, with a value
        different from any the server sets: an update to it is refused.
    :param too_large: a creation object over a declared size limit.
    :param singleton: the id of the type's only object (VacationResponse).
    :param filters: conditions with whether the object ``create`` makes
        matches them.
    :param sorts: sortable properties.
    :param other_change: changes another type of the same account, so
        states handed out after it are exercised too.
    :param client_fixture: the pytest fixture giving a logged-in client.
    :param xfail: check name → reason, for known bugs (strict: a fixed bug
        makes the run fail until the mark is removed).
    """

    name: str
    capability: str
    verbs: frozenset[str] = frozenset({"get", "changes", "set", "query", "queryChanges"})
    create: Maker | None = None
    existing: Maker | None = None
    invalid: dict[str, Any] | None = None
    invalid_properties: list[str] = field(default_factory=list)
    patch: dict[str, Any] | None = None
    patched: dict[str, Any] = field(default_factory=dict)
    read_only: dict[str, Any] = field(default_factory=dict)
    too_large: Maker | None = None
    singleton: str | None = None
    destroyable: bool = True
    filters: list[tuple[dict[str, Any], bool]] = field(default_factory=list)
    sorts: list[str] = field(default_factory=list)
    other_change: Maker | None = None
    client_fixture: str = "client"
    #: An Id-typed property naming an object of another type, that type and a
    #: creation object for it: ``#creationId`` in the property is resolved
    #: (``("folderId", "NoteFolder", make_folder)``); a property ending in
    #: ``{}`` is an id map (``mailboxIds{}``).
    reference: tuple[str, str, Maker] | None = None
    #: /set operations the type refuses per object with ``forbidden``.
    forbidden: frozenset[str] = frozenset()
    #: Further capabilities to be ``using`` (a Quota shows only types the client knows).
    using: tuple[str, ...] = ()
    #: False for PushSubscription: no accountId, no state (RFC 8620 §7.2).
    account_scoped: bool = True
    get_arguments: dict[str, Any] = field(default_factory=dict)
    xfail: dict[str, str] = field(default_factory=dict)


def _check(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a check with the verb it needs; the fixture skips or xfails it."""

    def mark(fn: Callable[..., None]) -> Callable[..., None]:
        fn._conformance_verb = name  # type: ignore[attr-defined]  # read back by the jmap fixture
        return fn

    return mark


class Conformance:
    """Subclass as ``TestSomething`` with a ``spec``; every method is a check."""

    spec: TypeSpec

    # -- plumbing -------------------------------------------------------------
    @pytest.fixture
    def jmap(self, request: pytest.FixtureRequest) -> Any:
        verb = getattr(request.function, "_conformance_verb", None)
        if verb is not None and verb not in self.spec.verbs:
            pytest.skip(f"{self.spec.name} has no /{verb}")
        reason = self.spec.xfail.get(request.function.__name__)
        if reason:
            request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
        self.client = request.getfixturevalue(self.spec.client_fixture)
        return self.client

    @property
    def using(self) -> list[str]:
        return sorted({"urn:ietf:params:jmap:core", self.spec.capability, *self.spec.using})

    def call(self, verb: str, args: dict[str, Any], method: str | None = None) -> tuple[str, dict[str, Any]]:
        if self.spec.account_scoped:
            args = {"accountId": self.account_id, **args}
        out = self.client.request([[method or f"{self.spec.name}/{verb}", args, "c0"]], self.using)
        name, response, _ = out["methodResponses"][0]
        return str(name), dict(response)

    def ok(self, verb: str, args: dict[str, Any]) -> dict[str, Any]:
        name, response = self.call(verb, args)
        assert name == f"{self.spec.name}/{verb}", f"{self.spec.name}/{verb} failed: {response}"
        return response

    def error(self, verb: str, args: dict[str, Any]) -> str:
        name, response = self.call(verb, args)
        assert name == "error", f"expected a method error, got {name} {response}"
        return str(response["type"])

    @property
    def account_id(self) -> str:
        primary = self.client.session["primaryAccounts"].get(self.spec.capability)
        return str(primary or self.client.account_id)

    def state(self) -> str:
        if not self.spec.account_scoped:
            pytest.skip(f"{self.spec.name} has no state")
        return str(self.ok("get", {"ids": [], **self.spec.get_arguments})["state"])

    def need_create(self) -> None:
        if self.spec.create is None or "set" not in self.spec.verbs or self.spec.singleton:
            pytest.skip(f"{self.spec.name}: no creation object in the spec")

    def make(self, count: int = 1) -> list[str]:
        """Ids of ``count`` fresh objects, created by /set."""
        self.need_create()
        assert self.spec.create is not None
        create = {f"k{i}": self.spec.create(self.client) for i in range(count)}
        out = self.ok("set", {"create": create})
        assert not out.get("notCreated"), out["notCreated"]
        return [out["created"][f"k{i}"]["id"] for i in range(count)]

    def objects(self) -> list[str]:
        """Ids /query returns now (the whole account's)."""
        return list(self.ok("query", {})["ids"])

    def some_ids(self) -> list[str]:
        """Ids of at least one object, however the spec can give them."""
        if self.spec.singleton:
            return [self.spec.singleton]
        if self.spec.create is not None and "set" in self.spec.verbs:
            return self.make()
        if self.spec.existing is not None:
            ids = list(self.spec.existing(self.client))
            assert ids, "spec.existing gave no ids"
            return ids
        pytest.skip(f"{self.spec.name}: the spec gives no way to have an object")

    def get(self, ids: list[str] | None, **args: Any) -> dict[str, Any]:
        return self.ok("get", {"ids": ids, **self.spec.get_arguments, **args})

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
        assert self.error("get", {"ids": None, **self.spec.get_arguments, "properties": ["noSuchProperty"]}) == "invalidArguments"
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
        if self.spec.destroyable:
            middle = self.state()
            self.ok("set", {"destroy": [b]})
            assert self.ok("changes", {"sinceState": middle})["destroyed"] == [b]
            # created and destroyed since ``state``: not reported at all
            assert b not in str(self.ok("changes", {"sinceState": state}))

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

        from .db import ensure_connected
        from .state import prune_before

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

    # -- /set (§5.3) ------------------------------------------------------------
    @_check("set")
    def test_set_if_in_state(self, jmap: Any) -> None:
        if not self.spec.account_scoped:
            pytest.skip(f"{self.spec.name} has no state")
        assert self.error("set", {"ifInState": "not-a-state"}) == "stateMismatch"
        state = self.state()
        out = self.ok("set", {"ifInState": state})
        assert out["oldState"] == state == out["newState"]
        if self.spec.create is not None and not self.spec.singleton:
            created = self.ok("set", {"ifInState": state, "create": {"k": self.spec.create(self.client)}})
            assert created["oldState"] == state != created["newState"] == self.state()
            assert self.error("set", {"ifInState": state, "create": {"k": self.spec.create(self.client)}}) == "stateMismatch"

    @_check("set")
    def test_set_create_then_reference_by_creation_id(self, jmap: Any) -> None:
        self.need_create()
        assert self.spec.create is not None
        obj = self.spec.create(self.client)
        calls = [
            [f"{self.spec.name}/set", {"accountId": self.account_id, "create": {"new": obj}}, "0"],
            [f"{self.spec.name}/get", {"accountId": self.account_id, "ids": ["#new"], **self.spec.get_arguments}, "1"],
        ]
        out = self.client.request(calls, self.using)
        created = out["methodResponses"][0][1]["created"]["new"]
        got = out["methodResponses"][1][1]["list"]
        assert [o["id"] for o in got] == [created["id"]]
        assert out.get("createdIds", {}).get("new", created["id"]) == created["id"]
        for key, value in obj.items():
            if not isinstance(value, (dict, list)) and "/" not in key:
                assert got[0].get(key) == value, key

    @_check("set")
    def test_set_resolves_creation_ids_in_properties(self, jmap: Any) -> None:
        if self.spec.reference is None:
            pytest.skip("spec.reference not given")
        self.need_create()
        assert self.spec.create is not None
        prop, other_type, other_create = self.spec.reference
        obj = self.spec.create(self.client)
        if prop.endswith("{}"):
            prop = prop[:-2]
            obj[prop] = {"#dep": True}
        else:
            obj[prop] = "#dep"
        calls = [
            [f"{other_type}/set", {"accountId": self.account_id, "create": {"dep": other_create(self.client)}}, "0"],
            [f"{self.spec.name}/set", {"accountId": self.account_id, "create": {"new": obj}}, "1"],
        ]
        out = self.client.request(calls, self.using)["methodResponses"]
        dep = out[0][1]["created"]["dep"]["id"]
        made = out[1][1]["created"]["new"]["id"]
        value = self.get([made], properties=[prop])["list"][0][prop]
        assert value == ({dep: True} if isinstance(value, dict) else dep)
        # An unknown creation id is not an id: the object is refused.
        bad = {**self.spec.create(self.client), prop: {"#nosuch": True} if isinstance(value, dict) else "#nosuch"}
        error = self.ok("set", {"create": {"bad": bad}})["notCreated"]["bad"]
        assert error["type"] in ("invalidProperties", "notFound"), error

    @_check("set")
    def test_set_invalid_properties(self, jmap: Any) -> None:
        if self.spec.invalid is None:
            pytest.skip("spec.invalid not given")
        if self.spec.singleton:
            out = self.ok("set", {"update": {self.spec.singleton: self.spec.invalid}})
            error = out["notUpdated"][self.spec.singleton]
        else:
            out = self.ok("set", {"create": {"bad": self.spec.invalid}})
            error = out["notCreated"]["bad"]
        assert error["type"] == "invalidProperties", error
        assert set(self.spec.invalid_properties) <= set(error.get("properties", [])), error
        assert "created" not in out or not out["created"]

    @_check("set")
    def test_set_unknown_property_is_refused(self, jmap: Any) -> None:
        self.need_create()
        assert self.spec.create is not None
        out = self.ok("set", {"create": {"bad": {**self.spec.create(self.client), "noSuchProperty": 1}}})
        assert out["notCreated"]["bad"]["type"] == "invalidProperties"
        assert out["notCreated"]["bad"].get("properties") == ["noSuchProperty"]

    @_check("set")
    def test_set_not_found(self, jmap: Any) -> None:
        missing, gone = ("zz" + uuid.uuid4().hex[:10] for _ in range(2))
        args: dict[str, Any] = {"update": {missing: {}}}
        if self.spec.destroyable and not self.spec.singleton:
            args["destroy"] = [gone]
        out = self.ok("set", args)
        assert out["notUpdated"][missing]["type"] == "notFound"
        if "destroy" in args:
            assert out["notDestroyed"][gone]["type"] == "notFound"

    @_check("set")
    def test_set_patch_object(self, jmap: Any) -> None:
        if self.spec.patch is None:
            pytest.skip("spec.patch not given")
        [target] = [self.spec.singleton] if self.spec.singleton else self.make()
        out = self.ok("set", {"update": {target: self.spec.patch}})
        assert target in out["updated"], out
        got = self.get([target])["list"][0]
        for key, value in self.spec.patched.items():
            assert got.get(key) == value, key

    @_check("set")
    def test_set_invalid_patch_is_refused_whole(self, jmap: Any) -> None:
        if self.spec.patch is None:
            pytest.skip("spec.patch not given")
        [target] = [self.spec.singleton] if self.spec.singleton else self.make()
        before = self.get([target])["list"][0]
        key = next(iter(self.spec.patch))
        bad = [
            {key: self.spec.patch[key], f"{key}/x": 1},  # one pointer the prefix of another
            {**self.spec.patch, f"{key}/missing/x": 1},  # a parent that does not exist
        ]
        for patch in bad:
            out = self.ok("set", {"update": {target: patch}})
            assert out["notUpdated"][target]["type"] == "invalidPatch", (patch, out)
        assert self.get([target])["list"][0] == before  # nothing of a refused patch applied

    @_check("set")
    def test_set_read_only_properties(self, jmap: Any) -> None:
        if not self.spec.read_only:
            pytest.skip("spec.read_only not given")
        target = self.some_ids()[0]
        current = self.get([target])["list"][0]
        for prop, value in self.spec.read_only.items():
            out = self.ok("set", {"update": {target: {prop: value}}})
            error = out["notUpdated"][target]
            assert error["type"] == "invalidProperties" and prop in error.get("properties", [prop]), (prop, error)
            if prop in current:  # the same value as the server's is allowed (§5.3)
                same = self.ok("set", {"update": {target: {prop: current[prop]}}})
                assert target in same["updated"], (prop, same)

    @_check("set")
    def test_set_singleton_cannot_be_created_or_destroyed(self, jmap: Any) -> None:
        if not self.spec.singleton:
            pytest.skip(f"{self.spec.name} is not a singleton")
        out = self.ok("set", {"create": {"k": {}}, "destroy": [self.spec.singleton]})
        assert out["notCreated"]["k"]["type"] == "singleton"
        assert out["notDestroyed"][self.spec.singleton]["type"] == "singleton"

    @_check("set")
    def test_set_forbidden_operations(self, jmap: Any) -> None:
        if not self.spec.forbidden:
            pytest.skip("spec.forbidden not given")
        target = self.some_ids()[0]
        args: dict[str, Any] = {}
        if "create" in self.spec.forbidden:
            args["create"] = {"k": {}}
        if "update" in self.spec.forbidden:
            args["update"] = {target: {}}
        if "destroy" in self.spec.forbidden:
            args["destroy"] = [target]
        out = self.ok("set", args)
        for key, errors in (("create", "notCreated"), ("update", "notUpdated"), ("destroy", "notDestroyed")):
            if key in self.spec.forbidden:
                assert [e["type"] for e in out[errors].values()] == ["forbidden"], out
        assert target in {o["id"] for o in self.get(None)["list"]}

    @_check("set")
    def test_set_too_large(self, jmap: Any) -> None:
        if self.spec.too_large is None:
            pytest.skip("spec.too_large not given")
        out = self.ok("set", {"create": {"big": self.spec.too_large(self.client)}})
        assert out["notCreated"]["big"]["type"] == "tooLarge", out

    @_check("set")
    def test_set_is_atomic_per_object(self, jmap: Any) -> None:
        self.need_create()
        assert self.spec.create is not None
        [existing] = self.make()
        before = self.get([existing])["list"][0]
        state = self.state()
        missing = "zz" + uuid.uuid4().hex[:10]
        update: dict[str, Any] = {missing: {}}
        if self.spec.patch is not None:
            update[existing] = {**self.spec.patch, "noSuchProperty": 1}
        out = self.ok("set", {
            "create": {"good": self.spec.create(self.client), "bad": {**self.spec.create(self.client), "noSuchProperty": 1}},
            "update": update,
        })
        assert set(out["created"]) == {"good"} and set(out["notCreated"]) == {"bad"}
        assert missing in out["notUpdated"]
        if self.spec.patch is not None:
            assert out["notUpdated"][existing]["type"] == "invalidProperties"
        assert self.get([existing])["list"][0] == before  # the refused update left no trace
        changes = self.ok("changes", {"sinceState": state}) if "changes" in self.spec.verbs else None
        if changes is not None:
            assert changes["created"] == [out["created"]["good"]["id"]] and changes["updated"] == []

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

    # -- /copy (§5.4) -----------------------------------------------------------
    @_check("copy")
    def test_copy_argument_errors(self, jmap: Any) -> None:
        first = self.some_ids()[0]
        name, response = self.call("copy", {"fromAccountId": self.account_id, "create": {"k": {"id": first}}})
        assert (name, response["type"]) == ("error", "invalidArguments")  # from and to must differ
        name, response = self.call("copy", {"fromAccountId": "nosuchaccount", "create": {"k": {"id": first}}})
        assert (name, response["type"]) == ("error", "fromAccountNotFound")
