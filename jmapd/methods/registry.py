"""What plugins contribute: capabilities and methods, collected per app."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..plugins import PluginError
from .standard import handlers_for
from .types import CHECKS, STANDARD_VERBS

if TYPE_CHECKING:
    from .context import CallContext
    from .types import DataType, TypeExtension

REFS = (None, "id", "ids", "idmap")


def _positional_arity(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


@dataclass
class Capability:
    """A capability URN with its session object and (if any) account object.

    ``account`` is a dict (by default empty: the common case, a capability
    every account has), or a callable ``(account_id, services) -> dict``
    returning None when that account lacks the capability; None for
    capabilities that are not per account (core, websocket), which then
    cannot carry data types.
    """

    urn: str
    #: A dict, or a callable of ``(config)`` or ``(config, base_url)``.
    session: dict[str, Any] | Callable[..., dict[str, Any]] = field(default_factory=dict)
    account: dict[str, Any] | Callable[[str, Any], dict[str, Any] | None] | None = field(default_factory=dict)
    requires: tuple[str, ...] = ()

    def session_value(self, config: Any, base_url: str = "") -> dict[str, Any]:
        """The session object; a callable taking two arguments also gets the
        request's base URL (for capabilities that advertise a URL, e.g. websocket)."""
        if not callable(self.session):
            return dict(self.session)
        if _positional_arity(self.session) >= 2:
            return self.session(config, base_url)
        return self.session(config)

    def account_value(self, account_id: str, services: Any) -> dict[str, Any] | None:
        if self.account is None:
            return None
        if callable(self.account):
            return self.account(account_id, services)
        return dict(self.account)


@dataclass
class Method:
    """A method of a plugin's own; every handler runs in the worker thread
    pool and opens a write transaction (``ctx.write``) only if it writes."""

    name: str
    handler: Callable[[CallContext, dict[str, Any]], Any]
    capability: str


def declaration_errors(data_type: DataType) -> list[str]:
    """What is wrong with a type's declaration, each naming what was expected.

    Checked when the type is registered, so a typo stops start-up instead
    of surfacing as a ``KeyError`` (or a silent default) on the first call.
    """
    errors = []
    for attr in ("name", "capability"):
        if not isinstance(getattr(type(data_type), attr, None), str):
            errors.append(f"class attribute {attr!r} must be a string")
    for verb in data_type.verbs:
        if verb not in STANDARD_VERBS:
            errors.append(f"unknown verb {verb!r} (expected one of {', '.join(STANDARD_VERBS)})")
    for name, prop in data_type.properties.items():
        if prop.type not in CHECKS:
            errors.append(f"property {name!r} has unknown type {prop.type!r} (expected one of {', '.join(CHECKS)})")
        if prop.ref not in REFS:
            errors.append(f"property {name!r} has unknown ref {prop.ref!r} (expected id, ids, idmap or None)")
    for name in data_type.sorts:
        if not isinstance(name, str):
            errors.append(f"sort {name!r} must be a property name")
    return errors


@dataclass
class Registry:
    capabilities: dict[str, Capability] = field(default_factory=dict)
    methods: dict[str, Method] = field(default_factory=dict)
    data_types: dict[str, DataType] = field(default_factory=dict)
    #: Which plugin contributed each capability, method and data type
    #: (named in start-up errors).
    origin: dict[str, str] = field(default_factory=dict)

    def add_capability(self, capability: Capability, plugin: str = "?") -> None:
        if capability.urn in self.capabilities:
            raise PluginError(f"plugin {plugin!r}: capability {capability.urn} registered twice")
        self.capabilities[capability.urn] = capability
        self.origin[capability.urn] = plugin

    def add_method(self, method: Method, plugin: str = "?") -> None:
        if method.name in self.methods:
            raise PluginError(
                f"plugin {plugin!r}: method {method.name} registered twice"
                f" (first by plugin {self.origin.get(method.name, '?')!r})"
            )
        self.methods[method.name] = method
        self.origin[method.name] = plugin

    def add_data_type(self, data_type: DataType, plugin: str = "?") -> None:
        errors = declaration_errors(data_type)
        label = getattr(type(data_type), "name", type(data_type).__name__)
        if errors:
            raise PluginError(f"plugin {plugin!r}: data type {label}: {'; '.join(errors)}")
        if data_type.name in self.data_types:
            raise PluginError(f"plugin {plugin!r}: data type {data_type.name} registered twice")
        self.data_types[data_type.name] = data_type
        self.origin[f"type:{data_type.name}"] = plugin
        for name, handler in handlers_for(data_type).items():
            self.add_method(Method(name, handler, data_type.capability), plugin)

    def extend_type(self, extension: TypeExtension, plugin: str = "?") -> None:
        """Hand ``extension`` to its type; a type that is not enabled or takes no
        such extension stops start-up naming both plugins."""
        data_type = self.data_types.get(extension.type_name)
        if data_type is None:
            raise PluginError(
                f"plugin {plugin!r} extends data type {extension.type_name}, which no enabled plugin declares"
            )
        try:
            data_type.extend(extension)
        except (TypeError, ValueError) as exc:
            owner = self.origin.get(f"type:{extension.type_name}", "?")
            raise PluginError(f"plugin {plugin!r} extends data type {extension.type_name} of plugin {owner!r}: {exc}") from None

    def check(self) -> None:
        """Every method's capability and every requirement must be registered,
        and a data type's capability must be per account (its methods take
        an ``accountId``; without an account part every call would answer
        ``accountNotSupportedByMethod``)."""
        for method in self.methods.values():
            if method.capability not in self.capabilities:
                raise PluginError(
                    f"plugin {self.origin.get(method.name, '?')!r}: {method.name} needs unknown capability"
                    f" {method.capability} (expected one registered by an enabled plugin's jmapd_capabilities)"
                )
        for data_type in self.data_types.values():
            cap = self.capabilities[data_type.capability]
            if cap.account is None:
                raise PluginError(
                    f"plugin {self.origin.get('type:' + data_type.name, '?')!r}: data type {data_type.name} is per"
                    f" account, but capability {cap.urn} has no account part (expected Capability({cap.urn!r},"
                    " account={...} or a callable), not account=None)"
                )
        for cap in self.capabilities.values():
            for req in cap.requires:
                if req not in self.capabilities:
                    raise PluginError(f"{cap.urn} requires {req}, which is not enabled")
