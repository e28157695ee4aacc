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
import logging
import re
import sys
from collections.abc import Callable
from typing import Any

from jmapd.db import ensure_connected
from jmapd.quota import OverQuota

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
    services: Any, target: Target, raw: bytes, mail_from: str, on_stored: Callable[[str], None] | None = None
) -> str:
    """Store ``raw`` for ``target``: in the mailbox named by its folder part
    if there is one, else in the inbox. Returns the new Email id."""
    from jmapd_mail import api as mail_api

    mailbox_id = None
    if target.folder:
        mailbox_id = mail_api.find_mailbox(target.account_id, name=target.folder)
        if mailbox_id is None:
            log.info("no mailbox %r for %s; delivering to the inbox", target.folder, target.user_name)
    message = return_path(mail_from) + raw
    if mailbox_id is not None:
        return str(mail_api.deliver(services, target.account_id, message, mailbox_id=mailbox_id, on_stored=on_stored))
    return str(mail_api.deliver(services, target.account_id, message, mailbox_role="inbox", on_stored=on_stored))


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

    :raises UnknownRecipient: no account for ``recipient``.
    :raises jmapd.quota.OverQuota: the message does not fit the account's quota (nothing stored).
    """
    ensure_connected()
    target = target or resolve(services.config, recipient)
    if target is None:
        raise UnknownRecipient(recipient)
    email_id = store(services, target, raw, mail_from, on_stored)
    log.info("delivered %s for %s (%s) as %s", len(raw), recipient, target.account_id, email_id)
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

    def check(address: str) -> tuple[int, str]:
        if "\x00" in address:  # permanent: retrying cannot make it storable
            return 501, "5.1.3 Bad recipient address syntax (NUL)"
        ensure_connected()
        if resolve(services.config, address) is None:
            return 550, "5.1.1 No such user here"
        return 250, "2.1.5 OK"

    def on_data(recipient: str, mail_from: str, raw: bytes) -> Any:
        if len(raw) > section.max_message_size:
            return DeliveryResult.permanent("5.3.4 Message too big", code=552)
        if b"\x00" in raw or "\x00" in mail_from:
            # RFC 5321 §4.1.1.4 forbids NUL in mail data; PostgreSQL cannot store it
            return DeliveryResult.permanent("5.6.0 Message contains NUL characters", code=550)
        try:
            email_id = deliver(services, recipient, mail_from, raw)
        except UnknownRecipient:
            return DeliveryResult.permanent("5.1.1 No such user here", code=550)
        except OverQuota:  # this recipient only: the others of the transaction are still delivered
            return DeliveryResult.permanent("5.2.2 Mailbox full", code=552)
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
    """`jmapd serve`'s LMTP process: its own services, its own event loop."""
    from jmapd.app import build_services, load_config

    cfg, pm = load_config(config_path)
    logging.basicConfig(level=cfg.log.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    services = build_services(cfg, pm)
    server = lmtp_server(services)

    async def main() -> None:
        await server.start_async()
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop_async()

    asyncio.run(main())


# -- `jmapd deliver` ------------------------------------------------------------
EX_OK, EX_DATAERR, EX_NOUSER, EX_CANTCREAT, EX_TEMPFAIL = 0, 65, 67, 73, 75


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
    except Exception as exc:
        log.exception("delivery failed")
        print(f"jmapd deliver: temporary failure: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    print(email_id)
    return EX_OK
