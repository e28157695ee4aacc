"""Email/import, Email/parse and SearchSnippet/get (RFC 8621 §4.8, §4.9, §5)."""

from __future__ import annotations

import datetime
import html
from email.utils import parsedate_to_datetime
from typing import Any

from jmapd.methods.standard.args import check_args
from jmapd.methods.standard.query import check_filter
from jmapd.methods.types import CHECKS
from jmapd.protocol.errors import MethodError, SetError, invalid_properties
from jmapd.state import current_state

from . import rights, store
from .blobs import read_any_blob
from .bulk import NewEmail, create_emails
from .capability import MAIL
from .domain.parse import ParsedMessage, parse_message
from .domain.text import html_to_text
from .models import Email
from .search import words
from .types.email import check_body_fetch_args, message_view
from .types.email_write import check_counts, keyword_paths, mailbox_paths

PARSE_DEFAULT = [
    "messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject", "sentAt",
    "hasAttachment", "preview", "bodyValues", "textBody", "htmlBody", "attachments",
]
PARSE_NULL = {"id", "mailboxIds", "keywords", "receivedAt", "threadId"}


def _received_date(parsed: ParsedMessage) -> datetime.datetime | None:
    """The date of the most recent (topmost) Received header, if it parses."""
    for name, value in parsed.headers:
        if name.lower() == "received" and ";" in value:
            try:
                when = parsedate_to_datetime(" ".join(value.rsplit(";", 1)[1].split()))
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:
                return when
            return when.astimezone(datetime.UTC).replace(tzinfo=None)
    return None


def _import_one(ctx: Any, account_id: str, spec: Any, blobs: dict[str, bytes] | None = None,
                known: set[str] | None = None) -> NewEmail:
    """The checked EmailImport, ready to store (SetError when it cannot be).

    ``blobs`` and ``known``: the call's blobs the account owner may read and
    the Mailboxes that exist, read for all its Emails at once (:func:`_prefetch`)."""
    if not isinstance(spec, dict):
        raise SetError("invalidProperties", "EmailImport must be an object")
    # RFC 8621 §4.8: an invalid blobId, mailboxIds or keywords is
    # invalidProperties, and RFC 8620 §5.3 wants every bad one named.
    paths = sorted(set(spec) - {"blobId", "mailboxIds", "keywords", "receivedAt"})
    blob_id = ctx.resolve_id(spec.get("blobId"))
    raw = blobs.get(blob_id) if blobs and isinstance(blob_id, str) else None
    stored = raw is not None
    if raw is not None:
        pass  # visible to the account and stored: the owner reads every blob of their account
    elif not isinstance(blob_id, str) or not blob_id or not rights.blob_readable(ctx, account_id, blob_id):
        paths.append("blobId")
    else:
        raw = ctx.services.blobs.get(account_id, blob_id)
        stored = raw is not None  # a stored blob (content-addressed): no need to store it again
        if raw is None:
            raw = read_any_blob(ctx.services, account_id, blob_id)
        if raw is None:
            paths.append("blobId")
    mailbox_ids = spec.get("mailboxIds")
    if isinstance(mailbox_ids, dict):
        mailbox_ids = {ctx.resolve_id(k): v for k, v in mailbox_ids.items()}
    keywords = spec.get("keywords") or {}
    paths += mailbox_paths(account_id, mailbox_ids, rights.readable(ctx, account_id), known) + keyword_paths(keywords)
    received = spec.get("receivedAt")
    if received is not None and not CHECKS["UTCDate"](received):
        paths.append("receivedAt")
    if paths:
        raise invalid_properties(*paths, description="invalid or unknown: " + ", ".join(paths))
    assert raw is not None and isinstance(mailbox_ids, dict)
    check_counts(ctx, mailbox_ids, keywords)
    rights.check_email_change(ctx, account_id, None, set(mailbox_ids), (), keywords)
    if len(raw) > ctx.config.section("mail").max_size_message:
        raise SetError("tooLarge", "message too large")
    if not raw.strip():
        raise SetError("invalidEmail", "the blob is empty")
    parsed = parse_message(raw)
    if not parsed.headers:
        raise SetError("invalidEmail", "the blob has no header fields; it is not an RFC 5322 message")
    when = store.parse_utc(received) if received else _received_date(parsed)
    return NewEmail(raw, list(mailbox_ids), list(keywords), parsed, when, blob_id if stored else None)


def _prefetch(ctx: Any, account_id: str, emails: dict[str, Any]) -> tuple[dict[str, bytes], set[str]]:
    """The blobs (for the account's owner: a sharee's go through their rights one by one) and
    the existing Mailboxes that a call's EmailImports name, in a few statements for the call:
    asked per Email they were three round trips each on PostgreSQL."""
    blob_ids: list[str] = []
    mailbox_ids: set[str] = set()
    for spec in emails.values():
        if not isinstance(spec, dict):
            continue
        blob_id = ctx.resolve_id(spec.get("blobId"))
        if isinstance(blob_id, str):
            blob_ids.append(blob_id)
        boxes = spec.get("mailboxIds")
        if isinstance(boxes, dict):
            mailbox_ids.update(m for m in (ctx.resolve_id(k) for k in boxes) if isinstance(m, str))
    blobs = ctx.services.blobs.get_many(account_id, blob_ids) if rights.readable(ctx, account_id) is None else {}
    return blobs, store.existing_mailboxes(account_id, mailbox_ids)


def email_import(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    args = check_args(args, {"accountId": ("Id", True), "ifInState": ("String", False), "emails": ("Object", True)}, {})
    account = ctx.account(args["accountId"], MAIL, write=True)
    emails = args["emails"]
    if len(emails) > ctx.config.limits.max_objects_in_set:
        raise MethodError("requestTooLarge")
    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    with ctx.write(account.id):
        old_state = current_state(account.id, "Email")
        if args.get("ifInState") is not None and args["ifInState"] != old_state:
            raise MethodError("stateMismatch")
        checked: list[tuple[str, NewEmail]] = []
        blobs, known = _prefetch(ctx, account.id, emails)
        for cid, spec in emails.items():
            try:
                checked.append((cid, _import_one(ctx, account.id, spec, blobs, known)))
            except SetError as exc:
                not_created[cid] = exc.to_json()
        # Stored together (jmapd_mail.bulk): one statement per table, not some twenty per Email.
        results = create_emails(ctx.services, ctx.changes, account.id, [item for _, item in checked])
        for (cid, _), result in zip(checked, results, strict=True):
            if isinstance(result, SetError):
                not_created[cid] = result.to_json()
            else:
                created[cid] = result
                ctx.request.created_ids[cid] = result["id"]
    return {
        "accountId": account.id,
        "oldState": old_state,
        "newState": current_state(account.id, "Email"),
        "created": created or None,
        "notCreated": not_created or None,
    }


def email_parse(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    spec = {
        "accountId": ("Id", True), "blobIds": ("String[]", True), "properties": ("String[]", False),
        "bodyProperties": ("String[]", False), "fetchTextBodyValues": ("Boolean", False),
        "fetchHTMLBodyValues": ("Boolean", False), "fetchAllBodyValues": ("Boolean", False),
        "maxBodyValueBytes": ("UnsignedInt", False),
    }
    args = check_args(args, spec, {})
    account = ctx.account(args["accountId"], MAIL)
    check_body_fetch_args(args)
    email_type = ctx.services.registry.data_types["Email"]
    props = args.get("properties") or PARSE_DEFAULT
    bad = [p for p in props if email_type.property(p) is None]
    if bad:
        raise MethodError("invalidArguments", f"unknown or forbidden property {bad[0]!r}")
    if len(args["blobIds"]) > ctx.config.limits.max_objects_in_get:
        raise MethodError("requestTooLarge")
    parsed_out: dict[str, Any] = {}
    not_found: list[str] = []
    not_parsable: list[str] = []
    for blob_id in dict.fromkeys(args["blobIds"]):
        real = ctx.resolve_id(blob_id)
        raw = read_any_blob(ctx.services, account.id, real) if rights.blob_readable(ctx, account.id, real) else None
        if raw is None:
            not_found.append(blob_id)
            continue
        message = parse_message(raw)
        if not message.headers:
            not_parsable.append(blob_id)
            continue
        view = message_view(message, props, args, ctx.resolve_id(blob_id))
        obj: dict[str, Any] = {}
        for prop in props:
            if prop in PARSE_NULL:
                obj[prop] = None
            elif prop == "blobId":
                obj[prop] = blob_id
            else:
                obj[prop] = view.get(prop)
        parsed_out[blob_id] = obj
    return {
        "accountId": account.id,
        "parsed": parsed_out or None,
        "notParsable": not_parsable or None,
        "notFound": not_found or None,
    }


# -- SearchSnippet/get -----------------------------------------------------------

def _terms(node: Any, out: dict[str, list[str]]) -> None:
    """Search words per field in the non-negated part of a filter."""
    if not isinstance(node, dict):
        return
    if "operator" in node:
        if node["operator"] != "NOT":
            for c in node.get("conditions") or []:
                _terms(c, out)
        return
    for key in ("text", "subject", "body"):
        if isinstance(node.get(key), str):
            out.setdefault(key, []).extend(words(node[key]))


#: RFC 8621 §5: the preview "MUST NOT be bigger than 255 octets in size".
PREVIEW_OCTETS = 255
ELLIPSIS = "…"


def _highlight(text: str, terms: list[str], *, excerpt: bool) -> str | None:
    """HTML-escaped ``text`` with matched words in <mark>; None if nothing matches.

    With ``excerpt`` the result is the section around the first match, at most
    :data:`PREVIEW_OCTETS` octets of UTF-8 once escaped and marked (ellipses
    included); whitespace runs are folded to one space.
    """
    if not terms:
        return None
    if excerpt:
        text = " ".join(text.split())
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters change length when lowered
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    hits: list[tuple[int, int]] = []
    for term in set(terms):
        start = 0
        while (i := lowered.find(term, start)) != -1 and len(hits) < 200:
            hits.append((i, i + len(term)))
            start = i + len(term)
    if not hits:
        return None
    hits.sort()
    kept: list[tuple[int, int]] = []
    for a, b in hits:
        if not kept or a >= kept[-1][1]:
            kept.append((a, b))
    if not excerpt:
        out, pos = [], 0
        for a, b in kept:
            out.append(html.escape(text[pos:a]))
            out.append("<mark>" + html.escape(text[a:b]) + "</mark>")
            pos = b
        out.append(html.escape(text[pos:]))
        return " ".join("".join(out).split())

    def octets(chunk: str) -> int:
        return len(html.escape(chunk).encode("utf-8"))

    # Some context before the first match, starting at a word if that is near.
    first = kept[0][0]
    lo = first
    while lo > 0 and octets(text[lo - 1 : first]) <= 60:
        lo -= 1
    while lo > 0 and not text[lo - 1].isspace() and octets(text[lo - 1 : first]) <= 90:
        lo -= 1
    ellipsis = len(ELLIPSIS.encode("utf-8"))
    budget = PREVIEW_OCTETS - ellipsis - (ellipsis if lo > 0 else 0)
    out = [ELLIPSIS] if lo > 0 else []
    used, pos, full = 0, lo, False
    segments = []
    for a, b in kept:
        if a >= lo:
            segments += [(pos, a, False), (a, b, True)]
            pos = b
    segments.append((pos, len(text), False))
    pos = lo
    for a, b, marked in segments:
        if marked:
            piece = "<mark>" + html.escape(text[a:b]) + "</mark>"
            size = len(piece.encode("utf-8"))
            if used + size > budget:
                full = True
                break
            out.append(piece)
            used, pos = used + size, b
            continue
        for i in range(a, b):
            piece = html.escape(text[i])
            size = len(piece.encode("utf-8"))
            if used + size > budget:
                full = True
                break
            out.append(piece)
            used, pos = used + size, i + 1
        if full:
            break
    if full or pos < len(text):
        out.append(ELLIPSIS)
    return "".join(out)


def search_snippet_get(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    args = check_args(args, {"accountId": ("Id", True), "filter": ("Object", False), "emailIds": ("Id[]", True)}, {})
    account = ctx.account(args["accountId"], MAIL)
    email_type = ctx.services.registry.data_types["Email"]
    if args.get("filter") is not None:
        check_filter(email_type, args["filter"])
    ids = list(dict.fromkeys(ctx.resolve_id(i) for i in args["emailIds"]))
    if len(ids) > ctx.config.limits.max_objects_in_get:
        raise MethodError("requestTooLarge")
    terms: dict[str, list[str]] = {}
    _terms(args.get("filter"), terms)
    subject_terms = terms.get("text", []) + terms.get("subject", [])
    body_terms = terms.get("text", []) + terms.get("body", [])
    query = Email.select(Email.id, Email.blob_id, Email.summary, Email.parsed).where(
        (Email.account_id == account.id) & Email.id.in_(ids or [""])
    )
    readable = rights.readable(ctx, account.id)
    if readable is not None:  # a sharee: an Email they may not read is notFound
        query = query.where(rights.readable_exists(Email.id, readable))
    rows = {r.id: r for r in query}
    listed, not_found = [], []
    for email_id in ids:
        row = rows.get(email_id)
        if row is None:
            not_found.append(email_id)
            continue
        subject = _highlight(row.summary.get("subject") or "", subject_terms, excerpt=False)
        preview = None
        if body_terms:
            message = ParsedMessage.from_json(row.parsed, raw=ctx.services.blobs.read(row.blob_id))
            for part_id in message.text_body or message.html_body:
                text, _ = message.part_text(part_id)
                if message.part(part_id).type == "text/html":
                    text = html_to_text(text)
                preview = _highlight(text[:200_000], body_terms, excerpt=True)
                if preview:
                    break
        listed.append({"emailId": email_id, "subject": subject, "preview": preview})
    return {"accountId": account.id, "list": listed, "notFound": not_found or None}



