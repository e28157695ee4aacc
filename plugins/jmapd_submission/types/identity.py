"""Identity (RFC 8621 §6): the addresses a user sends from, as documents.

Every account has an undeletable default identity. It is made with the
account (``jmapd_account_created``); accounts created while this plugin
was disabled get it lazily, on their first Identity or EmailSubmission
call (:func:`ensure_default_identity`).
"""

from __future__ import annotations

import logging
from typing import Any

from jmapd.methods.context import CallContext
from jmapd.methods.documents import DocumentType
from jmapd.methods.types import Invalid, P
from jmapd.models import Document, new_id
from jmapd.protocol.errors import MethodError, SetError
from jmapd.sharing import access
from jmapd.state import CREATED, ChangeLog

from ..capability import SUBMISSION
from ..domain.addresses import validate_mailbox
from ..senders import allowed_addresses, may_send_as, owner_name, primary_address

log = logging.getLogger("jmapd.submission")


def _check_email(value: str) -> None:
    problems = validate_mailbox(value)
    if problems:
        raise Invalid("", problems[0].detail)


def _check_addresses(value: list[dict[str, Any]]) -> None:
    """EmailAddress[]: ``{name: String|null, email: String}`` each; every bad
    member of every item is named (RFC 8620 §5.3)."""
    found: list[tuple[str, str | None]] = []
    for i, item in enumerate(value):
        found += [(f"{i}/{key}", "unknown property") for key in sorted(set(item) - {"name", "email"})]
        if item.get("name") is not None and not isinstance(item["name"], str):
            found.append((f"{i}/name", "expected String or null"))
        email = item.get("email")
        if not isinstance(email, str):
            found.append((f"{i}/email", "expected String"))
        elif problems := validate_mailbox(email):
            found.append((f"{i}/email", problems[0].detail))
    Invalid.raise_any(found)


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

    def prologue(self, ctx: CallContext, verb: str, account_id: str, args: dict[str, Any]) -> None:
        """The default identity exists before any Identity method looks.

        NOTE(sharing): a delegate sees and uses the owner's Identities only
        with the ``submit`` right; without it every Identity method is
        ``forbidden`` (a ``read``/``write`` delegate does not learn the
        owner's signatures or reply-to, and cannot send as them).
        """
        if not access(ctx, account_id).may_submit:
            raise MethodError("forbidden", "the Identities of this account are its senders' (no submit right)")
        ensure_default_identity(ctx, account_id)

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


def create_default_identity(config: Any, account_id: str, user_name: str, changes: ChangeLog | None = None) -> str:
    """Store the undeletable default identity of an account, logging the
    change so /changes from the account's first state reports it.

    Runs inside the caller's write transaction; the change is flushed here
    unless the caller passes its own ``changes`` log to flush."""
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
    own = changes is None
    changes = changes if changes is not None else ChangeLog()
    changes.record(account_id, Identity.name, identity_id, CREATED)
    if own:
        changes.flush()
    return identity_id


def has_identity(account_id: str) -> bool:
    return bool(
        Document.select(Document.id)
        .where((Document.account_id == account_id) & (Document.type_name == Identity.name))
        .exists()
    )


def ensure_default_identity(ctx: CallContext, account_id: str) -> None:
    """Create the default identity of ``account_id`` (already checked to be
    usable for submission) if the account has no identity at all: its user
    was created before this plugin was enabled.

    Checked again under the account's write lock, so concurrent first calls
    create one identity; the change is recorded like any other, so clients
    learn of it from Identity/changes and push.
    """
    if has_identity(account_id):
        return
    user_name = owner_name(account_id)
    if user_name is None:
        return
    with ctx.write(account_id):
        if has_identity(account_id):
            return
        identity_id = create_default_identity(ctx.config, account_id, user_name, ctx.changes)
    log.info("created default identity %s for %s (account %s)", identity_id, user_name, account_id)
