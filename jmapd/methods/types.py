"""Declaring a JMAP data type: properties, rules and storage.

A plugin subclasses :class:`DataType` (or :class:`~jmapd.methods.documents.DocumentType`
for objects stored as JSON documents), lists its properties and overrides
the storage and validation hooks it needs; the standard methods in
``jmapd.methods.standard`` then derive /get, /changes, /set, /copy, /query
and /queryChanges from it, with every RFC 8620 rule and error applied in
one place.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..models import new_id as random_id
from ..protocol.errors import SetError
from .paging import window

if TYPE_CHECKING:
    from ..sharing import Access, Sharing
    from ..state import ChangeSet
    from .context import CallContext

ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
UTC_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class Invalid(Exception):
    """Raised by a property check; ``path`` is relative to the property.

    A check that finds several bad members of one value (the second and
    fifth address of a list) names the others in ``more``, so the SetError
    lists them all (RFC 8620 §5.3)."""

    def __init__(
        self, path: str = "", description: str | None = None, *, more: Sequence[tuple[str, str | None]] = ()
    ) -> None:
        super().__init__(description or path)
        self.path = path
        self.description = description
        self.more = list(more)

    @property
    def problems(self) -> list[tuple[str, str | None]]:
        """Every (path, description) the check found."""
        return [(self.path, self.description), *self.more]

    @staticmethod
    def raise_any(problems: Sequence[tuple[str, str | None]]) -> None:
        """Raise one Invalid naming all ``problems``, if there are any."""
        if problems:
            (path, description), *more = problems
            raise Invalid(path, description, more=more)


def is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(ID_RE.match(value))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**53) < value < 2**53


def _is_date(value: Any, pattern: re.Pattern[str]) -> bool:
    if not isinstance(value, str) or not pattern.match(value):
        return False
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


CHECKS: dict[str, Callable[[Any], bool]] = {
    "String": lambda v: isinstance(v, str),
    "Boolean": lambda v: isinstance(v, bool),
    "Int": _is_int,
    "UnsignedInt": lambda v: _is_int(v) and v >= 0,
    "Number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "Id": is_id,
    "UTCDate": lambda v: _is_date(v, UTC_DATE_RE),
    "Date": lambda v: _is_date(v, DATE_RE),
    "Object": lambda v: isinstance(v, dict),
    "Any": lambda v: True,
    "String[]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "Id[]": lambda v: isinstance(v, list) and all(is_id(x) for x in v),
    "Object[]": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
    "Id[Boolean]": lambda v: isinstance(v, dict) and all(is_id(k) and x is True for k, x in v.items()),
    "String[Boolean]": lambda v: isinstance(v, dict) and all(x is True for x in v.values()),
    "String[String]": lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
}


@dataclass
class Prop:
    """One property of a data type.

    :param type: a key of :data:`CHECKS`.
    :param ref: ``"id"``/``"ids"``/``"idmap"`` when the value names other
        records, so ``#creationId`` references are resolved in it.
    :param check: an extra validator raising :class:`Invalid`.
    :param normalize_key: for map-valued properties whose keys are
        case-insensitive (Email keywords): applied to keys in whole values
        and to the key token of patches (``keywords/$Seen``).
    """

    type: str = "Any"
    nullable: bool = False
    server_set: bool = False
    immutable: bool = False
    required: bool = False
    default: Any = None
    has_default: bool = False
    ref: str | None = None
    check: Callable[[Any], None] | None = None
    normalize_key: Callable[[str], str] | None = None

    def default_value(self) -> Any:
        value = self.default() if callable(self.default) else self.default
        return value

    def validate(self, value: Any) -> None:
        if value is None:
            if not self.nullable:
                raise Invalid("", "must not be null")
            return
        if not CHECKS[self.type](value):
            raise Invalid("", f"expected {self.type}")
        if self.check is not None:
            self.check(value)


def P(type: str = "Any", **kwargs: Any) -> Prop:
    """Shorthand: ``P("String", default="")`` also marks ``has_default``."""
    if "default" in kwargs:
        kwargs.setdefault("has_default", True)
    return Prop(type=type, **kwargs)


@dataclass(frozen=True)
class TypeExtension:
    """What one plugin adds to a data type another plugin declares (an RFC
    extending an existing type: properties of Email, filter conditions of
    Email/query), returned from ``jmapd_type_extensions``.

    The core only hands it to the named type (:meth:`DataType.extend`); the
    type documents which subclass it accepts and what it does with it.
    ``capability`` is the URN a client must be ``using`` to see the additions.
    """

    type_name: str
    capability: str


@dataclass(frozen=True)
class PrincipalFilter(TypeExtension):
    """FilterCondition properties a plugin adds to Principal/query
    (``jmapd_type_extensions``; e.g. the JMAP Calendars draft's
    ``calendarAddress`` under ``urn:ietf:params:jmap:principals:availability``).

    ``filters``
        name → the value's property type (``"String"``).
    ``matching(ctx, name, value)``
        the ids of the Principals one condition matches, asked once per
        condition of a query. A client not ``using`` ``capability`` gets
        ``unsupportedFilter`` for them (RFC 8620 §5.5).
    """

    type_name: str = "Principal"
    capability: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    matching: Callable[[CallContext, str, Any], set[str]] | None = None


#: The standard methods a type may list in :attr:`DataType.verbs`.
STANDARD_VERBS = ("get", "changes", "set", "copy", "query", "queryChanges")


class DataType:
    """A JMAP data type and its storage: the whole contract with the engine.

    The standard-method engine (``jmapd.methods.standard``) reads the class
    attributes below and calls the methods below, and nothing else: every
    hook is declared here with its default, so a subclass overrides only
    what is particular to its type. The registry checks the declaration at
    start-up (:meth:`jmapd.methods.registry.Registry.add_data_type`).
    """

    # -- declaration ----------------------------------------------------------
    #: Type name as in method names, e.g. ``Mailbox``.
    name: ClassVar[str]
    #: Capability URN a client must be ``using`` and the account must have;
    #: its :class:`~jmapd.methods.registry.Capability` needs an account part.
    capability: ClassVar[str]
    #: Properties by name; ``id`` is added if absent.
    properties: ClassVar[dict[str, Prop]] = {}
    #: Which standard methods exist for the type (a subset of :data:`STANDARD_VERBS`).
    verbs: ClassVar[tuple[str, ...]] = ("get", "changes", "set", "query", "queryChanges")
    #: Prefix of generated ids (one letter, helps humans reading logs).
    id_prefix: ClassVar[str] = "x"
    #: A singleton (VacationResponse): /set may not create or destroy.
    singleton: ClassVar[bool] = False
    #: Extra /get, /set, /copy, /query arguments and their defaults; the
    #: engine refuses any other argument with ``invalidArguments``.
    get_arguments: ClassVar[dict[str, Any]] = {}
    set_arguments: ClassVar[dict[str, Any]] = {}
    copy_arguments: ClassVar[dict[str, Any]] = {}
    query_arguments: ClassVar[dict[str, Any]] = {}
    #: /changes responses carry ``updatedProperties`` (Mailbox/changes).
    reports_updated_properties: ClassVar[bool] = False
    #: Properties whose change alone is reported in ``updatedProperties``.
    count_properties: ClassVar[frozenset[str]] = frozenset()
    #: Filter conditions (name → a key of :data:`CHECKS` for the value, or
    #: anything else to leave the check to :meth:`check_filter`) and
    #: sortable properties.
    filters: ClassVar[dict[str, str]] = {}
    sorts: ClassVar[frozenset[str]] = frozenset()
    #: Comparator members beyond RFC 8620's property/isAscending/collation
    #: (Email's ``keyword``); any other member is invalidArguments.
    comparator_keys: ClassVar[tuple[str, ...]] = ()
    #: Which /set operations exist; the others answer ``forbidden`` per object
    #: (ShareNotification: destroy only; Principal: update only).
    set_verbs: ClassVar[frozenset[str]] = frozenset({"create", "update", "destroy"})
    #: Declares the type shareable (see :mod:`jmapd.sharing`): the engine adds
    #: ``myRights`` and ``shareWith``, hides what a sharee may not read and
    #: checks /set against the rights.
    sharing: ClassVar[Sharing | None] = None
    #: Quota resources the type's objects use (``count``, ``octets``); the
    #: type charges them with :func:`jmapd.quota.charge` (see Quota ``types``).
    quota_resources: ClassVar[frozenset[str]] = frozenset()
    #: Whether the engine charges those resources for the objects its /set and
    #: /copy store (:meth:`quota_octets`). False for a type whose one store
    #: function charges every write path itself (Email: delivery, import and
    #: /set alike), so nothing is charged twice.
    engine_charges_quota: ClassVar[bool] = True

    def __init__(self, config: Any = None) -> None:
        self.config = config
        if "id" not in self.properties:
            type(self).properties = {"id": P("Id", server_set=True, immutable=True), **self.properties}
        if self.sharing is not None and "shareWith" not in self.properties:
            type(self).properties = {
                **self.properties,
                "myRights": P("String[Boolean]", server_set=True),
                "shareWith": P("Object", nullable=True, default=None),
            }

    def extend(self, extension: TypeExtension) -> None:
        """Take an extension another plugin offers for this type
        (``jmapd_type_extensions``), at start-up. A type that can be extended
        documents the :class:`TypeExtension` subclass it accepts; by default
        none is, and start-up stops naming both plugins."""
        raise TypeError(f"data type {self.name} takes no extensions")

    # -- properties -------------------------------------------------------
    def property(self, name: str) -> Prop | None:
        """The declaration of ``name``; override for dynamic names (``header:*``)."""
        return self.properties.get(name)

    def default_properties(self) -> list[str]:
        """Properties returned when /get has ``properties: null``."""
        return list(self.properties)

    def present(self, obj: dict[str, Any], props: list[str], requested: bool) -> dict[str, Any]:
        """What /get lists of a loaded object: ``props`` (the client's list when
        ``requested``, else :meth:`default_properties`), null when absent. A
        type of open-ended documents (JSContact cards) overrides this to return
        each object's own properties, so nothing it holds is left out."""
        return {p: obj.get(p) for p in props}

    # -- storage: override ----------------------------------------------
    def load(
        self, ctx: CallContext, account_id: str, ids: list[str] | None, properties: list[str], args: dict[str, Any]
    ) -> dict[str, dict[str, Any]]:
        """Objects by id (all if ``ids`` is None), with at least ``properties``."""
        raise NotImplementedError

    def new_id(self, ctx: CallContext, account_id: str, obj: dict[str, Any]) -> str:
        """The id of an object about to be created (by /set or /copy).

        Random by default, so ids never leak counts or collide across
        accounts; override only when the id is derived from the object.
        """
        return random_id(self.id_prefix)

    def create_needs_savepoint(self, obj: dict[str, Any]) -> bool:
        """Whether creating ``obj`` writes to the database during the /set.

        The engine runs each create in a savepoint so a refused one leaves
        nothing behind. A type whose :meth:`insert` only buffers rows in the
        ChangeLog (``defer_inserts``) and whose :meth:`validate` only reads
        writes nothing there: the ChangeLog mark/rollback around each create
        already takes a refused one's rows back, and no SAVEPOINT/RELEASE
        saves two statements per object — at 10,000 cards most of a
        PostgreSQL import's round trips (bench/contacts.py).
        """
        return True

    def update_needs_savepoint(self, old: dict[str, Any], new: dict[str, Any], changed: set[str]) -> bool:
        """Whether an update changing ``changed`` may be refused after it wrote.

        The engine runs each update in a savepoint so a refused one leaves
        nothing behind. Return False only when :meth:`validate` only reads
        (and raises) and :meth:`replace` of these properties writes at most
        one statement with nothing after it that can raise SetError (and the
        engine charges no quota): a refusal then comes before any write, and
        a failing statement fails the whole call, whose transaction rolls
        back. Deferred rows are taken back by the ChangeLog mark either way.
        Saves SAVEPOINT and RELEASE per object: two of the three statements of
        each Email in a bulk keyword change (issue #17). Types with sharing
        always get the savepoint (the engine writes their grants first).
        """
        return True

    def insert(self, ctx: CallContext, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a validated new object (``obj['id']`` is set); return any
        further properties the server set (beyond id and defaults)."""
        raise NotImplementedError

    def replace(
        self, ctx: CallContext, account_id: str, old: dict[str, Any], new: dict[str, Any], changed: set[str]
    ) -> dict[str, Any] | None:
        """Store an updated object; return properties the server changed itself."""
        raise NotImplementedError

    def delete(self, ctx: CallContext, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        """Remove a destroyed object (after :meth:`check_destroy` allowed it)."""
        raise NotImplementedError

    def query(
        self, ctx: CallContext, account_id: str, filter: Any, sort: list[dict[str, Any]], args: dict[str, Any]
    ) -> list[str]:
        """Ids matching ``filter`` in ``sort`` order (already validated)."""
        raise NotImplementedError

    def query_page(
        self,
        ctx: CallContext,
        account_id: str,
        filter: Any,
        sort: list[dict[str, Any]],
        args: dict[str, Any],
        limit: int,
        want_total: bool,
    ) -> tuple[int, list[str], int | None]:
        """(position, ids of the page, total or None) for a checked /query.

        By default every matching id is materialised by :meth:`query` and
        windowed in Python; a type with many objects (Email) overrides this
        to push position, anchor and limit into SQL. ``limit`` is already
        clamped to the server maximum; ``total`` may be None unless
        ``want_total``. Unknown anchors raise ``MethodError("anchorNotFound")``.
        """
        ids = list(self.query(ctx, account_id, filter, sort, args))
        position, page, _ = window(ids, args, limit)
        return position, page, len(ids) if want_total else None

    # -- rules: override ----------------------------------------------------
    def prologue(self, ctx: CallContext, verb: str, account_id: str, args: dict[str, Any]) -> None:
        """Runs before every standard method of the type, once its arguments
        and account are checked and before any state is read: the place for
        lazy set-up such as creating a default Identity."""

    def check_get_args(self, ctx: CallContext, args: dict[str, Any]) -> None:
        """Check the type's extra /get arguments; raise ``MethodError``."""

    def check_set_args(self, ctx: CallContext, args: dict[str, Any]) -> None:
        """Check the type's extra /set arguments; raise ``MethodError``."""

    def check_query_args(self, ctx: CallContext, args: dict[str, Any]) -> None:
        """Check the type's extra /query and /queryChanges arguments."""

    def check_comparator(self, comparator: dict[str, Any]) -> None:
        """Check a comparator's extra members (``keyword`` for Email's
        ``hasKeyword``) after the engine checked ``property`` and ``collation``."""

    def check_filter(self, name: str, value: Any) -> bool:
        """Whether a filter condition value is well-typed (else invalidArguments)."""
        spec = self.filters.get(name, "Any")
        return CHECKS[spec](value) if spec in CHECKS else True

    def can_calculate_changes(self, args: dict[str, Any]) -> bool:
        """Whether /queryChanges can follow this query (``canCalculateChanges``)."""
        return True

    def validate(
        self, ctx: CallContext, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        """Cross-property and cross-object rules; raise :class:`SetError`."""

    def check_destroy(self, ctx: CallContext, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        """Refuse a destroy (e.g. ``mailboxHasChild``) by raising SetError."""

    def after_set(self, ctx: CallContext, account_id: str, args: dict[str, Any], response: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Implicit calls after a /set (EmailSubmission onSuccess…)."""
        return []

    # -- /copy ------------------------------------------------------------------
    def copy_object(self, ctx: CallContext, from_account: str, to_account: str, source: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        """The object to create in the target account for a /copy."""
        obj = {k: v for k, v in source.items() if k != "id" and not self.properties.get(k, Prop()).server_set}
        obj.update({k: v for k, v in overrides.items() if k != "id"})
        return obj

    def quota_octets(self, obj: dict[str, Any]) -> int:
        """Octets an object counts for when the type declares ``octets`` in
        ``quota_resources`` and the engine stores it (its JSON size by default)."""
        import orjson

        return len(orjson.dumps({k: v for k, v in obj.items() if k not in ("myRights", "shareWith")}))

    def log_account(self, account_id: str) -> str:
        """The account whose change log carries this type's state (Principals:
        one directory log seen from every account)."""
        return account_id

    def visible_changes(
        self, ctx: CallContext, account_id: str, since: int, changes: ChangeSet
    ) -> tuple[list[str], list[str], list[str]]:
        """(created, updated, destroyed) of a /changes as the caller may see them.

        A sharee must not learn the ids of objects they cannot read, not even
        as ``destroyed``. A shareable type gets this from the engine
        (:func:`jmapd.sharing.filter_changes`); a type whose objects are
        readable through a container (ContactCard through its AddressBooks)
        overrides it, reporting only what the caller can read now and, as
        destroyed, only what a row of the window shows they could have read
        (:func:`jmapd.sharing.tagged_ids`)."""
        if self.sharing is not None:
            from ..sharing import filter_changes

            return filter_changes(self, ctx, account_id, since, changes)
        return changes.created, changes.updated, changes.destroyed

    def query_changes_touched(
        self,
        ctx: CallContext,
        account_id: str,
        since: int,
        state: str,
        changes: ChangeSet,
        args: dict[str, Any],
        sort: list[dict[str, Any]],
    ) -> tuple[set[str], set[str]]:
        """(touched, removed) for a /queryChanges from ``since`` to ``state``.

        Every touched id still in the results is re-added at its index, every
        removed one reported removed (RFC 8620 §5.6 lets a server report more
        than moved). The default is the changes the caller may see
        (:meth:`visible_changes`); a type whose results depend on other
        objects (Email under ``collapseThreads`` or a Thread keyword filter)
        widens ``touched`` to them, and may raise
        ``MethodError("cannotCalculateChanges")`` when it cannot tell.
        """
        created, updated, destroyed = self.visible_changes(ctx, account_id, since, changes)
        return set(created) | set(updated) | set(destroyed), set(updated) | set(destroyed)

    def may_create_shared(self, ctx: CallContext, account_id: str, obj: dict[str, Any], access: Access) -> bool:
        """Whether a sharee without full access may create ``obj`` (a child
        Mailbox where they have mayCreateChild); the owner always may."""
        return False

    def insert_copy(
        self, ctx: CallContext, from_account: str, to_account: str, source: dict[str, Any], obj: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Create the copy ``obj`` of ``source``, returning the ``created``
        entry (with ``id``); None (the default) lets the engine create it
        exactly as /set would (defaults, :meth:`validate`, :meth:`insert`).
        Override when a copy shares content /set cannot express (Email's blob)."""
        return None

    def blob_ids(self, obj: dict[str, Any]) -> list[str]:
        """Blobs this object keeps alive (for Blob/lookup and collection)."""
        return []


def not_found_error() -> SetError:
    return SetError("notFound")
