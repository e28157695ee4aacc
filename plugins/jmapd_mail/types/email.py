"""Email (RFC 8621 §4): properties and /get; /set, /copy and /query live in mixins.

List views are served from denormalised columns and the stored summary;
the parsed structure (JSON) is read only when a body property or header
is asked for, and the raw blob only when bodyValues are.
"""

from __future__ import annotations

from typing import Any

from jmapd.methods.types import DataType, P
from jmapd.protocol.errors import MethodError

from .. import extensions, rights
from ..blobs import part_blob_id
from ..capability import MAIL
from ..domain.headers import parse_header_property
from ..domain.parse import ParsedMessage
from ..models import Email, EmailMailbox
from ..store import email_mailbox_map, format_utc, utcnow
from .email_query import EmailQueryMixin
from .email_write import EmailWriteMixin

SUMMARY_PROPS = (
    "messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject", "sentAt",
)
PARSED_PROPS = {"headers", "bodyStructure", "bodyValues", "textBody", "htmlBody", "attachments"}
MESSAGE_PROPS = set(SUMMARY_PROPS) | PARSED_PROPS
BODY_PART_PROPS = {
    "partId", "blobId", "size", "headers", "name", "type", "charset", "disposition", "cid", "language",
    "location", "subParts",
}
DEFAULT_GET = [
    "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt", "messageId", "inReplyTo",
    "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject", "sentAt", "hasAttachment",
    "preview", "bodyValues", "textBody", "htmlBody", "attachments",
]
DEFAULT_BODY_PROPS = ["partId", "blobId", "size", "name", "type", "charset", "disposition", "cid", "language", "location"]
#: Message-derived properties: settable on create only (then immutable).
_MESSAGE_PROP = P("Any", nullable=True, immutable=True)


def _now() -> str:
    return format_utc(utcnow()) or ""


def check_body_properties(value: Any) -> list[str]:
    if value is None:
        return DEFAULT_BODY_PROPS
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MethodError("invalidArguments", "bodyProperties must be a list of strings")
    for name in value:
        if name.startswith("header:"):
            try:
                parse_header_property(name)
            except ValueError as exc:
                raise MethodError("invalidArguments", str(exc)) from None
        elif name not in BODY_PART_PROPS:
            raise MethodError("invalidArguments", f"unknown body property {name!r}")
    return value


def check_body_fetch_args(args: dict[str, Any]) -> None:
    for name in ("fetchTextBodyValues", "fetchHTMLBodyValues", "fetchAllBodyValues"):
        if not isinstance(args.get(name, False), bool):
            raise MethodError("invalidArguments", f"{name} must be a boolean")
    value = args.get("maxBodyValueBytes", 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MethodError("invalidArguments", "maxBodyValueBytes must be an UnsignedInt")
    check_body_properties(args.get("bodyProperties"))


def message_view(parsed: ParsedMessage, props: list[str], args: dict[str, Any], blob_id: str) -> dict[str, Any]:
    """Message-derived properties from a parsed message (Email/get, Email/parse)."""
    wanted = [p for p in props if p in PARSED_PROPS or p.startswith("header:") or p in SUMMARY_PROPS
              or p in ("size", "preview", "hasAttachment")]
    return parsed.email_properties(
        wanted,
        body_properties=check_body_properties(args.get("bodyProperties")),
        blob_id=part_blob_id(blob_id),
        fetch_text_body_values=bool(args.get("fetchTextBodyValues")),
        fetch_html_body_values=bool(args.get("fetchHTMLBodyValues")),
        fetch_all_body_values=bool(args.get("fetchAllBodyValues")),
        max_body_value_bytes=args.get("maxBodyValueBytes") or 0,
    )


class EmailType(EmailWriteMixin, EmailQueryMixin, DataType):
    name = "Email"
    capability = MAIL
    id_prefix = "M"
    #: /queryChanges is the engine's; query_changes_touched (email_query.py)
    #: widens it to the Emails of changed Threads.
    verbs = ("get", "changes", "set", "copy", "query", "queryChanges")
    #: Charged by store.create_email/destroy_email, the one place every
    #: write path (delivery, import, /set, /copy, jmapd import) goes through.
    quota_resources = frozenset({"count", "octets"})
    engine_charges_quota = False
    properties = {
        "blobId": P("Id", server_set=True),
        "threadId": P("Id", server_set=True),
        "mailboxIds": P("Id[Boolean]", required=True, ref="idmap"),
        "keywords": P("String[Boolean]", default=dict, normalize_key=str.lower),
        "size": P("UnsignedInt", server_set=True),
        "receivedAt": P("UTCDate", immutable=True, default=_now),
        "hasAttachment": P("Boolean", server_set=True),
        "preview": P("String", server_set=True),
        "headers": P("Object[]", server_set=True),
    }
    get_arguments = {
        "bodyProperties": None,
        "fetchTextBodyValues": False,
        "fetchHTMLBodyValues": False,
        "fetchAllBodyValues": False,
        "maxBodyValueBytes": 0,
    }

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        #: What other plugins added (:meth:`extend`), in registration order.
        self.extensions: list[extensions.EmailExtension] = []
        self._extension_props: dict[str, Any] = {}

    def extend(self, extension: Any) -> None:
        """Take a :class:`jmapd_mail.api.EmailExtension`: its properties join
        /get (only when asked for), its conditions Email/query."""
        if not isinstance(extension, extensions.EmailExtension):
            raise TypeError("Email takes a jmapd_mail.api.EmailExtension")
        clash = (set(extension.properties) & (set(self.properties) | MESSAGE_PROPS | set(self._extension_props))) | (
            set(extension.filters) & set(self.filters))
        if clash:
            raise ValueError(f"{sorted(clash)[0]} is already an Email property or filter")
        self.extensions.append(extension)
        self._extension_props.update(extension.properties)
        self.filters = {**self.filters, **{name: "Any" for name in extension.filters}}

    def property(self, name: str) -> Any:
        prop = self.properties.get(name) or self._extension_props.get(name)
        if prop is not None:
            return prop
        if name in MESSAGE_PROPS and name != "headers":
            return _MESSAGE_PROP
        if name.startswith("header:"):
            try:
                parse_header_property(name)
            except ValueError:
                return None
            return _MESSAGE_PROP
        return None

    def default_properties(self) -> list[str]:
        return list(DEFAULT_GET)

    def check_get_args(self, ctx: Any, args: dict[str, Any]) -> None:
        check_body_fetch_args(args)
        extensions.require_using(self.extensions, ctx, args.get("properties") or [], None)

    def load(self, ctx: Any, account_id: str, ids: list[str] | None, properties: list[str], args: dict[str, Any]) -> dict[str, dict[str, Any]]:
        # The engine's own loads (for /set, /copy) pass no arguments: they
        # need only the metadata, never bodies.
        if not args:
            properties = ["id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt"]
        need_parsed = any(p in PARSED_PROPS or p.startswith("header:") for p in properties)
        need_raw = "bodyValues" in properties and any(
            args.get(k) for k in ("fetchTextBodyValues", "fetchHTMLBodyValues", "fetchAllBodyValues")
        )
        fields = [Email.id, Email.thread_id, Email.blob_id, Email.size, Email.received_at, Email.has_attachment,
                  Email.keywords, Email.summary]
        if need_parsed:
            fields.append(Email.parsed)
        query = Email.select(*fields).where(Email.account_id == account_id)
        readable = rights.readable(ctx, account_id)
        if readable is not None:  # a sharee: only Emails in a Mailbox they read, and only those Mailboxes
            query = query.where(rights.readable_exists(Email.id, readable))
        rows: list[Any] = []
        if ids is None:
            limit = ctx.config.limits.max_objects_in_get
            rows = list(query.order_by(Email.received_at.desc(), Email.seq.desc()).limit(limit + 1))
        else:
            for start in range(0, len(ids), 500):
                rows.extend(query.where(Email.id.in_(ids[start : start + 500])))
        mailboxes = email_mailbox_map(account_id, [r.id for r in rows]) if "mailboxIds" in properties else {}
        out: dict[str, dict[str, Any]] = {}
        for row in rows:
            summary = row.summary or {}
            in_boxes = mailboxes.get(row.id, {})
            if readable is not None:
                in_boxes = {m: True for m in in_boxes if m in readable}
            obj: dict[str, Any] = {
                "id": row.id, "blobId": row.blob_id, "threadId": row.thread_id,
                "mailboxIds": in_boxes, "keywords": dict.fromkeys(row.keywords or [], True),
                "size": row.size, "receivedAt": format_utc(row.received_at), "hasAttachment": row.has_attachment,
                "preview": summary.get("preview", ""),
            }
            for key in SUMMARY_PROPS:
                obj[key] = summary.get(key)
            if need_parsed:
                raw = ctx.services.blobs.read(row.blob_id) if need_raw else None
                parsed = ParsedMessage.from_json(row.parsed, raw=raw)
                obj.update(message_view(parsed, [p for p in properties if p in PARSED_PROPS or p.startswith("header:")], args, row.blob_id))
            out[row.id] = obj
        for extension in self.extensions:
            wanted = [p for p in properties if p in extension.properties]
            if wanted and out and extension.load is not None:
                found = extension.load(ctx, account_id, list(out.values()), wanted)
                for email_id, values in found.items():
                    if email_id in out:
                        out[email_id].update(values)
        return out

    def visible_changes(self, ctx: Any, account_id: str, since: int, changes: Any) -> tuple[list[str], list[str], list[str]]:
        """A sharee's Email/changes name only Emails of Mailboxes they read (:mod:`..rights`)."""
        return rights.visible_changes(ctx, account_id, self.name, EmailMailbox.email_id, since, changes)

    def blob_ids(self, obj: dict[str, Any]) -> list[str]:
        return [obj["blobId"]] if obj.get("blobId") else []
