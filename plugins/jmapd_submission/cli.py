"""``jmapd queue list|show|retry|delete``: the outbound queue for the operator."""

from __future__ import annotations

import sys
from typing import Any

from . import admin

SHORT_REPLY = 60


def register(subparsers: Any) -> None:
    top = subparsers.add_parser("queue", help="the outbound mail queue (submission plugin)")
    sub = top.add_subparsers(dest="queue_command", required=True)
    p = sub.add_parser("list", help="rows still to send (tab-separated), oldest due first")
    p.add_argument("--all", action="store_true", help="also the finished rows (sent, bounced, canceled)")
    p.add_argument("--user", help="only this user's")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("show", help="one row: envelope, attempts, last reply, message headers")
    p.add_argument("id", type=int)
    p.add_argument("--message", action="store_true", help="print the whole message instead")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("retry", help="send waiting rows at the next scan instead of at their retry time")
    p.add_argument("ids", type=int, nargs="*")
    p.add_argument("--all", action="store_true", help="every waiting row")
    p.set_defaults(func=cmd_retry)
    p = sub.add_parser("delete", help="remove rows: a waiting one is not sent, its submission is canceled")
    p.add_argument("ids", type=int, nargs="+")
    p.set_defaults(func=cmd_delete)


def _recipients(item: Any) -> str:
    return ",".join(r["email"] + ("(local)" if r.get("local") else "") for r in item.rcpt_to)


def cmd_list(args: Any) -> int:
    args.services()
    print("id\tstate\tdue\tattempts\tuser\tfrom\trecipients\tlast reply")
    for row in admin.rows(include_finished=args.all, user=args.user):
        item = row.item
        reply = (item.last_reply or "-")[:SHORT_REPLY]
        due = admin.age(item.due) if item.state in admin.PENDING else admin.age(item.finished_at)
        print(f"{item.id}\t{item.state}\t{due}\t{item.attempts}\t{row.user or '-'}\t{item.mail_from or '<>'}\t"
              f"{_recipients(item)}\t{reply}")
    return 0


def cmd_show(args: Any) -> int:
    args.services()
    row = admin.get(args.id)
    if row is None:
        print(f"jmapd queue: no queue row {args.id}", file=sys.stderr)
        return 1
    item = row.item
    if args.message:
        sys.stdout.buffer.write(bytes(item.message))
        return 0
    fields: list[tuple[str, object]] = [
        ("id", item.id), ("state", item.state), ("kind", item.kind), ("user", row.user or "-"),
        ("account", item.account_id), ("submission", item.submission_id or "-"),
        ("created", f"{item.created:%Y-%m-%d %H:%M:%S} UTC ({admin.age(item.created)})"),
        ("due", f"{item.due:%Y-%m-%d %H:%M:%S} UTC ({admin.age(item.due)})"),
        ("attempts", item.attempts),
        ("first attempt", admin.age(item.first_attempt)),
        ("claimed by", item.claimed_by or "-"),
        ("finished", admin.age(item.finished_at)),
        ("mail from", f"<{item.mail_from}>"),
    ]
    for rcpt in item.rcpt_to:
        fields.append(("rcpt to", f"<{rcpt['email']}>" + (" (local)" if rcpt.get("local") else "")))
    for done in item.local_results or []:
        fields.append(("delivered", f"<{done.get('email')}> {done.get('reply', '')}"))
    fields.append(("last reply", item.last_reply or "-"))
    fields.append(("size", f"{len(bytes(item.message))} octets"))
    fields.extend(admin.headers(bytes(item.message)).items())
    width = max(len(name) for name, _ in fields)
    for name, value in fields:
        print(f"{name + ':':<{width + 1}} {value}")
    return 0


def cmd_retry(args: Any) -> int:
    if not args.ids and not args.all:
        print("jmapd queue retry: give row ids or --all", file=sys.stderr)
        return 2
    services = args.services()
    made_due = admin.retry(None if args.all else args.ids)
    if made_due:
        from .queue import wake

        wake(services)
    for item_id in made_due:
        print(f"{item_id}: due now")
    for item_id in sorted(set(args.ids) - set(made_due)):
        print(f"jmapd queue: row {item_id} is not waiting for a retry", file=sys.stderr)
    return 0 if args.all or len(made_due) == len(set(args.ids)) else 1


def cmd_delete(args: Any) -> int:
    services = args.services()
    failed = 0
    for item_id in args.ids:
        try:
            outcome = admin.delete(item_id)
        except admin.Busy:
            print(f"jmapd queue: row {item_id} is being relayed right now; try again", file=sys.stderr)
            failed += 1
            continue
        if outcome is None:
            print(f"jmapd queue: no queue row {item_id}", file=sys.stderr)
            failed += 1
            continue
        what, changes = outcome
        if changes.committed:
            services.changes_committed(changes.committed)
        print(f"{item_id}: {what}")
    return 1 if failed else 0
