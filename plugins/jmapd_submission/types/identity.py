"""Identity (RFC 8621 §6): the addresses a user sends from, as documents."""

from __future__ import annotations

from typing import Any

from jmapd.methods.documents import DocumentType
from jmapd.methods.types import Invalid, P
from jmapd.models import Document, new_id
from jmapd.protocol.errors import SetError
from jmapd.state import CREATED, ChangeLog

from ..capability import SUBMISSION
from ..domain.addresses import validate_mailbox
from ..senders import allowed_addresses, may_send_as, owner_name, primary_address


def _check_email(value: str) -> None:
    problems = validate_mailbox(value)
    if problems:
        raise Invalid("", problems[0].detail)


def _check_addresses(value: list[dict[str, Any]]) -> None:
    """EmailAddress[]: ``{name: String|null, email: String}`` each."""
    for i, item in enumerate(value):
        unknown = set(item) - {"name", "email"}
        if unknown:
            raise Invalid(f"{i}/{sorted(unknown)[0]}", "unknown property")
        if item.get("name") is not None and not isinstance(item["name"], str):
            raise Invalid(f"{i}/name", "expected String or null")
        email = item.get("email")
        if not isinstance(email, str):
            raise Invalid(f"{i}/email", "expected String")
        problems = validate_mailbox(email)
        if problems:
            raise Invalid(f"{i}/email", problems[0].detail)


class Identity(DocumentType):
    name = "Identity"
    capability = SUBMISSION
    id_prefix = "I"
    verbs = ("get", "changes", "set")
    properties = {
        "name": P("String", default=""),
        "email": P("String", required=True, immutable=True, check=_check_email),
        "replyTo": P("Object[]", nullable=True, default=None, check=_check_addresses),
        "bcc": P("Object[]", nullable=True, default=None, check=_check_addresses),
        "textSignature": P("String", default=""),
        "htmlSignature": P("String", default=""),
        "mayDelete": P("Boolean", server_set=True),
    }

    def validate(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if old is None:
            allowed = allowed_addresses(ctx.config, owner_name(account_id))
            if not may_send_as(allowed, obj["email"]):
                raise SetError("forbiddenFrom", f"you may not send as {obj['email']}")

    def insert(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj["mayDelete"] = True
        super().insert(ctx, account_id, obj)
        return {"mayDelete": True}

    def check_destroy(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        if not obj.get("mayDelete", True):
            raise SetError("forbidden", "the default identity cannot be destroyed")


def create_default_identity(config: Any, account_id: str, user_name: str) -> str:
    """Store the undeletable default identity of a new account, logging the
    change so /changes from the account's first state reports it."""
    identity_id = new_id(Identity.id_prefix)
    data = {
        "name": "",
        "email": primary_address(config, user_name),
        "replyTo": None,
        "bcc": None,
        "textSignature": "",
        "htmlSignature": "",
        "mayDelete": False,
    }
    Document.insert(account_id=account_id, type_name=Identity.name, object_id=identity_id, data=data).execute()
    log = ChangeLog()
    log.record(account_id, Identity.name, identity_id, CREATED)
    log.flush()
    return identity_id
