"""AddressBook: a named, shareable collection of ContactCards (RFC 9610 §2).

Stored as documents. Exactly one address book per account is the default:
the first one is made by :meth:`AddressBook.prologue` (so a new account has
somewhere to put cards without a client having to create one) and
``onSuccessSetIsDefault`` moves the flag. Rights are RFC 9610's
AddressBookRights; ``isSubscribed`` is kept per sharee through the core
sharing (``per_user``), so a sharee unsubscribing does not hide the book
from its owner.
"""

from __future__ import annotations

import logging
from typing import Any

from jmapd.db import tuples
from jmapd.methods.documents import DocumentType
from jmapd.methods.types import Invalid, P
from jmapd.models import Document, new_id
from jmapd.sharing import Sharing, access
from jmapd.state import CREATED, UPDATED, current_state

log = logging.getLogger("jmapd.contacts")

CONTACTS = "urn:ietf:params:jmap:contacts"
RIGHTS = ("mayRead", "mayWrite", "mayShare", "mayDelete")


def _check_name(value: str) -> None:
    if not value:
        raise Invalid("", "name must not be the empty string")
    if len(value.encode("utf-8")) > 255:
        raise Invalid("", "name is longer than 255 octets")


def _check_sort_order(value: int) -> None:
    if value >= 2**31:
        raise Invalid("", "sortOrder must be below 2^31")


class AddressBook(DocumentType):
    name = "AddressBook"
    capability = CONTACTS
    id_prefix = "b"
    verbs = ("get", "changes", "set")
    properties = {
        "name": P("String", required=True, check=_check_name),
        "description": P("String", nullable=True, default=None),
        "sortOrder": P("UnsignedInt", default=0, check=_check_sort_order),
        "isDefault": P("Boolean", server_set=True),
        "isSubscribed": P("Boolean", default=True),
    }
    set_arguments = {"onDestroyRemoveContents": False, "onSuccessSetIsDefault": None}
    sharing = Sharing(
        rights=RIGHTS,
        read="mayRead",
        share="mayShare",
        update=None,
        destroy="mayDelete",
        read_only=("mayRead",),
        per_user=("isSubscribed",),
        items=("ContactCard",),
        # a blob goes into a shared book as a card's Media (a photo), which
        # needs mayWrite there (RFC 9610 §2)
        upload=("mayWrite",),
    )

    def prologue(self, ctx: Any, verb: str, account_id: str, args: dict[str, Any]) -> None:
        """The default address book exists before any AddressBook method looks."""
        ensure_default(ctx, account_id)

    def computed(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        """RFC 9610 §2: isSubscribed "SHOULD default to false for AddressBooks in
        shared accounts"; a sharee's own value (per_user) replaces this."""
        if not access(ctx, account_id).is_owner:
            obj["isSubscribed"] = False
        return obj

    def insert(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj["isDefault"] = False
        super().insert(ctx, account_id, obj)
        return {"isDefault": False}

    def check_set_args(self, ctx: Any, args: dict[str, Any]) -> None:
        from jmapd.protocol.errors import MethodError

        if not isinstance(args.get("onDestroyRemoveContents"), bool):
            raise MethodError("invalidArguments", "onDestroyRemoveContents must be a Boolean")
        target = args.get("onSuccessSetIsDefault")
        if target is not None and not isinstance(target, str):
            raise MethodError("invalidArguments", "onSuccessSetIsDefault must be an Id or null")

    def check_destroy(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        from jmapd.protocol.errors import SetError

        from .cards import book_has_cards

        if not args.get("onDestroyRemoveContents") and book_has_cards(account_id, obj["id"]):
            raise SetError("addressBookHasContents", "the address book still has cards (see onDestroyRemoveContents)")

    def delete(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        from .cards import remove_book_from_cards

        remove_book_from_cards(ctx, account_id, obj["id"])
        super().delete(ctx, account_id, obj, args)

    def after_set(self, ctx: Any, account_id: str, args: dict[str, Any], response: dict[str, Any]) -> list[Any]:
        """onSuccessSetIsDefault: only when every create, update and destroy
        succeeded; an unknown id or one the caller may not own is ignored
        (RFC 9610 §2.3: "it MUST be ignored ... No error is returned")."""
        target = args.get("onSuccessSetIsDefault")
        if target is None or response["notCreated"] or response["notUpdated"] or response["notDestroyed"]:
            return []
        target = ctx.resolve_id(target)
        if not isinstance(target, str) or not access(ctx, account_id).full:
            return []
        with ctx.write(account_id):
            rows: dict[str, Any] = dict(tuples(
                Document.select(Document.object_id, Document.data)
                .where((Document.account_id == account_id) & (Document.type_name == self.name))
            ))
            if target not in rows:
                return []
            for object_id, data in rows.items():
                data = self.decode(data)
                want = object_id == target
                if bool(data.get("isDefault")) == want:
                    continue
                data["isDefault"] = want
                Document.update(data=data).where(
                    (Document.account_id == account_id)
                    & (Document.type_name == self.name)
                    & (Document.object_id == object_id)
                ).execute()
                ctx.changes.record(account_id, self.name, object_id, UPDATED)
                _report(response, object_id, want)
        response["newState"] = current_state(account_id, self.name)
        return []


def ensure_default(ctx: Any, account_id: str) -> None:
    """Make the account's default address book if it has none (owner only:
    a sharee looking into someone else's account creates nothing there)."""
    if not access(ctx, account_id).is_owner or _has_book(account_id):
        return
    with ctx.write(account_id):
        if _has_book(account_id):
            return
        book_id = new_id(AddressBook.id_prefix)
        section = ctx.config.section("contacts")
        data = {"description": None, "sortOrder": 0, "isSubscribed": True, "shareWith": None,
                "name": section.default_address_book_name, "isDefault": True}
        Document.insert(account_id=account_id, type_name=AddressBook.name, object_id=book_id, data=data).execute()
        ctx.changes.record(account_id, AddressBook.name, book_id, CREATED)
    log.info("created default address book %s in account %s", book_id, account_id)


def _report(response: dict[str, Any], object_id: str, is_default: bool) -> None:
    """RFC 8620 §5.3: a server-set change shows in created or updated."""
    for entry in (response["created"] or {}).values():
        if entry.get("id") == object_id:
            entry["isDefault"] = is_default
            return
    updated = response["updated"] = response["updated"] or {}
    updated[object_id] = {**(updated.get(object_id) or {}), "isDefault": is_default}


def _has_book(account_id: str) -> bool:
    return bool(
        Document.select(Document.id)
        .where((Document.account_id == account_id) & (Document.type_name == AddressBook.name))
        .exists()
    )
