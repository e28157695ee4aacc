"""ParticipantIdentity (draft §3): the calendar addresses that are the user.

The server needs them to decide whether it is the origin of an event (the
organizer is one of them), which participants an RSVP is from, and which
address invitations come from. Every account gets one before its first
ParticipantIdentity or CalendarEvent call: ``mailto:`` the owner's primary
address (the submission plugin's rule for it, so invitations and mail come
from the same address). When the submission plugin is enabled a user may
only claim ``mailto:`` addresses they may send as (draft: the server MAY
restrict, with ``forbidden``); the first identity is the default and
``onSuccessSetIsDefault`` moves the flag, as for calendars.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote

import orjson

from jmapd.db import tuples
from jmapd.methods.documents import DocumentType
from jmapd.methods.types import Invalid, P
from jmapd.models import Document, new_id
from jmapd.protocol.errors import SetError
from jmapd.sharing import access
from jmapd.state import CREATED, UPDATED, current_state

from .calendar import CALENDARS

log = logging.getLogger("jmapd.calendars")

IDENTITY_TYPE = "ParticipantIdentity"


def normalize_address(uri: Any) -> str | None:
    """A calendar address after RFC 3986 §6.2.2 syntax-based normalisation
    (scheme case, percent-encoding); ``mailto:`` addresses compare without
    case, as every mail system in use treats them."""
    if not isinstance(uri, str) or ":" not in uri:
        return None
    scheme, _, rest = uri.strip().partition(":")
    scheme = scheme.lower()
    rest = unquote(rest)
    if scheme == "mailto":
        rest = rest.split("?", 1)[0].lower()
    return f"{scheme}:{rest}"


def mail_address(uri: Any) -> str | None:
    """The email address of a ``mailto:`` calendar address, else None."""
    norm = normalize_address(uri)
    if norm is None or not norm.startswith("mailto:"):
        return None
    address = norm.removeprefix("mailto:")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c in address for c in " <>,;\r\n\t"):
        return None
    return address


def _check_address(value: str) -> None:
    if mail_address(value) is None:
        raise Invalid("", "a mailto: URI with one email address (the only scheduling method this server has)")


def identities(account_id: str) -> list[dict[str, Any]]:
    """The account's ParticipantIdentity objects (with ``id``), default first."""
    rows = Document.select(Document.object_id, Document.data).where(
        (Document.account_id == account_id) & (Document.type_name == IDENTITY_TYPE)
    ).order_by(Document.id)
    out = []
    for object_id, data in tuples(rows):
        obj = orjson.loads(data) if isinstance(data, (str, bytes)) else dict(data)
        obj["id"] = object_id
        out.append(obj)
    out.sort(key=lambda o: not o.get("isDefault"))
    return out


def own_addresses(account_id: str) -> set[str]:
    """Normalised calendar addresses of the account's identities."""
    from .callcache import once

    return set(once(("own_addresses", account_id), lambda: {
        a for a in (normalize_address(i.get("calendarAddress")) for i in identities(account_id)) if a}))


def user_addresses(ctx: Any, account_id: str) -> set[str]:
    """Normalised calendar addresses that are the caller in ``account_id``
    (draft §4: "the user's ParticipantIdentity objects in the account")."""
    if access(ctx, account_id).level != "shared":
        return own_addresses(account_id)
    return {a for a in (normalize_address(i.get("calendarAddress")) for i in user_identities(ctx, account_id)) if a}


def user_identities(ctx: Any, account_id: str) -> list[dict[str, Any]]:
    """The caller's identities in ``account_id``, default first.

    The owner and whole-account delegates act as the account: its
    identities. A sharee of single calendars is someone else there: theirs
    are those of their own personal account (the default one it would get
    when none was made yet), as the account's identities are the owner's."""
    if access(ctx, account_id).level != "shared":
        return identities(account_id)
    home = ctx.principal.primary_account
    if home is None:
        return []
    found = identities(home)
    if found:
        return found
    address = primary_address(ctx.services, home)
    return [{"name": "", "calendarAddress": f"mailto:{address}", "isDefault": True}] if address else []


def _sendable(config: Any, pm: Any, account_id: str) -> list[str] | None:
    """Addresses the owner may send as (None: no submission plugin, no rule)."""
    if not pm.has_plugin("submission"):
        return None
    from jmapd_submission.api import allowed_addresses, owner_name

    return list(allowed_addresses(config, owner_name(account_id)))


def primary_address(services: Any, account_id: str) -> str | None:
    """The address the account's first identity gets."""
    allowed = _sendable(services.config, services.pm, account_id)
    if allowed:
        return allowed[0]
    from jmapd.models import Account, User

    row = Account.select(User.name).join(User, on=(Account.owner == User.id)).where(Account.id == account_id).tuples().first()
    return row[0] if row and "@" in row[0] else None


def ensure_identity(ctx: Any, account_id: str) -> None:
    """The default identity exists before anything looks for one (owner only)."""
    if not access(ctx, account_id).is_owner or _has_identity(account_id):
        return
    address = primary_address(ctx.services, account_id)
    if address is None:
        return
    with ctx.write(account_id):
        if _has_identity(account_id):
            return
        identity_id = new_id(ParticipantIdentity.id_prefix)
        data = {"name": "", "calendarAddress": f"mailto:{address}", "isDefault": True}
        Document.insert(account_id=account_id, type_name=IDENTITY_TYPE, object_id=identity_id, data=data).execute()
        ctx.changes.record(account_id, IDENTITY_TYPE, identity_id, CREATED)
    log.info("created participant identity %s (%s) in account %s", identity_id, address, account_id)


def _has_identity(account_id: str) -> bool:
    return bool(
        Document.select(Document.id)
        .where((Document.account_id == account_id) & (Document.type_name == IDENTITY_TYPE))
        .exists()
    )


class ParticipantIdentity(DocumentType):
    name = IDENTITY_TYPE
    capability = CALENDARS
    id_prefix = "p"
    verbs = ("get", "changes", "set")
    properties = {
        "name": P("String", default=""),
        "calendarAddress": P("String", required=True, check=_check_address),
        "isDefault": P("Boolean", server_set=True),
    }
    set_arguments = {"onSuccessSetIsDefault": None}

    def prologue(self, ctx: Any, verb: str, account_id: str, args: dict[str, Any]) -> None:
        ensure_identity(ctx, account_id)

    def validate(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if not access(ctx, account_id).full:
            raise SetError("forbidden", "only the account's owner has participant identities")
        address = mail_address(obj.get("calendarAddress"))
        allowed = _sendable(ctx.config, ctx.services.pm, account_id)
        if address is not None and allowed is not None:
            from jmapd_submission.api import identity_allows

            if not any(identity_allows(a, address) for a in allowed):
                raise SetError("forbidden", f"{address} is not an address this user may send as",
                               properties=["calendarAddress"])

    def insert(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj["isDefault"] = not _has_identity(account_id)
        super().insert(ctx, account_id, obj)
        return {"isDefault": obj["isDefault"]}

    def after_set(self, ctx: Any, account_id: str, args: dict[str, Any], response: dict[str, Any]) -> list[Any]:
        """onSuccessSetIsDefault: only when everything succeeded; an unknown
        id is ignored (draft §3.3). A destroyed default passes the flag on."""
        target = args.get("onSuccessSetIsDefault")
        failed = response["notCreated"] or response["notUpdated"] or response["notDestroyed"]
        if target is not None and not failed:
            target = ctx.resolve_id(target)
        else:
            target = None
        with ctx.write(account_id):
            rows: dict[str, Any] = dict(tuples(
                Document.select(Document.object_id, Document.data)
                .where((Document.account_id == account_id) & (Document.type_name == self.name))
                .order_by(Document.id)
            ))
            decoded = {k: self.decode(v) for k, v in rows.items()}
            if not isinstance(target, str) or target not in decoded:
                if any(d.get("isDefault") for d in decoded.values()) or not decoded:
                    return []
                target = next(iter(decoded))
            for object_id, data in decoded.items():
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


def _report(response: dict[str, Any], object_id: str, is_default: bool) -> None:
    """RFC 8620 §5.3: a server-set change shows in created or updated."""
    for entry in (response["created"] or {}).values():
        if entry.get("id") == object_id:
            entry["isDefault"] = is_default
            return
    updated = response["updated"] = response["updated"] or {}
    updated[object_id] = {**(updated.get(object_id) or {}), "isDefault": is_default}
