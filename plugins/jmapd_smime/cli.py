"""``jmapd smime scan``: the status at delivery of mail stored before the plugin was enabled.

Each S/MIME message without a status gets the verdict RFC 9219 describes
for ``smimeStatusAtDelivery``: certificates checked at its ``receivedAt``,
against today's trust anchors. Messages that
already have one keep it (it is immutable), so a second run changes nothing.
"""

from __future__ import annotations

import datetime
from typing import Any

from jmapd.db import ensure_connected, tuples, write_transaction
from jmapd.models import Account, User, now

from .domain.mime import looks_signed
from .domain.verify import verify
from .models import SmimeEmail
from .trust import trust_store

PAGE = 500


def register(subparsers: Any) -> None:
    top = subparsers.add_parser("smime", help="S/MIME signature verification (RFC 9219)")
    sub = top.add_subparsers(dest="smime_command", required=True)
    p = sub.add_parser("scan", help="record the status at delivery of S/MIME mail stored before the plugin was enabled")
    p.add_argument("--user", help="only this user's accounts (default: every account)")
    p.set_defaults(func=cmd_scan)


def scan_account(services: Any, account_id: str) -> tuple[int, int]:
    """(Emails looked at, statuses recorded) for one account."""
    from jmapd_mail.api import email_blobs

    trust = trust_store(services)
    seen = recorded = 0
    after = ""
    while True:
        page = email_blobs(account_id, after, PAGE)
        if not page:
            return seen, recorded
        after = page[-1][0]
        seen += len(page)
        ids = [email_id for email_id, _, _ in page]
        known = {str(e) for (e,) in tuples(SmimeEmail.select(SmimeEmail.email_id).where(SmimeEmail.email_id.in_(ids)))}
        rows = []
        for email_id, blob_id, received_at in page:
            if email_id in known:
                continue
            raw = services.blobs.read(blob_id)
            if raw is None or not looks_signed(raw):
                continue
            delivered = received_at.replace(tzinfo=datetime.UTC)
            verdict = verify(raw, trust, datetime.datetime.now(datetime.UTC), delivered_at=delivered)
            if verdict.status is not None:
                rows.append({"email_id": email_id, "account_id": account_id,
                             "status_at_delivery": verdict.status, "recorded_at": now()})
        if rows:
            with write_transaction(account_id):
                SmimeEmail.insert_many(rows).on_conflict_ignore().execute()
            recorded += len(rows)


def cmd_scan(args: Any) -> int:
    services = args.services()
    ensure_connected()
    query = Account.select(Account.id).order_by(Account.id)
    if args.user:
        user = User.get_or_none(User.name == args.user)
        if user is None:
            raise SystemExit(f"jmapd smime scan: no such user {args.user!r}")
        query = query.where(Account.owner == user.id)
    total_seen = total_recorded = 0
    for (account_id,) in list(tuples(query)):
        seen, recorded = scan_account(services, str(account_id))
        total_seen += seen
        total_recorded += recorded
    print(f"scanned {total_seen} messages, recorded {total_recorded} S/MIME statuses")
    return 0
