"""Running the account's active script at delivery (RFC 5228 §2.10).

The delivery plugin asks before it stores a message (its
``jmapd_delivery_plan`` hook); the interpreter decides the actions and this
module turns them into a plan: the Mailboxes and keywords of the one Email,
discard, reject, redirects queued in the delivery's own transaction, and
a vacation reply after it committed. Whatever cannot be done is recorded
and the message kept in the inbox, so a script can lose no mail.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import logging
from typing import Any

from jmapd import __version__
from jmapd.models import now

from .config import SieveConfig
from .domain.actions import FileInto, Keep, Limits, Redirect, Reject, Vacation
from .domain.interpreter import Envelope, run_script
from .models import RunError
from .script import _all

log = logging.getLogger("jmapd.sieve")

#: How many run errors an account keeps (the newest).
KEEP_ERRORS = 100
#: A message with more Received lines than this is looping; it is not redirected again.
MAX_HOPS = 50
_SYSTEM_FLAGS = {"\\seen": "$seen", "\\answered": "$answered", "\\flagged": "$flagged", "\\draft": "$draft"}
_KEYWORD_FORBIDDEN = set('()]{%*"\\')


def keyword(flag: str) -> str | None:
    """The JMAP keyword of an IMAP flag (RFC 8621 §4.1.1), None for one
    JMAP has no keyword for (``\\Deleted``, ``\\Recent``) or a malformed one."""
    lower = flag.lower()
    if lower in _SYSTEM_FLAGS:
        return _SYSTEM_FLAGS[lower]
    if lower.startswith("\\") or not 0 < len(lower) <= 255:
        return None
    if any(not 0x21 <= ord(c) <= 0x7E or c in _KEYWORD_FORBIDDEN for c in lower):
        return None
    return lower


def active_script(account_id: str) -> tuple[str, str, str] | None:
    """(id, name, blobId) of the account's active script, or None."""
    for object_id, data in _all(account_id).items():
        if data.get("isActive"):
            return object_id, str(data.get("name") or ""), str(data["blobId"])
    return None


def plan(services: Any, account_id: str, raw: bytes, mail_from: str, recipient: str, folder: str | None) -> Any:
    """The delivery plan of the active script, or None (no script: the default)."""
    from jmapd_delivery.api import DeliveryPlan

    found = active_script(account_id)
    if found is None:
        return None
    script_id, _name, blob_id = found
    section = services.config.section(SieveConfig)
    data = services.blobs.read(blob_id)
    if data is None:  # cannot happen while the script holds its blob; never lose the message
        return _kept(account_id, script_id, [f"the script's content {blob_id} is gone"])
    limits = Limits(
        max_steps=section.max_steps, max_actions=section.max_actions, max_redirects=section.max_redirects,
        max_include_depth=section.max_include_depth, max_script_size=section.max_script_size,
    )

    def load(name: str, is_global: bool) -> str | None:
        # NOTE(sieve): no store of global scripts; :global is "does not exist"
        if is_global:
            return None
        for other in _all(account_id).values():
            if other.get("name") == name:
                content = services.blobs.read(other["blobId"])
                return content.decode("utf-8", "replace") if content is not None else None
        return None

    def exists(name: str) -> bool:
        from jmapd_mail.api import mailbox_at

        return mailbox_at(services, account_id, name) is not None

    environment = {
        "domain": recipient.rpartition("@")[2], "host": services.config.section("delivery").hostname or "",
        "location": "MDA", "name": "jmapd", "phase": "during", "version": __version__,
    }
    result = run_script(
        data.decode("utf-8", "replace"), raw, Envelope(mail_from, recipient),
        environment=environment, limits=limits, loader=load, mailbox_exists=exists,
    )
    errors = [result.error] if result.error else []
    if result.error:
        log.warning("sieve script %s of %s failed; message kept: %s", script_id, account_id, result.error)
    mailboxes: list[str] = []
    keywords: list[str] = []
    redirects: list[str] = []
    vacation: Vacation | None = None
    stored = False  # a keep or fileinto asked for the message to be stored
    for act in result.actions:
        if isinstance(act, Reject):
            return DeliveryPlan(reject=" ".join(act.reason.split())[:300] or "rejected by the recipient's rules")
        if isinstance(act, Keep | FileInto):
            stored = True
            if isinstance(act, Keep):
                box = _default_box(account_id, folder)
            else:
                box = _mailbox(services, account_id, act.mailbox, act.create)
                if box is None:
                    errors.append(f"fileinto {act.mailbox!r}: no such mailbox (filed into the inbox)")
                    box = _inbox(account_id)
            if box is not None and box not in mailboxes:
                mailboxes.append(box)
            keywords += [k for k in (keyword(f) for f in act.flags) if k and k not in keywords]
        elif isinstance(act, Redirect):
            why = _cannot_redirect(services, raw, recipient, act.address)
            if why is None:
                redirects.append(act.address)
            else:  # the message is kept instead, so it is not lost
                errors.append(f"redirect to {act.address!r} not done ({why}); the message was kept")
                stored = True
        elif isinstance(act, Vacation):
            vacation = act
    # An empty mailbox list with stored set is the default place (the inbox):
    # a Mailbox that vanished while planning never makes the message vanish.
    return DeliveryPlan(
        store=stored,
        mailbox_ids=tuple(mailboxes),
        keywords=tuple(keywords),
        in_transaction=lambda email_id: _commit(services, account_id, script_id, email_id, recipient, mail_from,
                                                raw, redirects, errors),
        after_commit=(lambda _email_id: _reply(services, account_id, raw, mail_from, vacation)) if vacation else None,
    )


def _kept(account_id: str, script_id: str, errors: list[str]) -> Any:
    """The default delivery, with the reason the script did not run recorded."""
    from jmapd_delivery.api import DeliveryPlan

    return DeliveryPlan(in_transaction=lambda email_id: _record(account_id, script_id, email_id, errors))


def _inbox(account_id: str) -> str | None:
    from jmapd_mail.api import find_mailbox

    return find_mailbox(account_id, role="inbox")


def _default_box(account_id: str, folder: str | None) -> str | None:
    """keep's "default location": the recipient's ``+folder`` if it exists, else the inbox."""
    from jmapd_mail.api import find_mailbox

    if folder:
        found = find_mailbox(account_id, name=folder)
        if found is not None:
            return found
    return _inbox(account_id)


def _mailbox(services: Any, account_id: str, name: str, create: bool) -> str | None:
    from jmapd_mail.api import mailbox_at

    try:
        return mailbox_at(services, account_id, name, create=create)
    except Exception:
        log.exception("could not find or create mailbox %r for %s", name, account_id)
        return None


def _cannot_redirect(services: Any, raw: bytes, recipient: str, address: str) -> str | None:
    """Why a redirect cannot go out, or None. Loop protection: a message that
    already passed this recipient (its ``Delivered-To``) or too many hops."""
    from jmapd_submission.api import local_recipients

    if not services.pm.has_plugin("submission"):
        return "no submission plugin"
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    msg = email.message_from_bytes(head + b"\r\n\r\n", policy=email.policy.compat32)
    seen = {str(v).strip().strip("<>").lower() for v in msg.get_all("Delivered-To") or []}
    if recipient.strip().strip("<>").lower() in seen or address.lower() in seen:
        return "mail loop: it was delivered here before"
    if len(msg.get_all("Received") or []) > MAX_HOPS:
        return "mail loop: too many Received headers"
    if not local_recipients(services, [address]) and not services.config.section("submission").smarthost.host:
        return "no outbound relay"
    return None


def _commit(
    services: Any, account_id: str, script_id: str, email_id: str, recipient: str, mail_from: str, raw: bytes,
    redirects: list[str], errors: list[str],
) -> None:
    """Inside the delivery's transaction: queue the redirects (so they go out
    exactly when the delivery commits) and record the errors."""
    if redirects:
        from jmapd_submission.api import Address, enqueue, local_recipients
        from jmapd_submission.api import Envelope as SmtpEnvelope

        # RFC 5228 §4.2: the message unchanged but for a trace line naming
        # this recipient, which the loop check above finds on the way back.
        message = f"Delivered-To: {recipient.strip().strip('<>')}\r\n".encode("utf-8", "replace") + raw
        for address in redirects:
            envelope = SmtpEnvelope(Address(mail_from.strip().strip("<>")), (Address(address),))
            enqueue(account_id, envelope, message, kind="redirect", local=local_recipients(services, [address]))
        log.info("sieve redirect of %s for %s to %s", email_id or "(discarded)", account_id, ", ".join(redirects))
    if errors:
        _record(account_id, script_id, email_id, errors)


def _record(account_id: str, script_id: str, email_id: str, errors: list[str]) -> None:
    for error in errors:
        RunError.insert(account_id=account_id, script_id=script_id, email_id=email_id or None,
                        error=error[:2000], at=now()).execute()
    old = (RunError.select(RunError.id).where(RunError.account_id == account_id)
           .order_by(RunError.id.desc()).offset(KEEP_ERRORS))
    RunError.delete().where(RunError.id.in_([r.id for r in old])).execute()


def _reply(services: Any, account_id: str, raw: bytes, mail_from: str, act: Vacation) -> None:
    """After the delivery committed: the vacation reply under the RFC 3834
    rules and the reply log the VacationResponse uses (one per sender per period)."""
    if not services.pm.has_plugin("vacation"):
        log.info("sieve vacation for %s not sent: the vacation plugin is not enabled", account_id)
        return
    from jmapd_submission.api import wake
    from jmapd_vacation.api import auto_reply

    text, html = act.reason, None
    if act.mime:  # RFC 5230 §4.7: the reason is a MIME entity
        part = email.message_from_string(act.reason, policy=email.policy.default)
        plain = part.get_body(("plain",)) if hasattr(part, "get_body") else None
        rich = part.get_body(("html",)) if hasattr(part, "get_body") else None
        text = plain.get_content() if plain is not None else ""
        html = rich.get_content() if rich is not None else None
    outcome = auto_reply(
        services, account_id, raw, mail_from, text=text, html=html, subject=act.subject,
        period=datetime.timedelta(seconds=act.seconds), from_address=act.from_, addresses=act.addresses,
    )
    log.info("sieve vacation for %s to %r: %s", account_id, mail_from, outcome)
    wake(services)


def run_errors(account_id: str) -> list[dict[str, Any]]:
    """The account's recorded run errors, newest first (for tests and the operator)."""
    rows = RunError.select().where(RunError.account_id == account_id).order_by(RunError.id.desc())
    return [{"scriptId": r.script_id, "emailId": r.email_id, "error": r.error, "at": r.at} for r in rows]

