"""Storing one inbound message, for LMTP and for `jmapd deliver`.

The mail plugin owns the store (``jmapd_mail.api.deliver``); this module
maps the recipient to an account and mailbox, stamps ``Return-Path``
(RFC 5321 §4.4: the final delivery adds it), stores the message and only
then lets other plugins react (vacation responses). The store call has
committed when it returns, so an LMTP 250 is only ever sent for a
message that is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from typing import Any

from jmapd.db import ensure_connected, is_postgres, write_transaction
from jmapd.logformat import configure as configure_logging
from jmapd.quota import OverQuota

from .plan import DeliveryPlan, Rejected
from .recipients import Target, resolve

log = logging.getLogger("jmapd.delivery")

_SENDER_OK = re.compile(r"^[^\s<>\x00-\x1f\x7f]*$")


class UnknownRecipient(Exception):
    """No local account for the address (LMTP 550, sysexits EX_NOUSER)."""


def return_path(mail_from: str) -> bytes:
    """The Return-Path header line for an envelope sender ("" is ``<>``)."""
    sender = mail_from.strip().strip("<>").strip()
    if not _SENDER_OK.match(sender):
        sender = ""
    return f"Return-Path: <{sender}>\r\n".encode("utf-8", "replace")


def store(
    services: Any, target: Target, raw: bytes, mail_from: str, on_stored: Callable[[str], None] | None = None,
    plan: DeliveryPlan | None = None,
) -> str:
    """Store ``raw`` for ``target`` as ``plan`` says: by default in the
    mailbox named by its folder part if there is one, else in the inbox.
    Returns the new Email id ("" when the plan stores nothing)."""
    from jmapd_mail import api as mail_api

    plan = plan or DeliveryPlan()
    in_tx = _both(plan.in_transaction, on_stored)
    if not plan.store:
        with write_transaction(target.account_id):
            if in_tx is not None:
                in_tx("")
        return ""
    mailbox_id = None
    if plan.mailbox_ids:
        mailbox_id = plan.mailbox_ids[0]
    elif target.folder:
        mailbox_id = mail_api.find_mailbox(target.account_id, name=target.folder)
        if mailbox_id is None:
            log.info("no mailbox %r for %s; delivering to the inbox", target.folder, target.user_name)
    message = return_path(mail_from) + raw
    extra = plan.mailbox_ids[1:]
    if mailbox_id is not None:
        return str(mail_api.deliver(services, target.account_id, message, mailbox_id=mailbox_id, mailbox_ids=extra,
                                    keywords=plan.keywords, on_stored=in_tx))
    return str(mail_api.deliver(services, target.account_id, message, mailbox_role="inbox",
                                keywords=plan.keywords, on_stored=in_tx))


def _both(first: Callable[[str], None] | None, second: Callable[[str], None] | None) -> Callable[[str], None] | None:
    if first is None or second is None:
        return first or second

    def both(email_id: str) -> None:
        first(email_id)
        second(email_id)

    return both


def plan_for(services: Any, target: Target, recipient: str, mail_from: str, raw: bytes) -> DeliveryPlan:
    """The plan a plugin decides (``jmapd_delivery_plan``), or the default."""
    try:
        plan = services.hook.jmapd_delivery_plan(
            services=services, account_id=target.account_id, raw=raw, mail_from=mail_from,
            recipient=recipient, folder=target.folder,
        )
    except Exception:  # a plugin's failure must not lose the message
        log.exception("a jmapd_delivery_plan hook failed for %s; delivering as usual", recipient)
        plan = None
    return plan if isinstance(plan, DeliveryPlan) else DeliveryPlan()


def deliver(
    services: Any,
    recipient: str,
    mail_from: str,
    raw: bytes,
    target: Target | None = None,
    *,
    on_stored: Callable[[str], None] | None = None,
) -> str:
    """Deliver one message to one recipient; returns the Email id.

    ``on_stored(email_id)`` runs inside the store's transaction (see
    ``jmapd_mail.api.deliver``): the outbound queue marks the recipient
    delivered there, so a crash can neither lose nor repeat the delivery.

    The recipient's plugins decide first (``jmapd_delivery_plan``): where
    the message goes, with which keywords, or not at all ("" is returned
    for a discarded message).

    :raises UnknownRecipient: no account for ``recipient``.
    :raises Rejected: the recipient's rules refuse the message (nothing stored).
    :raises jmapd.quota.OverQuota: the message does not fit the account's quota (nothing stored).
    """
    ensure_connected()
    target = target or resolve(services.config, recipient)
    if target is None:
        raise UnknownRecipient(recipient)
    plan = plan_for(services, target, recipient, mail_from, raw)
    if plan.reject is not None:
        log.info("rejected %s for %s (%s): %s", len(raw), recipient, target.account_id, plan.reject)
        raise Rejected(plan.reject)
    email_id = store(services, target, raw, mail_from, on_stored, plan)
    # DEBUG: the LMTP transaction's one INFO line (or jmapd deliver's exit status) reports it
    log.debug("delivered %s for %s (%s) as %s", len(raw), recipient, target.account_id, email_id or "(discarded)")
    if plan.after_commit is not None:
        try:
            plan.after_commit(email_id)
        except Exception:
            log.exception("the delivery plan's follow-up failed after delivering to %s", recipient)
    if not email_id:
        return email_id
    try:
        services.hook.jmapd_message_delivered(
            services=services,
            account_id=target.account_id,
            email_id=email_id,
            raw=raw,
            mail_from=mail_from,
            recipient=recipient,
        )
    except Exception:
        log.exception("a jmapd_message_delivered hook failed after delivering %s", email_id)
    return email_id


def lmtp_server(services: Any, host: str | None = None, port: int | None = None) -> Any:
    """An LMTP server (lmtp.py) delivering into ``services``' store."""
    from .lmtp import DeliveryResult, LMTPServer

    section = services.config.section("delivery")
    # SQLite has one writer: deliveries of parallel sessions wait for each
    # other here, woken as soon as the previous one commits, rather than in
    # SQLite's busy handler, which sleeps up to 100 ms between tries (the p95
    # of 4 parallel sessions was 0.75 s, issue #17). PostgreSQL's per-account
    # lock wakes its waiters itself, and other accounts' deliveries overlap.
    one_writer = threading.Lock() if not is_postgres() else contextlib.nullcontext()

    def check(address: str) -> tuple[int, str, Target | None]:
        if "\x00" in address:  # permanent: retrying cannot make it storable
            return 501, "5.1.3 Bad recipient address syntax (NUL)", None
        ensure_connected()
        target = resolve(services.config, address)
        if target is None:
            return 550, "5.1.1 No such user here", None
        return 250, "2.1.5 OK", target  # DATA delivers to it: one lookup per recipient

    def on_data(recipient: str, mail_from: str, raw: bytes, target: Target | None = None) -> Any:
        if len(raw) > section.max_message_size:
            return DeliveryResult.permanent("5.3.4 Message too big", code=552)
        if b"\x00" in raw or "\x00" in mail_from:
            # RFC 5321 §4.1.1.4 forbids NUL in mail data; PostgreSQL cannot store it
            return DeliveryResult.permanent("5.6.0 Message contains NUL characters", code=550)
        try:
            with one_writer:
                email_id = deliver(services, recipient, mail_from, raw, target)
        except UnknownRecipient:
            return DeliveryResult.permanent("5.1.1 No such user here", code=550)
        except OverQuota:  # this recipient only: the others of the transaction are still delivered
            return DeliveryResult.permanent("5.2.2 Mailbox full", code=552)
        except Rejected as exc:  # RFC 5429 §2.1: refused in the protocol, the MTA bounces it
            return DeliveryResult.permanent(f"5.7.1 {exc.reason}", code=550)
        if not email_id:
            return DeliveryResult.delivered("2.0.0 Delivered")
        return DeliveryResult.delivered(f"2.0.0 Delivered as {email_id}")

    return LMTPServer(
        on_data,
        check_recipient=check,
        host=section.lmtp_host if host is None else host,
        port=section.lmtp_port if port is None else port,
        max_message_size=section.max_message_size,
        max_recipients=section.max_recipients,
        hostname=section.hostname,
    )


def serve_lmtp(config_path: str | None) -> None:
    """The LMTP listener process (`jmapd serve` supervises it; `jmapd lmtp`
    runs it alone): its own services, its own event loop. A listener that
    cannot start says why in one line and exits 1, for the supervisor (or
    systemd) to restart it."""
    from jmapd.app import build_services, load_config

    cfg, pm = load_config(config_path)
    configure_logging(cfg.log.format, cfg.log.level)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # aiosmtpd logs every command line (raw bytes) and each normal
        # disconnect at INFO; jmapd's own line per transaction says what happened
        logging.getLogger("mail.log").setLevel(logging.WARNING)
    section = cfg.section("delivery")
    try:
        services = build_services(cfg, pm)
    except Exception as exc:  # noqa: BLE001 - the database or a directory: one line, then the restart
        log.error("LMTP listener cannot start: %s", exc)
        raise SystemExit(1) from None
    server = lmtp_server(services)

    async def main() -> None:
        try:
            await server.start_async()
        except OSError as exc:
            # asyncio's strerror repeats the address; the errno's own text does not
            log.error("LMTP listener cannot listen on %s:%s: %s", section.lmtp_host, section.lmtp_port,
                      os.strerror(exc.errno) if exc.errno else exc)
            raise SystemExit(1) from None
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop_async()

    asyncio.run(main())


def cmd_lmtp(args: Any) -> int:
    """`jmapd lmtp`: the listener in the foreground, for deployments where
    something else than `jmapd serve` runs the HTTP side."""
    serve_lmtp(args.config)
    return 0


# -- `jmapd deliver` ------------------------------------------------------------
EX_OK, EX_DATAERR, EX_NOUSER, EX_CANTCREAT, EX_TEMPFAIL, EX_NOPERM = 0, 65, 67, 73, 75, 77


def cmd_deliver(args: Any) -> int:
    """Read one message from stdin and deliver it to ``--user`` (an MDA for
    MTAs that pipe instead of speaking LMTP). Exit codes follow sysexits.h."""
    from jmapd.app import build_services, load_config

    from .recipients import personal_account

    cfg, pm = load_config(args.config)
    services = build_services(cfg, pm)
    section = cfg.section("delivery")
    raw = sys.stdin.buffer.read(section.max_message_size + 1)
    if len(raw) > section.max_message_size:
        print(f"jmapd deliver: message larger than {section.max_message_size} octets", file=sys.stderr)
        return EX_DATAERR
    ensure_connected()
    account_id = personal_account(args.user)
    if account_id is None:
        print(f"jmapd deliver: no user {args.user}", file=sys.stderr)
        return EX_NOUSER
    target = Target(args.user, account_id, args.mailbox)
    try:
        email_id = deliver(services, args.recipient or args.user, args.sender or "", raw, target=target)
    except OverQuota:
        # NOTE(quota): permanent, as LMTP's 552 5.2.2; Postfix and Exim bounce on EX_CANTCREAT
        print(f"jmapd deliver: 5.2.2 mailbox full: {args.user} is over quota", file=sys.stderr)
        return EX_CANTCREAT
    except Rejected as exc:  # permanent: the MTA bounces it with the reason
        print(f"jmapd deliver: 5.7.1 {exc.reason}", file=sys.stderr)
        return EX_NOPERM
    except Exception as exc:
        log.exception("delivery failed")
        print(f"jmapd deliver: temporary failure: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    print(email_id)
    return EX_OK
