"""What plugins contribute: capabilities and methods, collected per app."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..plugins import PluginError
from .standard import WRITE_VERBS, handlers_for

if TYPE_CHECKING:
    from .context import CallContext
    from .types import DataType


def _positional_arity(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


@dataclass
class Capability:
    """A capability URN with its session object and (if any) account object.

    ``account`` is None for capabilities that are not per account (e.g.
    websocket); otherwise a dict, or a callable ``(account_id, services) -> dict``
    returning None when that account lacks the capability.
    """

    urn: str
    session: dict[str, Any] | Callable[[Any], dict[str, Any]] = field(default_factory=dict)
    account: dict[str, Any] | Callable[[str, Any], dict[str, Any] | None] | None = None
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
    name: str
    handler: Callable[[CallContext, dict[str, Any]], Any]
    capability: str
    #: Runs in the thread pool like any other; ``writes`` only documents intent.
    writes: bool = False


@dataclass
class Registry:
    capabilities: dict[str, Capability] = field(default_factory=dict)
    methods: dict[str, Method] = field(default_factory=dict)
    data_types: dict[str, DataType] = field(default_factory=dict)

    def add_capability(self, capability: Capability) -> None:
        if capability.urn in self.capabilities:
            raise PluginError(f"capability {capability.urn} registered twice")
        self.capabilities[capability.urn] = capability

    def add_method(self, method: Method) -> None:
        if method.name in self.methods:
            raise PluginError(f"method {method.name} registered twice")
        self.methods[method.name] = method

    def add_data_type(self, data_type: DataType) -> None:
        if data_type.name in self.data_types:
            raise PluginError(f"data type {data_type.name} registered twice")
        self.data_types[data_type.name] = data_type
        for name, handler in handlers_for(data_type).items():
            verb = name.split("/", 1)[1]
            self.add_method(Method(name, handler, data_type.capability, writes=verb in WRITE_VERBS))

    def check(self) -> None:
        """Every method's capability and every requirement must be registered."""
        for method in self.methods.values():
            if method.capability not in self.capabilities:
                raise PluginError(f"{method.name} needs unknown capability {method.capability}")
        for cap in self.capabilities.values():
            for req in cap.requires:
                if req not in self.capabilities:
                    raise PluginError(f"{cap.urn} requires {req}, which is not enabled")
