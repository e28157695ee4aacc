"""urn:ietf:params:jmap:quota (RFC 9425): Quota/get, /changes, /query, /queryChanges.

Quota objects are computed from :mod:`jmapd.quota` (limits and usage
counters); their ``types`` are the types that declared
``quota_resources``, filtered to the capabilities the request uses.
"""

from __future__ import annotations

from typing import Any

from jmapd import hookimpl, quota
from jmapd.methods.collation import sort_key
from jmapd.methods.context import CallContext
from jmapd.methods.registry import Capability
from jmapd.methods.types import DataType, P

QUOTA = "urn:ietf:params:jmap:quota"


class Quota(DataType):
    name = quota.QUOTA_TYPE
    capability = QUOTA
    verbs = ("get", "changes", "query", "queryChanges")
    properties = {
        "resourceType": P("String", server_set=True),
        "used": P("UnsignedInt", server_set=True),
        "hardLimit": P("UnsignedInt", server_set=True),
        "warnLimit": P("UnsignedInt", server_set=True, nullable=True),
        "softLimit": P("UnsignedInt", server_set=True, nullable=True),
        "scope": P("String", server_set=True),
        "name": P("String", server_set=True),
        "description": P("String", server_set=True, nullable=True),
        "types": P("String[]", server_set=True),
    }
    reports_updated_properties = True
    count_properties = frozenset({"used"})
    filters = {"name": "String", "scope": "String", "resourceType": "String", "type": "String"}
    sorts = frozenset({"name", "used"})

    def load(self, ctx: CallContext, account_id: str, ids: list[str] | None, properties: list[str], args: dict[str, Any]) -> dict[str, dict[str, Any]]:
        types = ctx.services.registry.data_types
        known = [dt for dt in types.values() if dt.capability in ctx.request.using]
        octet_types = sorted(dt.name for dt in known if "octets" in dt.quota_resources)
        counted = sorted(dt.name for dt in types.values() if "count" in dt.quota_resources)
        section = ctx.config.quota
        out = {}
        for q in quota.quotas(ctx.config, account_id, octet_types, counted):
            visible = [t for t in q.types if t in {dt.name for dt in known}]
            if not visible or (ids is not None and q.id not in ids):
                continue  # RFC 9425 §3: never a Quota of types the client does not know
            out[q.id] = {
                "id": q.id, "resourceType": q.resource, "used": q.used, "hardLimit": q.hard,
                "warnLimit": q.hard * section.warn_percent // 100,
                "softLimit": None if section.soft_percent is None else q.hard * section.soft_percent // 100,
                "scope": q.scope, "name": q.name, "description": q.description, "types": visible,
            }
        return out

    def query(self, ctx: CallContext, account_id: str, filter: Any, sort: list[dict[str, Any]], args: dict[str, Any]) -> list[str]:
        objects = list(self.load(ctx, account_id, None, self.default_properties(), {}).values())
        objects = [o for o in objects if self._matches(o, filter)]
        for comparator in reversed(sort):
            def key(o: dict[str, Any], c: dict[str, Any] = comparator) -> Any:
                return sort_key(o[c["property"]], c.get("collation"))

            objects.sort(key=key, reverse=not comparator.get("isAscending", True))
        return [o["id"] for o in objects]

    def _matches(self, obj: dict[str, Any], node: Any) -> bool:
        if node is None:
            return True
        if "operator" in node:
            results = [self._matches(obj, c) for c in node["conditions"]]
            if node["operator"] == "AND":
                return all(results)
            return any(results) if node["operator"] == "OR" else not any(results)
        for name, value in node.items():
            if name == "name" and value.casefold() not in obj["name"].casefold():
                return False
            if name in ("scope", "resourceType") and obj[name] != value:
                return False
            if name == "type" and value not in obj["types"]:
                return False
        return True


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    return [Capability(QUOTA, session={}, account={})]


@hookimpl
def jmapd_data_types(config: Any) -> list[DataType]:
    return [Quota(config)]
