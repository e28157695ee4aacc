"""``jmapd import maildir|mbox`` and ``jmapd export``: moving a user's mail in and out.

Registered by the mail plugin through the ``jmapd_commands`` hook. Imports
write straight through :mod:`jmapd_mail.store` in batches (see
:mod:`.importer` for why that is safe to interrupt); a summary line ends
every run and the exit status is 1 when any message failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from jmapd.cli_setup import UserSession, run_migrations

from ..capability import CORE, MAIL

USING = [CORE, MAIL]


def register(subparsers: Any) -> None:
    top = subparsers.add_parser("import", help="import a user's mail from an IMAP account, Maildir or mbox")
    sub = top.add_subparsers(dest="import_source", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--user", required=True, help="whose personal account gets the mail")
        p.add_argument("--dry-run", action="store_true", help="list what would be imported, change nothing")

    p = sub.add_parser("maildir", help="a Maildir (Maildir++ .Folder.Sub or nested) or a directory of .eml files")
    p.add_argument("path")
    p.add_argument("--mailbox", help="put every folder under this mailbox (default: the top level)")
    common(p)
    p.set_defaults(func=cmd_import_maildir)
    p = sub.add_parser("mbox", help="an mbox file, or a directory of them (one per folder; Thunderbird's .sbd)")
    p.add_argument("path")
    p.add_argument("--mailbox", help="mailbox for a single file (default: named after the file)")
    common(p)
    p.set_defaults(func=cmd_import_mbox)

    p = sub.add_parser("imap", help="every folder of an IMAP account (incremental: a re-run fetches what is new)")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, help="default 993 with --tls, else 143")
    security = p.add_mutually_exclusive_group()
    security.add_argument("--tls", dest="security", action="store_const", const="tls", help="implicit TLS (imaps)")
    security.add_argument("--starttls", dest="security", action="store_const", const="starttls",
                          help="plain connection upgraded with STARTTLS")
    p.add_argument("--cafile", help="trust this CA bundle (PEM) instead of the system's")
    p.add_argument("--login", required=True, help="the IMAP login name")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password (an app password is fine) from the first line of stdin; else a prompt")
    common(p)
    p.set_defaults(func=cmd_import_imap, security="none")

    p = subparsers.add_parser("export", help="write a user's mail as Maildir++ or mbox")
    p.add_argument("path", help="directory to write (a file for --format mbox with --mailbox)")
    p.add_argument("--user", required=True)
    p.add_argument("--format", choices=["maildir", "mbox"], required=True)
    p.add_argument("--mailbox", help="only this mailbox (name, path A/B or role)")
    p.set_defaults(func=cmd_export)


def _session(args: Any, prog: str) -> UserSession:
    session = UserSession(getattr(args, "config", None), args.user, USING, prog)
    run_migrations(session.services)
    return session


def _run(args: Any, messages: Any, total: int | None, importer: Any = None) -> int:
    from .importer import Importer, Progress

    if importer is None:
        session = _session(args, "jmapd import")
        importer = Importer(session.services, session.account_id, dry_run=args.dry_run)
    importer.progress = Progress(total)
    try:
        report = importer.run(messages)
    except KeyboardInterrupt:
        importer.progress.close()
        return _interrupted(args, importer)
    finally:
        importer.progress.close()
    _report(args, report)
    return 0 if not report.failed else 1


def _report(args: Any, report: Any) -> None:
    for origin, reason in report.failed:
        print(f"failed: {origin}: {reason}", file=sys.stderr)
    print(("dry run: " if args.dry_run else "") + report.summary(), file=sys.stderr)


def _interrupted(args: Any, importer: Any) -> int:
    """Ctrl-C: every committed batch stays (with its IMAP resume point), the batch being
    gathered is dropped; the report says so and the exit status is 130, as a shell's."""
    importer.interrupted()
    _report(args, importer.report)
    print("jmapd import: interrupted; what was imported is kept, run the same command again to continue",
          file=sys.stderr)
    return 130


def _exists(path: str) -> Path:
    target = Path(path)
    if not target.exists():
        raise SystemExit(f"jmapd import: {path}: no such file or directory")
    return target


def cmd_import_maildir(args: Any) -> int:
    from .sources import maildir_folders, read_maildir

    root = _exists(args.path)
    folders = maildir_folders(root)
    if not folders:
        raise SystemExit(f"jmapd import: {args.path}: no Maildir folders (cur/ new/) or .eml files found")
    total = sum(sum(1 for sub in ("cur", "new") if (d / sub).is_dir() for _ in (d / sub).iterdir())
                + sum(1 for _ in d.glob("*.eml")) for _, d in folders)
    prefix = (args.mailbox,) if args.mailbox else ()
    messages = read_maildir(root)
    if prefix:
        messages = (_prefixed(m, prefix) for m in messages)
    return _run(args, messages, total)


def _prefixed(message: Any, prefix: tuple[str, ...]) -> Any:
    message.folder = (*prefix, *message.folder) if message.folder else prefix
    return message


def cmd_import_mbox(args: Any) -> int:
    from .sources import read_mbox_tree

    target = _exists(args.path)
    return _run(args, read_mbox_tree(target, args.mailbox), None)


def cmd_import_imap(args: Any) -> int:
    import getpass
    import imaplib
    import ssl

    from .imap import connect, read_imap, scan
    from .importer import Importer

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"IMAP password for {args.login}@{args.host}: ")
    if args.security == "none" and args.host not in ("127.0.0.1", "::1", "localhost"):
        print("jmapd import: warning: the password goes to the server unencrypted (use --tls or --starttls)",
              file=sys.stderr)
    session = _session(args, "jmapd import")
    importer = Importer(session.services, session.account_id, dry_run=args.dry_run)
    source = f"imap://{args.login}@{args.host}:{args.port or (993 if args.security == 'tls' else 143)}"
    try:
        client = connect(args.host, args.port, security=args.security, login=args.login, password=password,
                         cafile=args.cafile)
    except (OSError, ssl.SSLError, imaplib.IMAP4.error) as exc:
        raise SystemExit(f"jmapd import: cannot log in to {args.host}: {exc}") from None
    try:
        try:
            folders = scan(client, importer, source)
        except KeyboardInterrupt:
            return _interrupted(args, importer)
        total = sum(len(f.uids) for f in folders)
        try:
            return _run(args, read_imap(client, importer, source, folders), total, importer)
        except (TimeoutError, OSError, imaplib.IMAP4.abort) as exc:
            importer.finish()  # what was fetched before the loss is written, with its resume point
            print(importer.report.summary(), file=sys.stderr)
            print(f"jmapd import: connection to {args.host} lost: {exc}; what was imported is kept, "
                  "run the same command again to continue", file=sys.stderr)
            return 1
    finally:
        try:
            client.logout()
        except Exception:  # the connection may already be gone; nothing to do about it
            pass


def cmd_export(args: Any) -> int:
    from .export import Exporter
    from .importer import Progress

    session = _session(args, "jmapd export")
    exporter = Exporter(session.services, session.account_id)
    target = Path(args.path)
    progress = Progress(None)
    try:
        if args.format == "maildir":
            exporter.maildir(target, args.mailbox, progress)
        else:
            exporter.mbox(target, args.mailbox, progress)
    finally:
        progress.close()
    print(f"{exporter.count} messages exported from {exporter.mailboxes} mailboxes to {target}", file=sys.stderr)
    return 0
