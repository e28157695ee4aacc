"""EmailSubmission (RFC 8621 §7): checks at create, the queue behind it.

Creating a submission validates everything the RFC names an error for,
then stores the object and its queue row in the same savepoint, so a
submission exists exactly when its message is queued. Recipients that are
local users are marked so in the row and delivered by the queue worker
(:mod:`..local` says why there and not here); without a relay a
submission with any remote recipient is refused whole. The worker
(:mod:`..queue`) later moves ``undoStatus`` from ``pending`` to ``final``
and fills ``deliveryStatus`` from the relay's replies.
"""

from __future__ import annotations

import datetime
from typing import Any

from jmapd.methods.context import CallContext
from jmapd.methods.documents import DocumentType
from jmapd.methods.types import CHECKS, Invalid, P
from jmapd.models import now
from jmapd.protocol.errors import MethodError, PropertyProblems, SetError, invalid_properties
from jmapd.sharing import access

from ..capability import SUBMISSION
from ..domain.envelope import (
    Address,
    Envelope,
    derive_envelope,
    header_addresses,
    identity_allows,
    parse_envelope,
    strip_bcc,
)
from ..domain.headers import get_all, parse_headers
from ..local import local_recipients
from ..models import QueueItem
from ..queue import cancel, enqueue, utc_date
from ..senders import allowed_addresses, may_send_as, owner_name
from .identity import ensure_default_identity

UNDO_STATUSES = ("pending", "final", "canceled")
QUEUED_REPLY = "250 2.0.0 Queued for delivery"
CANCELED_REPLY = "554 5.7.0 Submission canceled before delivery"


def _check_undo(value: str) -> None:
    if value not in UNDO_STATUSES:
        raise Invalid("", "must be pending, final or canceled")


def _parse_date(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(datetime.UTC).replace(tzinfo=None)


def _in(prop: str) -> Any:
    return lambda obj, value: obj.get(prop) in value


def _set_error(error: dict[str, Any]) -> SetError:
    """A ready-made SetError object from the domain library as an exception."""
    extra = {k: v for k, v in error.items() if k not in ("type", "description", "properties")}
    return SetError(error["type"], error.get("description"), error.get("properties"), **extra)


class EmailSubmission(DocumentType):
    name = "EmailSubmission"
    capability = SUBMISSION
    id_prefix = "S"
    verbs = ("get", "changes", "set", "query", "queryChanges")
    set_arguments = {"onSuccessUpdateEmail": None, "onSuccessDestroyEmail": None}
    properties = {
        "identityId": P("Id", required=True, immutable=True, ref="id"),
        "emailId": P("Id", required=True, immutable=True, ref="id"),
        "threadId": P("Id", server_set=True),
        "envelope": P("Object", nullable=True, default=None, immutable=True),
        "sendAt": P("UTCDate", server_set=True),
        "undoStatus": P("String", default="pending", check=_check_undo),
        "deliveryStatus": P("Object", nullable=True, server_set=True),
        "dsnBlobIds": P("Id[]", server_set=True),
        "mdnBlobIds": P("Id[]", server_set=True),
    }
    filters = {
        "identityIds": "Id[]",
        "emailIds": "Id[]",
        "threadIds": "Id[]",
        "undoStatus": "String",
        "before": "UTCDate",
        "after": "UTCDate",
    }
    predicates = {
        "identityIds": _in("identityId"),
        "emailIds": _in("emailId"),
        "threadIds": _in("threadId"),
        "undoStatus": lambda obj, value: obj.get("undoStatus") == value,
        "before": lambda obj, value: _parse_date(obj["sendAt"]) < _parse_date(value),
        "after": lambda obj, value: _parse_date(obj["sendAt"]) >= _parse_date(value),
    }
    #: The RFC lists ``sentAt`` (sic) as a required sort; ``sendAt`` is the property.
    sorts = frozenset({"emailId", "threadId", "sentAt", "sendAt"})

    def check_set_args(self, ctx: CallContext, args: dict[str, Any]) -> None:
        update = args.get("onSuccessUpdateEmail")
        if update is not None and not (
            isinstance(update, dict) and all(isinstance(k, str) and isinstance(v, dict) for k, v in update.items())
        ):
            raise MethodError("invalidArguments", "onSuccessUpdateEmail must map ids to PatchObjects")
        destroy = args.get("onSuccessDestroyEmail")
        if destroy is not None and not CHECKS["String[]"](destroy):
            raise MethodError("invalidArguments", "onSuccessDestroyEmail must be a list of ids")

    def prologue(self, ctx: CallContext, verb: str, account_id: str, args: dict[str, Any]) -> None:
        """A submission names an Identity: make sure the default one exists."""
        if verb == "set":
            ensure_default_identity(ctx, account_id)

    def sort_value(self, obj: dict[str, Any], prop: str) -> Any:
        return obj.get("sendAt" if prop == "sentAt" else prop)

    # -- create ------------------------------------------------------------------
    def validate(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if old is not None:
            if obj["undoStatus"] != old["undoStatus"]:
                if obj["undoStatus"] != "canceled":
                    raise invalid_properties("undoStatus", description="a client may only set undoStatus to canceled")
                if old["undoStatus"] != "pending":
                    raise SetError("cannotUnsend", f"the submission is already {old['undoStatus']}")
            return
        problems = PropertyProblems()  # every invalid property at once (RFC 8620 §5.3)
        if obj.get("undoStatus", "pending") != "pending":
            problems.add("undoStatus", "a new submission is pending")
        obj["__send"] = self._prepare(ctx, account_id, obj, problems)

    def _prepare(self, ctx: Any, account_id: str, obj: dict[str, Any], problems: PropertyProblems) -> dict[str, Any]:
        """Every check of RFC 8621 §7.5 for a create; returns what to queue.

        Rights come first (forbiddenToSend whatever the object); then the
        Identity, the Email and an explicit envelope are all checked before
        ``problems`` refuses the object."""
        section = ctx.config.section("submission")
        owner = owner_name(account_id)
        if not access(ctx, account_id).may_submit:
            raise SetError("forbiddenToSend", "sending from this account needs the submit right")
        if owner in section.forbidden_users:
            raise SetError("forbiddenToSend", "sending is disabled for this account")
        if section.max_submissions_per_hour:
            since = now() - datetime.timedelta(hours=1)
            recent = QueueItem.select().where(
                (QueueItem.account_id == account_id) & (QueueItem.kind == "submission") & (QueueItem.created > since)
            ).count()
            if recent >= section.max_submissions_per_hour:
                raise SetError("forbiddenToSend", "too many messages sent in the last hour; try again later")

        identity_id, email_id = obj.get("identityId"), obj.get("emailId")
        identity = None
        if identity_id is not None:
            identity = ctx.services.registry.data_types["Identity"].load(
                ctx, account_id, [identity_id], ["email"], {}
            ).get(identity_id)
            if identity is None:
                problems.add("identityId", f"no Identity {identity_id}")
        email = fetch_email(ctx, account_id, email_id) if email_id is not None else None
        if email is None and email_id is not None:
            problems.add("emailId", f"no Email {email_id}")
        explicit = None
        if obj.get("envelope") is not None:
            explicit = parse_envelope(obj["envelope"], max_recipients=section.max_recipients)
            if explicit.set_error is not None and explicit.set_error.get("type") == "invalidProperties":
                for path in explicit.set_error.get("properties") or ["envelope"]:
                    problems.add(path, explicit.set_error.get("description"))
        problems.check()
        if identity is None or email is None:  # named by the generic checks already
            raise invalid_properties(*(["identityId"] if identity is None else []), *(["emailId"] if email is None else []))
        thread_id, raw = email
        if len(raw) > section.max_message_size:
            raise SetError(
                "tooLarge", f"messages up to {section.max_message_size} octets may be sent",
                maxSize=section.max_message_size,
            )

        headers = parse_headers(raw)
        from_values = get_all(headers, "From")
        if not from_values:
            raise SetError("invalidEmail", "the message has no From header field", ["from"])
        from_addresses: list[str] = []
        for value in from_values:
            found = header_addresses("from", value)
            if not found:
                raise SetError("invalidEmail", "the From header field is not a valid address list", ["from"])
            from_addresses.extend(found)
        bad_from = [a for a in from_addresses if not identity_allows(identity["email"], a)]
        if bad_from:
            raise SetError("forbiddenFrom", f"the identity {identity['email']} may not send as {bad_from[0]}")

        if explicit is None:
            result = derive_envelope(headers, identity_email=identity["email"], max_recipients=section.max_recipients)
        else:
            result = explicit
        if not result.ok or result.envelope is None:
            raise _set_error(result.set_error or {"type": "invalidProperties", "properties": ["envelope"]})
        envelope = result.envelope
        sender = envelope.mail_from.email
        if sender and not (
            identity_allows(identity["email"], sender) or may_send_as(allowed_addresses(ctx.config, owner), sender)
        ):
            raise SetError("forbiddenMailFrom", f"you may not use {sender} as the envelope sender")
        local = local_recipients(ctx.services, envelope.recipients)
        if not section.smarthost.host and any(r not in local for r in envelope.recipients):
            # Refused whole: no recipient, local or not, gets a message the others cannot.
            raise SetError("forbiddenToSend", "this server has no outbound relay configured for remote recipients")

        params = dict(envelope.mail_from.parameters or {})
        hold = _hold_seconds(params, section.max_delayed_send)
        release = now() + datetime.timedelta(seconds=section.send_delay if hold is None else hold)
        relayed = Envelope(Address(sender, params or None), envelope.rcpt_to)
        return {
            "threadId": thread_id,
            "sendAt": release,
            "envelope": envelope.to_jmap(),
            "relay": relayed,
            "local": local,
            "message": strip_bcc(raw, ("bcc", "resent-bcc")),
        }

    def insert(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        send = obj.pop("__send")
        derived = obj.get("envelope") is None
        extra: dict[str, Any] = {
            "threadId": send["threadId"],
            "sendAt": utc_date(send["sendAt"]),
            "deliveryStatus": {
                a.email: {"smtpReply": QUEUED_REPLY, "delivered": "queued", "displayed": "unknown"}
                for a in send["relay"].rcpt_to
            },
            "dsnBlobIds": [],
            "mdnBlobIds": [],
        }
        if derived:
            extra["envelope"] = send["envelope"]
        obj.update(extra)
        super().insert(ctx, account_id, obj)
        enqueue(
            account_id, send["relay"], send["message"], due=send["sendAt"], submission_id=obj["id"], local=send["local"]
        )
        return extra

    # -- update / destroy -----------------------------------------------------------
    def replace(
        self, ctx: Any, account_id: str, old: dict[str, Any], new: dict[str, Any], changed: set[str]
    ) -> dict[str, Any] | None:
        extra = None
        if "undoStatus" in changed and new["undoStatus"] == "canceled":
            if not cancel(account_id, old["id"]):
                raise SetError("cannotUnsend", "the message is already being relayed")
            extra = {
                "deliveryStatus": {
                    email: {"smtpReply": CANCELED_REPLY, "delivered": "no", "displayed": "unknown"}
                    for email in (old.get("deliveryStatus") or {})
                }
            }
            new.update(extra)
        super().replace(ctx, account_id, old, new, changed)
        return extra

    def delete(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        # Destroying the record never touches the delivery (RFC 8621 §7);
        # remember the email for onSuccessDestroyEmail/onSuccessUpdateEmail.
        _destroyed(ctx)[obj["id"]] = obj["emailId"]
        super().delete(ctx, account_id, obj, args)

    # -- implicit Email/set ------------------------------------------------------------
    def after_set(
        self, ctx: Any, account_id: str, args: dict[str, Any], response: dict[str, Any]
    ) -> list[tuple[str, dict[str, Any]]]:
        update_refs = args.get("onSuccessUpdateEmail") or {}
        destroy_refs = args.get("onSuccessDestroyEmail") or []
        if not update_refs and not destroy_refs:
            return []
        created = {f"#{cid}": v["id"] for cid, v in (response.get("created") or {}).items()}
        succeeded = set(created.values()) | set(response.get("updated") or {}) | set(response.get("destroyed") or [])
        destroyed = _destroyed(ctx)

        def submission_id(ref: str) -> str | None:
            real = created.get(ref) if ref.startswith("#") else ref
            return real if real in succeeded else None

        wanted = [submission_id(r) for r in [*update_refs, *destroy_refs]]
        live = self.load(ctx, account_id, [i for i in wanted if i and i not in destroyed], ["emailId"], {})

        def email_of(sid: str | None) -> str | None:
            if sid is None:
                return None
            if sid in destroyed:
                return destroyed[sid]
            obj = live.get(sid)
            return obj["emailId"] if obj else None

        update: dict[str, Any] = {}
        for ref, patch in update_refs.items():
            email_id = email_of(submission_id(ref))
            if email_id is not None:
                update.setdefault(email_id, {}).update(patch)
        destroy = list(dict.fromkeys(e for e in (email_of(submission_id(r)) for r in destroy_refs) if e))
        if not update and not destroy:
            return []
        email_set: dict[str, Any] = {"accountId": account_id}
        if update:
            email_set["update"] = update
        if destroy:
            email_set["destroy"] = destroy
        return [ctx.call("Email/set", email_set)]


def _destroyed(ctx: Any) -> dict[str, str]:
    """Per call: submission id → emailId of records destroyed in it."""
    stash = getattr(ctx, "_submission_destroyed", None)
    if stash is None:
        stash = {}
        ctx._submission_destroyed = stash
    return stash


def _hold_seconds(params: dict[str, Any], max_delay: int) -> float | None:
    """FUTURERELEASE (RFC 4865): the hold asked for, removed from ``params``
    because the server itself holds the message instead of the relay."""
    keys = {k.upper(): k for k in params}
    asked = [k for k in ("HOLDFOR", "HOLDUNTIL") if k in keys]
    if not asked:
        return None
    path = f"envelope/mailFrom/parameters/{keys[asked[0]]}"
    if len(asked) > 1:
        raise invalid_properties(path, description="HOLDFOR and HOLDUNTIL are mutually exclusive")
    if max_delay <= 0:
        raise invalid_properties(path, description="FUTURERELEASE is not supported")
    value = params.pop(keys[asked[0]])
    if asked[0] == "HOLDFOR":
        seconds = float(int(value))
    else:
        until = datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        seconds = max(0.0, (until - datetime.datetime.now(datetime.UTC)).total_seconds())
    if seconds > max_delay:
        raise invalid_properties(path, description=f"messages may be held for at most {max_delay} seconds")
    return seconds


def fetch_email(ctx: Any, account_id: str, email_id: str) -> tuple[str | None, bytes] | None:
    """threadId and raw bytes of an Email of the account, or None.

    The bytes come from the mail plugin's in-process API (the message as
    stored, never re-serialised); the threadId from Email/get, the same
    view the client has.
    """
    if not ctx.services.pm.has_plugin("mail"):
        return None
    from jmapd_mail import api as mail_api

    raw = mail_api.email_raw(ctx.services, account_id, email_id)
    if raw is None:
        return None
    name, got = ctx.call("Email/get", {"accountId": account_id, "ids": [email_id], "properties": ["threadId"]})
    thread_id = got["list"][0].get("threadId") if name != "error" and got.get("list") else None
    return thread_id, bytes(raw)
