"""DocumentType: a data type stored as JSON documents in one shared table.

For the many small types (identities, push subscriptions, address books…)
a table of their own buys nothing: a DocumentType only declares its
properties, filters and sorts, and gets storage and /query for free.
Large types (Email) implement the storage hooks against their own tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from ..db import tuples
from ..models import BlobRef, Document, now
from .collation import sort_key
from .types import DataType

if TYPE_CHECKING:
    from .context import CallContext


class DocumentType(DataType):
    """Storage in ``jmap_document``; filters are Python predicates."""

    #: filter name → (value type, predicate(obj, value) -> bool)
    predicates: ClassVar[dict[str, Callable[[dict[str, Any], Any], bool]]] = {}
    #: NOTE(bulk): a created object's document and blob references wait in
    #: :meth:`jmapd.state.ChangeLog.defer_insert` and go in with the other
    #: creations of the /set, many rows per statement. Only for types whose
    #: ids are fresh random ones and whose creations read no document of
    #: their own type created in the same /set.
    defer_inserts: ClassVar[bool] = False

    def load(self, ctx: CallContext, account_id: str, ids: list[str] | None, properties: list[str], args: dict[str, Any]) -> dict[str, dict[str, Any]]:
        query = Document.select(Document.object_id, Document.data).where(
            (Document.account_id == account_id) & (Document.type_name == self.name)
        )
        if ids is not None:
            if not ids:
                return {}
            query = query.where(Document.object_id.in_(ids))
        out = {}
        for object_id, data in tuples(query.order_by(Document.id)):
            obj = self.decode(data)
            obj["id"] = object_id
            out[object_id] = self.computed(ctx, account_id, obj)
        return out

    def decode(self, data: Any) -> dict[str, Any]:
        import orjson

        return orjson.loads(data) if isinstance(data, (str, bytes)) else dict(data)

    def computed(self, ctx: CallContext, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Fill in computed properties (e.g. rights) at read time."""
        return obj

    def stored(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if k != "id"}

    def insert(self, ctx: CallContext, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        if not self.defer_inserts:
            Document.insert(account_id=account_id, type_name=self.name, object_id=obj["id"], data=self.stored(obj)).execute()
            self._refs(account_id, obj)
            return {}
        ctx.changes.defer_insert(Document, {"account_id": account_id, "type_name": self.name, "object_id": obj["id"],
                                            "data": self.stored(obj), "created": now()})
        for blob_id in dict.fromkeys(self.blob_ids(obj)):  # a fresh id has no references to replace
            ctx.changes.defer_insert(BlobRef, {"account_id": account_id, "blob_id": blob_id,
                                               "type_name": self.name, "object_id": obj["id"]})
        return {}

    def replace(self, ctx: CallContext, account_id: str, old: dict[str, Any], new: dict[str, Any], changed: set[str]) -> dict[str, Any] | None:
        Document.update(data=self.stored(new)).where(
            (Document.account_id == account_id) & (Document.type_name == self.name) & (Document.object_id == old["id"])
        ).execute()
        self._refs(account_id, new)
        return None

    def delete(self, ctx: CallContext, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        Document.delete().where(
            (Document.account_id == account_id) & (Document.type_name == self.name) & (Document.object_id == obj["id"])
        ).execute()
        BlobRef.delete().where(
            (BlobRef.account_id == account_id) & (BlobRef.type_name == self.name) & (BlobRef.object_id == obj["id"])
        ).execute()

    def _refs(self, account_id: str, obj: dict[str, Any]) -> None:
        blob_ids = self.blob_ids(obj)
        BlobRef.delete().where(
            (BlobRef.account_id == account_id) & (BlobRef.type_name == self.name) & (BlobRef.object_id == obj["id"])
        ).execute()
        for blob_id in dict.fromkeys(blob_ids):
            BlobRef.insert(account_id=account_id, blob_id=blob_id, type_name=self.name, object_id=obj["id"]).execute()

    # -- query ------------------------------------------------------------
    def matches(self, obj: dict[str, Any], node: Any) -> bool:
        if node is None:
            return True
        if "operator" in node:
            results = (self.matches(obj, c) for c in node["conditions"])
            if node["operator"] == "AND":
                return all(results)
            if node["operator"] == "OR":
                return any(results)
            return not any(results)
        return all(self.predicates[name](obj, value) for name, value in node.items())

    def query(self, ctx: CallContext, account_id: str, filter: Any, sort: list[dict[str, Any]], args: dict[str, Any]) -> list[str]:
        objects = list(self.load(ctx, account_id, None, self.default_properties(), {}).values())
        objects = [o for o in objects if self.matches(o, filter)]
        for comparator in reversed(sort):
            def key(o: dict[str, Any], c: dict[str, Any] = comparator) -> Any:
                return sort_key(self.sort_value(o, c["property"]), c.get("collation"))

            objects.sort(key=key, reverse=not c_asc(comparator))
        return [o["id"] for o in objects]

    def sort_value(self, obj: dict[str, Any], prop: str) -> Any:
        return obj.get(prop)


def c_asc(comparator: dict[str, Any]) -> bool:
    return bool(comparator.get("isAscending", True))
