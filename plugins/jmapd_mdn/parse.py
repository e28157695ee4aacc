"""MDN/parse (RFC 9007 §2.2): received reports read from blobs."""

from __future__ import annotations

from typing import Any

from jmapd.methods.standard.args import check_args
from jmapd.protocol.errors import MethodError

from .capability import MDN
from .domain.report import NotAReport, parse


def mdn_parse(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    args = check_args(args, {"accountId": ("Id", True), "blobIds": ("Id[]", True)}, {})
    account = ctx.account(args["accountId"], MDN, not_found="invalidArguments")
    blob_ids = list(dict.fromkeys(args["blobIds"]))
    limit = ctx.config.limits.max_objects_in_get
    if len(blob_ids) > limit:
        raise MethodError("requestTooLarge", f"at most {limit} blobs per MDN/parse")
    parsed: dict[str, Any] = {}
    not_parsable: list[str] = []
    not_found: list[str] = []
    for blob_id in blob_ids:
        raw = ctx.services.blobs.get(account.id, blob_id)
        if raw is None:
            not_found.append(blob_id)
            continue
        try:
            report, extra = parse(raw)
        except (NotAReport, ValueError, LookupError):
            not_parsable.append(blob_id)
            continue
        parsed[blob_id] = {
            "forEmailId": _email_with(ctx, account.id, report.original_message_id),
            "subject": extra["subject"],
            "textBody": extra["textBody"],
            "includeOriginalMessage": extra["includeOriginalMessage"],
            "reportingUA": report.reporting_ua,
            "disposition": report.disposition,
            "mdnGateway": report.mdn_gateway,
            "originalRecipient": report.original_recipient,
            "finalRecipient": report.final_recipient,
            "originalMessageId": report.original_message_id,
            "error": report.error or None,
            "extensionFields": report.extension_fields or None,
        }
    return {"accountId": account.id, "parsed": parsed or None, "notParsable": not_parsable or None,
            "notFound": not_found or None}


def _email_with(ctx: Any, account_id: str, message_id: str | None) -> str | None:
    """The one Email of the account with that Message-ID, or None (none, or
    several: RFC 9007 §2.2 lets the server leave it null)."""
    if not message_id:
        return None
    bare = message_id.strip().strip("<>")
    name, result = ctx.call("Email/query", {"accountId": account_id, "filter": {"header": ["Message-ID", bare]},
                                             "limit": 3})
    if name == "error":
        return None
    ids = result.get("ids") or []
    if len(ids) != 1:
        return None
    got = ctx.call("Email/get", {"accountId": account_id, "ids": ids, "properties": ["messageId"]})[1]
    found = (got.get("list") or [{}])[0]
    return str(ids[0]) if bare in (found.get("messageId") or []) else None
