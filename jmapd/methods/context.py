"""What a method handler sees: the caller, their accounts, the request.

One :class:`RequestContext` per API request (created ids are shared by all
its calls); one :class:`CallContext` per method call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..accounts import AccountInfo
from ..db import write_transaction
from ..protocol.errors import MethodError
from ..state import ChangeLog

if TYPE_CHECKING:
    from ..auth import Principal
    from ..services import Services


@dataclass
class RequestContext:
    principal: Principal
    services: Services
    using: set[str]
    created_ids: dict[str, str] = field(default_factory=dict)
    base_url: str = ""
    changes: ChangeLog = field(default_factory=ChangeLog)
    responses: list[list[Any]] = field(default_factory=list)
    #: Per account: the caller's jmapd.sharing.Access, loaded once per request.
    access: dict[str, Any] = field(default_factory=dict)
    #: A grant changed in this request (the session state moved for sharees).
    shares_changed: bool = False


@dataclass
class CallContext:
    request: RequestContext
    method: str
    call_id: str

    @property
    def services(self) -> Services:
        return self.request.services

    @property
    def config(self) -> Any:
        return self.request.services.config

    @property
    def principal(self) -> Principal:
        return self.request.principal

    @property
    def changes(self) -> ChangeLog:
        return self.request.changes

    def account(
        self,
        account_id: Any,
        capability: str | None = None,
        *,
        write: bool = False,
        not_found: str = "accountNotFound",
        not_supported: str = "accountNotSupportedByMethod",
    ) -> AccountInfo:
        """The account ``account_id`` if the caller may use it for this call.

        An account the caller has no access to is indistinguishable from one
        that does not exist, so ids cannot be probed.
        """
        if not isinstance(account_id, str):
            raise MethodError("invalidArguments", "accountId must be a string")
        account = self.principal.accounts.get(account_id)
        if account is None or (account.level == "shared" and capability is None):
            # a sharee of single objects reaches them only through their types
            raise MethodError(not_found)
        if capability and capability not in account.capabilities:
            raise MethodError(not_supported)
        if write and account.read_only:
            raise MethodError("accountReadOnly")
        return account

    @contextlib.contextmanager
    def write(self, account_id: str) -> Iterator[None]:
        """The write transaction of one method call; changes are logged in it."""
        mark = self.changes.mark()
        with write_transaction(account_id):
            try:
                yield
            except BaseException:
                self.changes.rollback(mark)  # rolled back: nothing it buffered may reach a later call
                raise
            self.changes.flush()

    def resolve_id(self, value: Any) -> Any:
        """Replace a ``#creationId`` by the id it created in this request."""
        if isinstance(value, str) and value.startswith("#"):
            return self.request.created_ids.get(value[1:], value)
        return value

    def creation_ref(self, value: str) -> str | None:
        """The real id for ``#creationId``; None if it names no creation."""
        return self.request.created_ids.get(value[1:]) if value.startswith("#") else value

    def call(self, name: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Run another plugin's method in the same request, as the dispatcher
        would (an implicit Email/set, an Identity/get): ``(name, arguments)``
        of its first response, ``("error", {...})`` for a method error or a
        method that is not enabled."""
        method = self.services.registry.methods.get(name)
        if method is None:
            return "error", {"type": "unknownMethod", "description": f"{name} is not enabled"}
        sub = CallContext(request=self.request, method=name, call_id=self.call_id)
        try:
            result = method.handler(sub, args)
        except MethodError as exc:
            return "error", exc.to_args()
        if isinstance(result, list):
            first: tuple[str, dict[str, Any]] = result[0]
            return first
        return name, result
