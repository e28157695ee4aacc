"""urn:ietf:params:jmap:principals (RFC 9670): Principal and ShareNotification.

Principals are read in the caller's own account: every personal account
shows the whole directory, whose change log is one (see
``jmapd.sharing.DIRECTORY_ACCOUNT``). ShareNotifications live in the
sharee's personal account beside them, as the RFC asks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jmapd import hookimpl, sharing
from jmapd.methods.context import CallContext
from jmapd.methods.documents import DocumentType
from jmapd.methods.registry import Capability
from jmapd.methods.types import DataType, Invalid, P, PrincipalFilter, TypeExtension
from jmapd.models import PrincipalRecord
from jmapd.protocol.errors import MethodError, SetError

PRINCIPALS = sharing.PRINCIPALS
TYPES = ("individual", "group", "resource", "location", "other")
COLUMNS = {"type": "type", "name": "name", "description": "description", "email": "email", "timeZone": "time_zone"}


def _account_value(account_id: str, services: Any) -> dict[str, Any] | None:
    owner = sharing.owner_principal(account_id)
    return {"currentUserPrincipalId": owner} if owner else None


def _type_check(value: Any) -> None:
    if value not in TYPES:
        raise Invalid("", f"one of {', '.join(TYPES)}")


def _condition_names(node: Any) -> set[str]:
    if not isinstance(node, dict):
        return set()
    if "operator" in node:
        return set().union(*(_condition_names(c) for c in node.get("conditions") or []))
    return set(node)


def _contains(haystack: Any, needle: str) -> bool:
    return isinstance(haystack, str) and needle.casefold() in haystack.casefold()


class Principal(DataType):
    name = "Principal"
    capability = PRINCIPALS
    id_prefix = "P"
    set_verbs = frozenset({"update"})
    properties = {
        "type": P("String", check=_type_check, default="individual"),
        "name": P("String", required=True),
        "description": P("String", nullable=True, default=None),
        "email": P("String", nullable=True, default=None),
        "timeZone": P("String", nullable=True, default=None),
        "capabilities": P("Object", server_set=True),
        "accounts": P("Object", server_set=True, nullable=True),
    }
    filters = {
        "accountIds": "String[]", "email": "String", "name": "String", "text": "String", "type": "String",
        "timeZone": "String",
    }
    sorts = frozenset({"name", "type", "email"})

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        #: What plugins added to Principal/query (:meth:`extend`), by condition name.
        self.extra_filters: dict[str, PrincipalFilter] = {}

    def extend(self, extension: TypeExtension) -> None:
        """Take a :class:`PrincipalFilter`: its conditions join Principal/query."""
        if not isinstance(extension, PrincipalFilter) or extension.matching is None:
            raise TypeError("Principal takes a jmapd.methods.types.PrincipalFilter with matching")
        clash = set(extension.filters) & (set(self.filters) | set(self.extra_filters))
        if clash:
            raise ValueError(f"{sorted(clash)[0]} is already a Principal/query filter condition")
        self.extra_filters.update(dict.fromkeys(extension.filters, extension))
        # per instance: each registry (server) has its own plugins' conditions
        self.filters = {**self.filters, **extension.filters}  # type: ignore[misc]

    def log_account(self, account_id: str) -> str:
        return sharing.DIRECTORY_ACCOUNT

    def load(self, ctx: CallContext, account_id: str, ids: list[str] | None, properties: list[str], args: dict[str, Any]) -> dict[str, dict[str, Any]]:
        query = PrincipalRecord.select()
        if ids is not None:
            if not ids:
                return {}
            query = query.where(PrincipalRecord.id.in_(ids))
        owned: dict[str, list[str]] = {}
        for info in ctx.principal.accounts.values():
            owner = sharing.owner_principal(info.id)
            if owner:
                owned.setdefault(owner, []).append(info.id)
        out = {}
        for row in query.order_by(PrincipalRecord.created, PrincipalRecord.id):
            accounts = {
                aid: {
                    "name": ctx.principal.accounts[aid].name,
                    "isPersonal": ctx.principal.accounts[aid].is_personal,
                    "isReadOnly": ctx.principal.accounts[aid].read_only,
                    "accountCapabilities": ctx.principal.accounts[aid].capabilities,
                }
                for aid in owned.get(row.id, [])
            }
            out[row.id] = {
                "id": row.id, "type": row.type, "name": row.name, "description": row.description,
                "email": row.email, "timeZone": row.time_zone, "capabilities": self._capabilities(ctx, row),
                "accounts": accounts or None,
            }
        return out

    def _capabilities(self, ctx: CallContext, row: PrincipalRecord) -> dict[str, Any]:
        return ctx.services.hooks.principal_capabilities(ctx.services, row.id, row.user_id, ctx.principal)

    def validate(self, ctx: CallContext, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        """RFC 9670 §3.3: a user may rename and describe only themselves."""
        if old is None or obj["id"] != ctx.principal.principal_id:
            raise SetError("forbidden", "you may change only your own Principal")
        changed = {k for k in COLUMNS if obj.get(k) != old.get(k)}
        if changed - {"name", "description", "timeZone"}:
            raise SetError("forbidden", "only name, description and timeZone may be changed")

    def replace(self, ctx: CallContext, account_id: str, old: dict[str, Any], new: dict[str, Any], changed: set[str]) -> dict[str, Any] | None:
        PrincipalRecord.update(**{COLUMNS[k]: new[k] for k in changed if k in COLUMNS}).where(
            PrincipalRecord.id == old["id"]
        ).execute()
        return None

    def query(self, ctx: CallContext, account_id: str, filter: Any, sort: list[dict[str, Any]], args: dict[str, Any]) -> list[str]:
        from jmapd.methods.collation import sort_key

        for name in _condition_names(filter) & set(self.extra_filters):
            needed = self.extra_filters[name].capability
            if needed and needed not in ctx.request.using:
                raise MethodError("unsupportedFilter", f"filter condition {name} needs {needed} in using")
        objects = list(self.load(ctx, account_id, None, self.default_properties(), {}).values())
        matched: dict[tuple[str, str], set[str]] = {}

        def extra(name: str, value: Any) -> set[str]:
            key = (name, repr(value))
            if key not in matched:
                matching = self.extra_filters[name].matching
                assert matching is not None
                matched[key] = matching(ctx, name, value)
            return matched[key]

        objects = [o for o in objects if self._matches(o, filter, extra)]
        for comparator in reversed(sort):
            def key(o: dict[str, Any], c: dict[str, Any] = comparator) -> Any:
                return sort_key(o.get(c["property"]) or "", c.get("collation"))

            objects.sort(key=key, reverse=not comparator.get("isAscending", True))
        return [o["id"] for o in objects]

    def _matches(self, obj: dict[str, Any], node: Any, extra: Callable[[str, Any], set[str]]) -> bool:
        if node is None:
            return True
        if "operator" in node:
            results = [self._matches(obj, c, extra) for c in node["conditions"]]
            return all(results) if node["operator"] == "AND" else any(results) if node["operator"] == "OR" else not any(results)
        for name, value in node.items():
            if name == "accountIds":
                if not set(value) & set(obj["accounts"] or {}):
                    return False
            elif name in ("email", "name"):
                if not _contains(obj[name], value):
                    return False
            elif name in self.extra_filters:
                if obj["id"] not in extra(name, value):
                    return False
            elif name == "text":
                if not any(_contains(obj[k], value) for k in ("name", "email", "description")):
                    return False
            elif obj.get(name) != value:
                return False
        return True


def _after(obj: dict[str, Any], value: str) -> bool:
    return str(obj.get("created", "")) >= value


def _before(obj: dict[str, Any], value: str) -> bool:
    return str(obj.get("created", "")) < value


class ShareNotification(DocumentType):
    name = sharing.NOTIFICATION_TYPE
    capability = PRINCIPALS
    id_prefix = "N"
    set_verbs = frozenset({"destroy"})
    properties = {
        "created": P("UTCDate", server_set=True),
        "changedBy": P("Object", server_set=True),
        "objectType": P("String", server_set=True),
        "objectAccountId": P("Id", server_set=True),
        "objectId": P("Id", server_set=True),
        "oldRights": P("Object", server_set=True, nullable=True),
        "newRights": P("Object", server_set=True, nullable=True),
        "name": P("String", server_set=True),
    }
    filters = {"after": "UTCDate", "before": "UTCDate", "objectType": "String", "objectAccountId": "Id"}
    predicates = {
        "after": _after,
        "before": _before,
        "objectType": lambda obj, v: obj.get("objectType") == v,
        "objectAccountId": lambda obj, v: obj.get("objectAccountId") == v,
    }
    sorts = frozenset({"created"})


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    return [Capability(PRINCIPALS, session={}, account=_account_value)]


@hookimpl
def jmapd_data_types(config: Any) -> list[DataType]:
    return [Principal(config), ShareNotification(config)]
