"""MDN/send (RFC 9007 §2.1): a read receipt composed from an MDN object,
sent through the outbound queue, and the ``$mdnsent`` keyword set by the
implicit Email/set of ``onSuccessUpdateEmail``.

The server refuses a call whose ``onSuccessUpdateEmail`` would not set
``$mdnsent`` on every Email it answers (RFC 9007 §2.1 MUST), so a receipt is
never sent twice by accident.
"""

from __future__ import annotations

import datetime
from typing import Any

from jmapd.methods.standard.args import check_args
from jmapd.methods.types import CHECKS
from jmapd.protocol.errors import MethodError, SetError, invalid_properties

from .capability import MAIL, MDN
from .domain.report import ACTION_MODES, SENDING_MODES, TYPES, Report, compose, valid_field_name

CLIENT_SET = {
    "forEmailId": "Id", "subject": "String|null", "textBody": "String|null", "includeOriginalMessage": "Boolean",
    "reportingUA": "String|null", "disposition": "Object", "finalRecipient": "String|null",
    "extensionFields": "String[String]|null",
}
SERVER_SET = ("mdnGateway", "originalRecipient", "originalMessageId", "error")


def mdn_send(ctx: Any, args: dict[str, Any]) -> Any:
    if MAIL not in ctx.request.using:  # RFC 9007 §2.1: the implicit Email/set needs it
        raise MethodError("unknownMethod", f"MDN/send needs {MAIL} in using")
    args = check_args(args, {"accountId": ("Id", True), "identityId": ("Id", True), "send": ("Object", True),
                             "onSuccessUpdateEmail": ("Object", False)}, {})
    account = ctx.account(args["accountId"], MDN, write=True, not_found="invalidArguments")
    name, got = ctx.call("Identity/get", {"accountId": account.id, "ids": [args["identityId"]]})
    identities = got.get("list") or [] if name != "error" else []
    if not identities:
        raise MethodError("invalidArguments", f"no Identity {args['identityId']}")
    identity = identities[0]
    sends: dict[str, Any] = args["send"]
    limit = ctx.config.limits.max_objects_in_set
    if len(sends) > limit:
        raise MethodError("requestTooLarge", f"at most {limit} MDNs per MDN/send")
    updates: dict[str, Any] = args.get("onSuccessUpdateEmail") or {}
    _check_updates(sends, updates)
    sent: dict[str, Any] = {}
    not_sent: dict[str, Any] = {}
    done: dict[str, str] = {}  # creation id -> Email id
    for cid, mdn in sends.items():
        try:
            sent[cid] = _send_one(ctx, account.id, identity, mdn)
            done[cid] = mdn["forEmailId"]
        except SetError as exc:
            not_sent[cid] = exc.to_json()
    if sent:
        from jmapd_submission.api import wake

        wake(ctx.services)
    response = {"accountId": account.id, "sent": sent or None, "notSent": not_sent or None}
    email_update = {}
    for key, patch in updates.items():
        email_id = done.get(key[1:]) if key.startswith("#") else (key if key in done.values() else None)
        if email_id is not None:
            email_update[email_id] = patch
    if not email_update:
        return response
    return [("MDN/send", response), ctx.call("Email/set", {"accountId": account.id, "update": email_update})]


def _sets_mdnsent(patch: Any) -> bool:
    if not isinstance(patch, dict):
        return False
    if patch.get("keywords/$mdnsent") is True:
        return True
    keywords = patch.get("keywords")
    return isinstance(keywords, dict) and keywords.get("$mdnsent") is True


def _check_updates(sends: dict[str, Any], updates: dict[str, Any]) -> None:
    """Every MDN's Email gets ``$mdnsent`` from onSuccessUpdateEmail (RFC 9007 §2.1)."""
    for cid, mdn in sends.items():
        email_id = mdn.get("forEmailId") if isinstance(mdn, dict) else None
        if not any(_sets_mdnsent(p) and (k == f"#{cid}" or k == email_id) for k, p in updates.items()):
            raise MethodError("invalidArguments",
                              f"onSuccessUpdateEmail must set keywords/$mdnsent on the Email of MDN {cid}")


def _check(mdn: Any) -> dict[str, Any]:
    """The MDN with defaults, or invalidProperties naming every bad one."""
    if not isinstance(mdn, dict):
        raise SetError("invalidProperties", "an MDN object is expected")
    bad = [k for k in mdn if k not in CLIENT_SET]
    for key, kind in CLIENT_SET.items():
        if key not in mdn:
            continue
        if not any(CHECKS[t](mdn[key]) if t != "null" else mdn[key] is None for t in kind.split("|")):
            bad.append(key)
    for key in ("forEmailId", "disposition"):
        if key not in mdn and key not in bad:
            bad.append(key)
    disposition = mdn.get("disposition")
    if isinstance(disposition, dict):
        allowed = {"actionMode": ACTION_MODES, "sendingMode": SENDING_MODES, "type": TYPES}
        for key, values in allowed.items():
            if disposition.get(key) not in values:
                bad.append(f"disposition/{key}")
        bad += [f"disposition/{k}" for k in disposition if k not in allowed]
    for name in (mdn.get("extensionFields") or {}) if isinstance(mdn.get("extensionFields"), dict) else {}:
        if not valid_field_name(name):
            bad.append(f"extensionFields/{name}")
    if bad:
        unknown = [k for k in bad if k in SERVER_SET]
        why = "server-set: " + ", ".join(unknown) if unknown else None
        raise invalid_properties(*bad, description=why)
    return {"subject": None, "textBody": None, "includeOriginalMessage": False, "reportingUA": None,
            "finalRecipient": None, "extensionFields": None, **mdn}


def _send_one(ctx: Any, account_id: str, identity: dict[str, Any], given: Any) -> dict[str, Any]:
    from jmapd_mail.api import email_raw, message_id_domain
    from jmapd_submission.api import Address, Envelope, enqueue, identity_allows, local_recipients

    mdn = _check(given)
    props = ["keywords", "subject", "messageId", "header:Disposition-Notification-To:asAddresses",
             "header:Original-Recipient:asText"]
    name, got = ctx.call("Email/get", {"accountId": account_id, "ids": [mdn["forEmailId"]], "properties": props})
    found = (got.get("list") or []) if name != "error" else []
    if not found:
        raise SetError("notFound", f"no Email {mdn['forEmailId']}")
    email = found[0]
    notify_to = [a["email"] for a in email.get("header:Disposition-Notification-To:asAddresses") or [] if a.get("email")]
    if not notify_to:
        raise SetError("notFound", "the Email has no Disposition-Notification-To")
    if (email.get("keywords") or {}).get("$mdnsent"):
        raise SetError("mdnAlreadySent", "$mdnsent keyword is already present")
    final = mdn["finalRecipient"]
    if final is None:
        final = f"rfc822; {identity['email']}"
    else:
        kind, _, address = final.partition(";")
        if kind.strip().lower() != "rfc822" or not identity_allows(identity["email"], address.strip()):
            raise SetError("forbiddenFrom", f"the identity may not use finalRecipient {final!r}")
    local = local_recipients(ctx.services, notify_to)
    if set(notify_to) - local and not ctx.config.section("submission").smarthost.host:
        raise SetError("forbidden", "no outbound relay is configured (submission.smarthost.host)")
    message_ids = email.get("messageId") or []
    original_id = f"<{message_ids[0]}>" if message_ids else None
    original_rcpt = (email.get("header:Original-Recipient:asText") or "").strip() or None
    disposition = mdn["disposition"]
    report = Report(
        final_recipient=final, disposition=disposition, original_message_id=original_id,
        original_recipient=original_rcpt, reporting_ua=mdn["reportingUA"],
        extension_fields=dict(mdn["extensionFields"] or {}),
    )
    extra: dict[str, Any] = {}
    subject = mdn["subject"]
    if subject is None:
        subject = extra["subject"] = f"Disposition notification ({disposition['type']}): {email.get('subject') or ''}".strip()
    text = mdn["textBody"]
    if text is None:
        text = extra["textBody"] = (f"The message \"{email.get('subject') or ''}\" was {disposition['type']}. "
                                    "This is no guarantee that it was read or understood.")
    original = email_raw(ctx.services, account_id, mdn["forEmailId"]) if mdn["includeOriginalMessage"] else None
    from_header = f"{identity['name']} <{identity['email']}>" if identity.get("name") else identity["email"]
    raw = compose(report, from_header=from_header, to=notify_to, subject=subject, text=text, original=original,
                  domain=message_id_domain(ctx.config, identity["email"]), now=datetime.datetime.now(datetime.UTC))
    if len(raw) > ctx.config.section("submission").max_message_size:
        raise SetError("tooLarge", "the MDN is larger than the server sends")
    # RFC 8098 §2.1: the envelope sender of an MDN is null, so nothing answers it.
    envelope = Envelope(Address(""), tuple(Address(a) for a in notify_to))
    with ctx.write(account_id):
        enqueue(account_id, envelope, raw, kind="mdn", local=local)
    for key in ("includeOriginalMessage", "reportingUA", "extensionFields"):
        if key not in given:
            extra[key] = mdn[key]
    if "finalRecipient" not in given or given.get("finalRecipient") is None:
        extra["finalRecipient"] = final
    return {**extra, "originalMessageId": original_id, "originalRecipient": original_rcpt,
            "mdnGateway": None, "error": None}
