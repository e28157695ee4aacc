"""What other plugins add to Email (``jmapd_type_extensions``): see :class:`jmapd_mail.api.EmailExtension`.

The Email type keeps the extensions it was given; the store paths reach
them through the registry, so a delivery, an import and a /set all tell
every extension about the Emails they create and destroy.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jmapd.methods.types import Prop, TypeExtension
from jmapd.protocol.errors import MethodError


@dataclass(frozen=True)
class EmailExtension(TypeExtension):
    """Properties and filter conditions a plugin adds to Email.

    ``properties``
        name → ``P(...)`` (server-set); never among the default /get
        properties, returned only when asked for.
    ``load(ctx, account_id, emails, properties)``
        ``{email_id: {property: value}}`` for the Emails /get found; each of
        ``emails`` is a dict with at least ``id``, ``blobId``, ``receivedAt``.
    ``filters`` and ``condition(ctx, account_id, name, value, email_id)``
        name → the value's property type, and the SQL condition (a Peewee
        expression on the Email id column ``email_id``) of one condition.
    ``changing_filters``
        conditions whose matches change with no Email change (time, trust
        anchors): a query using one answers ``canCalculateChanges: false``.
    ``stored(services, account_id, email_id, raw, received_at)``, ``destroyed(services, account_id, email_id)``
        inside the write transaction of each Email created (delivery,
        Email/import, /set, /copy, ``jmapd import``) or destroyed; keep
        ``stored`` cheap for the common message: imports call it per Email.
    """

    type_name: str = "Email"
    capability: str = ""
    properties: Mapping[str, Prop] = field(default_factory=dict)
    load: Callable[..., dict[str, dict[str, Any]]] | None = None
    filters: Mapping[str, str] = field(default_factory=dict)
    condition: Callable[..., Any] | None = None
    changing_filters: frozenset[str] = frozenset()
    stored: Callable[[Any, str, str, bytes, datetime.datetime], None] | None = None
    destroyed: Callable[[Any, str, str], None] | None = None


class Extended:
    """What the store paths see of the Email type: the extensions it took
    (a base of it, so this module needs no import of the type)."""

    extensions: list[EmailExtension]


def of(services: Any) -> list[EmailExtension]:
    """The extensions of the Email type of this server (none without it)."""
    email = services.registry.data_types.get("Email")
    return email.extensions if isinstance(email, Extended) else []


def stored(services: Any, account_id: str, email_id: str, raw: bytes, received_at: datetime.datetime) -> None:
    for extension in of(services):
        if extension.stored is not None:
            extension.stored(services, account_id, email_id, raw, received_at)


def destroyed(services: Any, account_id: str, email_id: str) -> None:
    for extension in of(services):
        if extension.destroyed is not None:
            extension.destroyed(services, account_id, email_id)


def filter_names(node: Any) -> set[str]:
    """Every condition name in a (checked) filter."""
    if not isinstance(node, dict):
        return set()
    if "operator" in node:
        return set().union(*(filter_names(c) for c in node.get("conditions") or []))
    return set(node)


def require_using(extensions: list[EmailExtension], ctx: Any, properties: list[str], filter: Any) -> None:
    """RFC 8620 §3.3: what a capability adds exists only for a client ``using`` it.

    A property of one is ``invalidArguments`` (as an unknown property), a
    filter condition ``unsupportedFilter`` (RFC 8620 §5.5)."""
    using = ctx.request.using
    names = filter_names(filter)
    for extension in extensions:
        if extension.capability in using:
            continue
        for name in properties:
            if name in extension.properties:
                raise MethodError("invalidArguments", f"property {name} needs {extension.capability} in using")
        for name in names & set(extension.filters):
            raise MethodError("unsupportedFilter", f"filter condition {name} needs {extension.capability} in using")
