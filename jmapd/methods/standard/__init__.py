"""The six standard methods of RFC 8620 §5, derived from a DataType."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .changes import standard_changes
from .copy import standard_copy
from .get import standard_get
from .query import standard_query, standard_query_changes
from .set import standard_set

if TYPE_CHECKING:
    from ..types import DataType

VERBS = {
    "get": standard_get,
    "changes": standard_changes,
    "set": standard_set,
    "copy": standard_copy,
    "query": standard_query,
    "queryChanges": standard_query_changes,
}


def handlers_for(data_type: DataType) -> dict[str, Any]:
    """``{"Foo/get": handler, ...}`` for the verbs the type declares."""
    out = {}
    for verb in data_type.verbs:
        fn = VERBS[verb]

        def handler(ctx: Any, args: dict[str, Any], _fn: Any = fn) -> Any:
            return _fn(data_type, ctx, args)

        out[f"{data_type.name}/{verb}"] = handler
    return out
