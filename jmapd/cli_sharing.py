"""Operator commands for sharing: delegation, principals, groups.

``jmapd share grant ACCOUNT --to USER --rights read|write|submit`` gives a
user a whole account (ACCOUNT is an account id or its owner's user name);
``jmapd principal add --type group|resource NAME`` and ``jmapd group
members add|remove GROUP PRINCIPAL…`` manage the directory that per-object
``shareWith`` grants name.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _account(name: str) -> Any:
    from .models import Account, User

    account = Account.get_or_none(Account.id == name)
    if account is None:
        account = (
            Account.select().join(User).where((User.name == name) & (Account.is_personal == True)).first()  # noqa: E712
        )
    return account


def _principal(name: str) -> Any:
    from .models import PrincipalRecord, User

    row = PrincipalRecord.get_or_none(PrincipalRecord.id == name)
    if row is None:
        row = PrincipalRecord.select().join(User).where(User.name == name).first()
    if row is None:
        row = PrincipalRecord.select().where(
            (PrincipalRecord.name == name) & (PrincipalRecord.type != "individual")
        ).first()
    return row


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def cmd_share(args: argparse.Namespace) -> int:
    from .cli_setup import _services, run_migrations
    from .delegation import change_delegation
    from .models import User

    services = _services(args)
    run_migrations(services)
    account = _account(args.account)
    if account is None:
        return _fail(f"no account {args.account}")
    user = User.get_or_none(User.name == args.to)
    if user is None:
        return _fail(f"no user {args.to}")
    if user.id == account.owner_id:
        return _fail("the owner already has every right")
    if args.action == "grant":
        change_delegation(services, account.id, user.id, args.rights)
        print(f"{args.to} may now {args.rights} account {account.id} ({account.name})")
    elif not change_delegation(services, account.id, user.id, None):
        return _fail(f"{args.to} had no delegation of {account.id}")
    else:
        print(f"{args.to} no longer has account {account.id}")
    return 0


def cmd_principal(args: argparse.Namespace) -> int:
    from .cli_setup import _services, run_migrations
    from .db import database
    from .models import PrincipalRecord
    from .sharing import DESTROYED, create_principal, drop_grants_of, log_principal_change

    services = _services(args)
    run_migrations(services)
    if args.action == "add":
        with database.obj.atomic():
            pid = create_principal(args.type, args.name, email=args.email, description=args.description)
        print(f"created {args.type} principal {args.name} ({pid})")
    elif args.action == "delete":
        row = _principal(args.name)
        if row is None or row.user_id is not None:
            return _fail(f"no group or resource {args.name} (users are removed with 'jmapd user delete')")
        with database.obj.atomic():
            drop_grants_of(row.id)
            row.delete_instance()
            log_principal_change(row.id, DESTROYED)
        print(f"deleted principal {args.name}")
    else:
        for row in PrincipalRecord.select().order_by(PrincipalRecord.type, PrincipalRecord.name):
            print(f"{row.id}\t{row.type}\t{row.name}\t{row.email or ''}")
    return 0


def cmd_group(args: argparse.Namespace) -> int:
    from .cli_setup import _services, run_migrations
    from .db import database
    from .models import GroupMember
    from .sharing import log_principal_change

    services = _services(args)
    run_migrations(services)
    group = _principal(args.group)
    if group is None or group.type != "group":
        return _fail(f"no group {args.group}")
    if args.action == "list":
        for name in sorted(m.member.name for m in GroupMember.select().where(GroupMember.group == group.id)):
            print(name)
        return 0
    with database.obj.atomic():
        for name in args.members:
            member = _principal(name)
            if member is None:
                return _fail(f"no principal {name}")
            where = (GroupMember.group == group.id) & (GroupMember.member == member.id)
            if args.action == "add":
                if member.id == group.id:
                    return _fail("a group cannot contain itself")
                if not GroupMember.select().where(where).exists():
                    GroupMember.insert(group=group.id, member=member.id).execute()
            else:
                GroupMember.delete().where(where).execute()
        log_principal_change(group.id)
    print(f"group {args.group}: {args.action} {', '.join(args.members)}")
    return 0


def cmd_quota(args: argparse.Namespace) -> int:
    from . import quota
    from .cli_setup import _services, run_migrations
    from .db import write_transaction
    from .state import ChangeLog

    services = _services(args)
    run_migrations(services)
    account = _account(args.user)
    if account is None:
        return _fail(f"no account {args.user}")
    if args.action == "set":
        limits: list[tuple[str, str, int | None]] = []
        try:
            if args.storage is not None:
                limits.append(("octets", "", None if args.storage == "default" else quota.parse_size(args.storage)))
            counts = list(args.count or [])
            if args.emails is not None:
                counts.append(f"Email={args.emails}")
            for item in counts:
                type_name, _, value = item.partition("=")
                limits.append(("count", type_name, None if value == "default" else int(value)))
        except ValueError as exc:
            return _fail(str(exc))
        if not limits:
            return _fail("nothing to set: give --storage, --emails or --count TYPE=N")
        log = ChangeLog()
        with write_transaction(account.id):
            for resource, type_name, hard in limits:
                quota.set_limit(log, account.id, resource, type_name, hard)
            log.flush()
        services.changes_committed(log.committed)
    types = services.registry.data_types.values()
    octet_types = sorted(dt.name for dt in types if "octets" in dt.quota_resources)
    counted = sorted(dt.name for dt in types if "count" in dt.quota_resources)
    for q in quota.quotas(services.config, account.id, octet_types, counted):
        print(f"{q.id}\t{q.scope}\t{q.resource}\tused {q.used}\tof {q.hard}")
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("quota", help="per-account quotas (RFC 9425)")
    quota_sub = p.add_subparsers(dest="action", required=True)
    q = quota_sub.add_parser("set")
    q.add_argument("user", help="user name or account id")
    q.add_argument("--storage", help="hard limit: 5GiB, 500MB, octets, or 'default'")
    q.add_argument("--emails", type=int, help="most Emails the account may hold (--count Email=N)")
    q.add_argument("--count", action="append", metavar="TYPE=N", help="most objects of a type ('default' resets)")
    quota_sub.add_parser("show").add_argument("user")
    p.set_defaults(func=cmd_quota)

    p = sub.add_parser("share", help="delegate a whole account to a user")
    share_sub = p.add_subparsers(dest="action", required=True)
    q = share_sub.add_parser("grant")
    q.add_argument("account", help="account id or owner's user name")
    q.add_argument("--to", required=True, help="user name")
    q.add_argument("--rights", choices=["read", "write", "submit"], default="read")
    q = share_sub.add_parser("revoke")
    q.add_argument("account")
    q.add_argument("--to", required=True)
    p.set_defaults(func=cmd_share)

    p = sub.add_parser("principal", help="groups and resources that objects can be shared with")
    principal_sub = p.add_subparsers(dest="action", required=True)
    q = principal_sub.add_parser("add")
    q.add_argument("name")
    q.add_argument("--type", choices=["group", "resource", "location", "other"], required=True)
    q.add_argument("--email")
    q.add_argument("--description")
    principal_sub.add_parser("delete").add_argument("name")
    principal_sub.add_parser("list")
    p.set_defaults(func=cmd_principal)

    p = sub.add_parser("group", help="members of group principals")
    group_sub = p.add_subparsers(dest="noun", required=True)
    q = group_sub.add_parser("members")
    q.add_argument("action", choices=["add", "remove", "list"])
    q.add_argument("group")
    q.add_argument("members", nargs="*")
    p.set_defaults(func=cmd_group)
