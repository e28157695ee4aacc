"""The /set and /copy checks (RFC 8620 §5.3, §5.4)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .base import Checks
from .base import check as _check


class WritingChecks(Checks):
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
    def test_set_creation_ids_as_update_and_destroy_keys(self, jmap: Any) -> None:
        """``#creationId`` names the new object in update and destroy, in the
        same call (creates run first, §5.3) and in later calls."""
        self.need_create()
        assert self.spec.create is not None
        if self.spec.patch is None:
            pytest.skip("spec.patch not given")
        same = self.ok("set", {"create": {"k": self.spec.create(self.client)}, "update": {"#k": self.spec.patch}})
        made = same["created"]["k"]["id"]
        assert made in (same.get("updated") or {}), same
        if self.spec.destroyable:  # the patch may hold a value only one object can have (a Mailbox name)
            self.ok("set", {"destroy": [made]})
        calls: list[list[Any]] = [
            [f"{self.spec.name}/set", {"accountId": self.account_id, "create": {"later": self.spec.create(self.client)}}, "0"],
            [f"{self.spec.name}/set", {"accountId": self.account_id, "update": {"#later": self.spec.patch}}, "1"],
        ]
        if self.spec.destroyable:
            calls.append([f"{self.spec.name}/set", {"accountId": self.account_id, "destroy": ["#later"]}, "2"])
        out = self.client.request(calls, self.using)["methodResponses"]
        later = out[0][1]["created"]["later"]["id"]
        assert later in (out[1][1].get("updated") or {}), out[1]
        if self.spec.destroyable:
            assert out[2][1]["destroyed"] == [later], out[2]
            assert self.get([later])["notFound"] == [later]

    @_check("set")
    def test_set_update_of_an_object_destroyed_in_the_same_call(self, jmap: Any) -> None:
        """The server may skip the update (``willDestroy``); the destroy happens."""
        if self.spec.patch is None or not self.spec.destroyable:
            pytest.skip("needs spec.patch and a destroyable type")
        [target] = self.make()
        out = self.ok("set", {"update": {target: self.spec.patch}, "destroy": [target]})
        assert out["destroyed"] == [target], out
        skipped = (out.get("notUpdated") or {}).get(target, {}).get("type")
        assert skipped == "willDestroy" or target in (out.get("updated") or {}), out
        assert self.get([target])["notFound"] == [target]

    @_check("set")
    def test_set_create_with_a_server_set_id_is_refused(self, jmap: Any) -> None:
        self.need_create()
        assert self.spec.create is not None
        out = self.ok("set", {"create": {"bad": {**self.spec.create(self.client), "id": "zz" + uuid.uuid4().hex[:10]}}})
        error = out["notCreated"]["bad"]
        assert error["type"] == "invalidProperties" and "id" in error.get("properties", ["id"]), error

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
        out = self.ok("set", {"create": {"bad": {**self.spec.create(self.client), self.spec.unknown_property: 1}}})
        assert out["notCreated"]["bad"]["type"] == "invalidProperties"
        assert out["notCreated"]["bad"].get("properties") == [self.spec.unknown_property]

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
        if self.spec.destroyable and self.spec.create is not None and not self.spec.singleton and "set" in self.spec.verbs:
            # a destroyed object is gone for /get, a second destroy and an update
            [made] = self.make()
            self.ok("set", {"destroy": [made]})
            assert self.get([made])["notFound"] == [made]
            assert self.ok("set", {"destroy": [made]})["notDestroyed"][made]["type"] == "notFound"
            assert self.ok("set", {"update": {made: {}}})["notUpdated"][made]["type"] == "notFound"

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
            update[existing] = {**self.spec.patch, self.spec.unknown_property: 1}
        out = self.ok("set", {
            "create": {"good": self.spec.create(self.client), "bad": {**self.spec.create(self.client), self.spec.unknown_property: 1}},
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

    # -- /copy (§5.4) -----------------------------------------------------------
    @_check("copy")
    def test_copy_argument_errors(self, jmap: Any) -> None:
        first = self.some_ids()[0]
        name, response = self.call("copy", {"fromAccountId": self.account_id, "create": {"k": {"id": first}}})
        assert (name, response["type"]) == ("error", "invalidArguments")  # from and to must differ
        name, response = self.call("copy", {"fromAccountId": "nosuchaccount", "create": {"k": {"id": first}}})
        assert (name, response["type"]) == ("error", "fromAccountNotFound")

    @_check("copy")
    def test_copy_between_accounts(self, jmap: Any) -> None:
        if self.spec.copy_target is None:
            pytest.skip("spec.copy_target not given")
        self.need_create()
        [source, moved] = self.make(2)
        original = self.get([source])["list"][0]
        target = str(self.spec.copy_target(self.client))
        name = f"{self.spec.name}/copy"
        base = {"fromAccountId": self.account_id, "accountId": target}
        extra = self.spec.copy_overrides(self.client, target) if self.spec.copy_overrides else {}
        state = self.state()
        missing = "zz" + uuid.uuid4().hex[:10]
        for stale in ({"ifFromInState": "not-a-state"}, {"ifInState": "not-a-state"}):
            out = self.client.request([[name, {**base, **stale, "create": {"c": {"id": source, **extra}}}, "0"]], self.using)
            assert out["methodResponses"][0][1]["type"] == "stateMismatch", stale
        calls = [[name, {**base, "ifFromInState": state, "create": {"c": {"id": source, **extra}, "gone": {"id": missing, **extra}}}, "0"]]
        out = self.client.request(calls, self.using)["methodResponses"][0][1]
        assert (out["fromAccountId"], out["accountId"]) == (self.account_id, target)
        assert out["notCreated"]["gone"]["type"] == "notFound"
        copy_id = out["created"]["c"]["id"]
        copied = self.ok("get", {"accountId": target, "ids": [copy_id], **self.spec.get_arguments})["list"][0]
        for key, value in self.spec.create(self.client).items() if self.spec.create else ():
            if not isinstance(value, (dict, list)) and "/" not in key and key in original:
                assert copied.get(key) == original[key], key
        assert self.get([source])["list"] == [original]  # the original is kept
        # onSuccessDestroyOriginal: the implicit /set destroys it in the source account.
        calls = [[name, {**base, "create": {"m": {"id": moved, **extra}}, "onSuccessDestroyOriginal": True}, "0"]]
        responses = self.client.request(calls, self.using)["methodResponses"]
        assert [r[0] for r in responses] == [name, f"{self.spec.name}/set"]
        assert responses[1][1]["destroyed"] == [moved]
        assert self.get([moved])["notFound"] == [moved]
