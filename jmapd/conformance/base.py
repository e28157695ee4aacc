"""The suite's plumbing: the type description and the calls every check makes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

#: A function of the test client (a :class:`jmapd.testing.JmapClient`).
Maker = Callable[[Any], Any]


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
    :param unknown_property: a property name the type must refuse
        (``invalidProperties`` in /set, ``invalidArguments`` in /get); a type
        of open-ended documents that must keep unknown names (JSContact,
        RFC 9553 §1.7.2) gives a reserved one instead (``extra``).
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
    #: For /copy: the id of another account the client may write (shared
    #: with it), made by this function.
    copy_target: Maker | None = None
    #: Properties each /copy create must carry, given the client and the
    #: target account (an Email's ``mailboxIds`` there).
    copy_overrides: Callable[[Any, str], dict[str, Any]] | None = None
    #: /set operations the type refuses per object with ``forbidden``.
    forbidden: frozenset[str] = frozenset()
    #: Further capabilities to be ``using`` (a Quota shows only types the client knows).
    using: tuple[str, ...] = ()
    #: False for PushSubscription: no accountId, no state (RFC 8620 §7.2).
    account_scoped: bool = True
    get_arguments: dict[str, Any] = field(default_factory=dict)
    unknown_property: str = "noSuchProperty"
    xfail: dict[str, str] = field(default_factory=dict)


def check(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a check with the verb it needs; the fixture skips or xfails it."""

    def mark(fn: Callable[..., None]) -> Callable[..., None]:
        fn._conformance_verb = name  # type: ignore[attr-defined]  # read back by the jmap fixture
        return fn

    return mark


class Checks:
    """What every group of checks stands on: the spec, the client, the calls."""

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
