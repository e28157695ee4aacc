"""Answer delivered mail while the account's vacation response is on.

The RFC 3834 rules (never to lists, bulk, auto-submitted mail, robots or
the user's own addresses; only when the user is named in To/Cc/Bcc; once
per sender per period) live in the submission domain library; this
module feeds it the account's settings, addresses and reply log, and
hands a positive decision to the outbound queue with a null envelope
sender, so a bounce of the reply can never start a loop.

A sender who is a local user gets the reply delivered here by the queue
(submission's local recipients), relay or not. Without a relay
(``submission.smarthost.host`` unset) nothing is queued for anyone else:
such a queue is never drained. That is logged once per process.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any

from jmapd.db import tuples, write_transaction
from jmapd.models import Document

from .models import ReplyLog
from .types import load_settings, utc

log = logging.getLogger("jmapd.vacation")

#: Whether this process has already said that replies go unsent (no relay).
_warned_no_relay = False


def _no_relay() -> str:
    global _warned_no_relay
    if not _warned_no_relay:
        _warned_no_relay = True
        log.warning(
            "vacation responses are not sent: no outbound relay is configured (submission.smarthost.host)"
        )
    return "noRelay"


def _own_addresses(services: Any, account_id: str) -> tuple[list[str], str | None]:
    """The account's identity addresses (and the default identity's name)."""
    from jmapd_submission.api import allowed_addresses, owner_name

    addresses = list(allowed_addresses(services.config, owner_name(account_id)))
    name = None
    rows = Document.select(Document.data).where(
        (Document.account_id == account_id) & (Document.type_name == "Identity")
    ).order_by(Document.id)
    for (data,) in tuples(rows):
        data = dict(data)
        addresses.append(data.get("email", ""))
        if name is None and data.get("name"):
            name = data["name"]
    return [a for a in addresses if a], name


def _untag(services: Any) -> Callable[[str], str] | None:
    """The delivery plugin's recipient delimiter, undone (``bob+lists@`` is bob's)."""
    if not services.pm.has_plugin("delivery"):
        return None
    from jmapd_delivery.api import untagged

    return lambda address: untagged(services.config, address)


def respond(
    services: Any, account_id: str, raw: bytes, mail_from: str, now: datetime.datetime | None = None
) -> str:
    """Queue the vacation response to ``mail_from`` if RFC 3834 allows it;
    returns the decision's reason (``reply`` when one was queued,
    ``noRelay`` when there is no relay to send it)."""
    from .autoreply import VacationSettings

    settings_obj = load_settings(account_id)
    settings = VacationSettings(
        is_enabled=bool(settings_obj["isEnabled"]),
        from_date=utc(settings_obj["fromDate"]),
        to_date=utc(settings_obj["toDate"]),
        subject=settings_obj["subject"],
        text_body=settings_obj["textBody"],
        html_body=settings_obj["htmlBody"],
    )
    period = datetime.timedelta(days=services.config.section("vacation").period_days)
    return send_reply(services, account_id, raw, mail_from, settings, period, now=now)


def send_reply(
    services: Any,
    account_id: str,
    raw: bytes,
    mail_from: str,
    settings: Any,
    period: datetime.timedelta,
    *,
    more_addresses: tuple[str, ...] = (),
    from_address: str | None = None,
    now: datetime.datetime | None = None,
) -> str:
    """Queue an auto-reply with ``settings`` if RFC 3834 allows it.

    The VacationResponse and a Sieve ``vacation`` action both come here and
    share one reply log per sender, so a sender hears from the account at
    most once per period whichever of the two answers.
    ``more_addresses`` count as the user's own (Sieve ``:addresses``);
    ``from_address`` replaces the address the reply is sent from (``:from``).
    """
    from jmapd_submission.api import enqueue, local_recipients, mailbox_key, parse_headers, wake

    from .autoreply import Decision, compose_reply, decide

    if not services.pm.has_plugin("submission"):
        return "noSubmission"
    now = now or datetime.datetime.now(datetime.UTC)
    if not settings.active_at(now):
        return "disabled"
    local = local_recipients(services, [mail_from.strip().strip("<>").strip()])
    if not local and not services.config.section("submission").smarthost.host:
        return _no_relay()
    headers = parse_headers(raw)
    own, from_name = _own_addresses(services, account_id)
    own += [a for a in more_addresses if a]
    sender_key = mailbox_key(mail_from.strip().strip("<>").strip())[:320]
    with write_transaction(account_id):
        row = ReplyLog.get_or_none((ReplyLog.account_id == account_id) & (ReplyLog.sender == sender_key))
        last = row.replied_at.replace(tzinfo=datetime.UTC) if row is not None else None
        decision = decide(headers, mail_from, own, settings=settings, last_replied=last, now=now, period=period,
                          untag=_untag(services))
        if not decision:
            log.info("no vacation response to %r for %s: %s", mail_from, account_id, decision.reason)
            return str(decision.reason)
        if from_address:
            decision = Decision(decision.reply, decision.reason, decision.reply_to, from_address)
        from jmapd_mail.api import message_id_domain

        domain = message_id_domain(services.config, decision.from_address)
        reply = compose_reply(headers, decision, settings, from_name=from_name, now=now, msgid_domain=domain)
        enqueue(account_id, reply.envelope, reply.raw, kind="autoreply", local=local)
        stamp = now.astimezone(datetime.UTC).replace(tzinfo=None)
        if row is None:
            ReplyLog.insert(account_id=account_id, sender=sender_key, replied_at=stamp).execute()
        else:
            ReplyLog.update(replied_at=stamp).where(
                (ReplyLog.account_id == account_id) & (ReplyLog.sender == sender_key)
            ).execute()
    wake(services)
    log.info("vacation response queued to %r for %s", mail_from, account_id)
    return str(decision.reason)
