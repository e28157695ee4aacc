"""The operator's command line: ``jmapd [--config FILE] COMMAND``."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from typing import Any

import peewee

from . import __version__
from .cli_setup import _load, _services, run_migrations  # noqa: F401 (run_migrations is used by jmapd.testing)
from .config import ConfigError
from .db import DatabaseUnavailable
from .logformat import configure as configure_logging
from .plugins import PluginError

log = logging.getLogger("jmapd.cli")


def cmd_migrate(args: argparse.Namespace) -> int:
    services = _services(args)
    ran = run_migrations(services)
    for plugin, name in ran:
        print(f"applied {plugin} {name}")
    print("schema up to date" if not ran else f"{len(ran)} migration(s) applied")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if getattr(args, "password_stdin", False):
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Again: "):
            raise SystemExit("passwords differ")
    if not password:
        raise SystemExit("empty password refused")
    return password


def add_user(services: Any, name: str, password: str) -> Any:
    """Create a user and personal account and let plugins set it up."""
    from .auth import create_user
    from .db import database

    with database.obj.atomic():
        user, account = create_user(name, password)
        services.hooks.account_created(services, account.id, name)
    return user, account


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a user name, or None.

    A name must survive HTTP Basic (which splits at the first ``:``) and
    mail addresses: no whitespace, control characters or ``:``, at most 254
    characters (the longest address), not empty.
    """
    if not name:
        return "empty"
    if len(name) > 254:
        return "longer than 254 characters"
    if ":" in name:
        return "contains ':' (HTTP Basic could not send it)"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "contains whitespace or a control character"
    return None


def cmd_user(args: argparse.Namespace) -> int:
    from .auth import hash_password
    from .models import User

    services = _services(args)
    run_migrations(services)
    if args.action == "add":
        problem = name_problem(args.name)
        if problem:
            print(f"user name {args.name!r} refused: {problem}", file=sys.stderr)
            return 1
        if User.get_or_none(User.name == args.name):
            print(f"user {args.name} exists", file=sys.stderr)
            return 1
        _, account = add_user(services, args.name, _read_password(args))
        print(f"created user {args.name} (account {account.id})")
    elif args.action == "passwd":
        user = User.get_or_none(User.name == args.name)
        if user is None:
            print(f"no user {args.name}", file=sys.stderr)
            return 1
        user.password_hash = hash_password(_read_password(args))
        user.save()
        print(f"password of {args.name} changed")
    elif args.action == "delete":
        from .sharing import DIRECTORY_USER
        from .users import delete_user

        user = User.get_or_none((User.name == args.name) & (User.name != DIRECTORY_USER))
        if user is None:
            print(f"no user {args.name}", file=sys.stderr)
            return 1
        removed = delete_user(services, user, keep_data=args.keep_data)
        if args.keep_data:
            print(f"deleted user {args.name} (data kept)")
        else:
            print(f"deleted user {args.name} and {sum(removed.values())} row(s) of their data; "
                  "`jmapd gc` collects blobs no account references")
    elif args.action == "rename":
        from .sharing import DIRECTORY_USER
        from .users import rename_user

        user = User.get_or_none((User.name == args.name) & (User.name != DIRECTORY_USER))
        if user is None:
            print(f"no user {args.name}", file=sys.stderr)
            return 1
        problem = name_problem(args.new_name)
        if problem:
            print(f"user name {args.new_name!r} refused: {problem}", file=sys.stderr)
            return 1
        if User.get_or_none(User.name == args.new_name):
            print(f"user {args.new_name} exists", file=sys.stderr)
            return 1
        rename_user(user, args.new_name)
        print(f"user {args.name} renamed to {args.new_name}")
    elif args.action in ("disable", "enable"):
        from .sharing import DIRECTORY_USER

        disabled = args.action == "disable"
        changed = User.update(disabled=disabled).where((User.name == args.name) & (User.name != DIRECTORY_USER)).execute()
        if not changed:
            print(f"no user {args.name}", file=sys.stderr)
            return 1
        # every worker reads the flag on each request: no cache to wait for
        print(f"user {args.name} {'disabled' if disabled else 'enabled'}")
    else:
        from .sharing import DIRECTORY_USER

        for user in User.select().where(User.name != DIRECTORY_USER).order_by(User.name):
            print(user.name + (" (disabled)" if user.disabled else ""))
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from .auth import create_token
    from .models import Token, User

    _services(args)
    if args.action == "create":
        user = User.get_or_none(User.name == args.user)
        if user is None:
            print(f"no user {args.user}", file=sys.stderr)
            return 1
        if Token.get_or_none((Token.user == user.id) & (Token.name == args.name)):
            print(f"user {args.user} already has a token named {args.name!r} (revoke it first)", file=sys.stderr)
            return 1
        print(create_token(user, args.name))
    elif args.action == "revoke":
        query = Token.delete().where(Token.name == args.name)
        if args.user:
            query = query.where(Token.user.in_(User.select(User.id).where(User.name == args.user)))
        print(f"revoked {query.execute()} token(s)")
    else:
        for token in Token.select(Token, User).join(User).order_by(User.name, Token.name):
            print(f"{token.user.name}\t{token.name}\t{token.created:%Y-%m-%d}")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from .plugins import enabled_names, installed

    _, pm = _load(args)
    enabled = set(enabled_names(pm))
    for name, ep in sorted(installed().items()):
        print(f"{name}\t{ep.value}\t{'enabled' if name in enabled else 'disabled'}")
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    from .state import prune

    services = _services(args)
    pruned = prune(services.config.changes.horizon_days)
    from .quota import release_expired_uploads

    uploads = release_expired_uploads(services.config, services.config.blobs.unreferenced_ttl)
    blobs = services.blobs.gc(services.config.blobs.unreferenced_ttl)
    print(f"pruned {pruned} change(s), released {uploads} upload charge(s), removed {blobs} blob(s)")
    return 0


def ensure_demo(services: Any) -> tuple[str, str] | None:
    """The quick start's demo account: created once, password printed."""
    from .models import User

    if User.get_or_none(User.name == "demo"):
        return None
    password = "demo-" + os.urandom(6).hex()
    add_user(services, "demo", password)
    path = services.config.data_dir / "demo-password.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    os.chmod(path, 0o600)
    return "demo", password


def cmd_serve(args: argparse.Namespace) -> int:
    from .footprint import bound_malloc_arenas, freeze_before_fork
    from .hosting import serve

    bound_malloc_arenas()  # before any thread, connection or worker exists
    services = _services(args)
    run_migrations(services)
    from .db import database
    from .migrate import check_models

    check_models(services.pm, database.obj)  # before forking workers that would each fail
    cfg = services.config
    from .hosting import check_tls

    check_tls(cfg)
    bind = args.bind or cfg.server.bind
    workers = args.workers or cfg.server.workers
    if args.demo:
        created = ensure_demo(services)
        password = (cfg.data_dir / "demo-password.txt").read_text().strip() if created is None else created[1]
        host, _, port = bind.rpartition(":")
        scheme = "https" if cfg.server.tls.cert_file else "http"
        print(f"jmapd {__version__}: session at {scheme}://{host}:{port}/.well-known/jmap")
        print(f"demo account: user 'demo', password '{password}'")
        sys.stdout.flush()
    from .hosting import prepare_metrics

    prepare_metrics(cfg)  # before the processes below start counting
    from .supervise import Supervisor

    targets = [target for result in services.hook.jmapd_serve_processes(config=cfg) for target in result or []]
    supervisor = Supervisor(targets, cfg.source or None)  # restarts a background process that dies
    supervisor.start()
    from .db import database

    database.obj.close()  # workers open their own connections after fork
    freeze_before_fork()
    try:
        serve(cfg, bind, workers)
    finally:
        supervisor.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jmapd", description="A JMAP server.")
    parser.add_argument("--config", "-c", help="YAML configuration file (or JMAPD_CONFIG)")
    parser.add_argument("--version", action="version", version=f"jmapd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="migrate, then serve HTTP with gunicorn")
    p.add_argument("--bind", help="HOST:PORT (default from config)")
    p.add_argument("--workers", type=int, help="worker processes")
    p.add_argument("--demo", action="store_true", help="create a demo user and print its password")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="create or upgrade the schema of core and plugins")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("user", help="manage users")
    user_sub = p.add_subparsers(dest="action", required=True)
    for action in ("add", "passwd"):
        q = user_sub.add_parser(action)
        q.add_argument("name")
        q.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    q = user_sub.add_parser("delete", help="delete a user and, unless --keep-data, all of their accounts' data")
    q.add_argument("name")
    q.add_argument("--keep-data", action="store_true", help="remove only the login; the data rows stay (unreachable)")
    q = user_sub.add_parser("rename", help="change a user's login name (data, tokens and grants stay)")
    q.add_argument("name")
    q.add_argument("new_name")
    user_sub.add_parser("disable", help="refuse the user's password and app passwords (data kept)").add_argument("name")
    user_sub.add_parser("enable").add_argument("name")
    user_sub.add_parser("list")
    p.set_defaults(func=cmd_user)

    p = sub.add_parser("token", help="app passwords (bearer tokens)")
    token_sub = p.add_subparsers(dest="action", required=True)
    q = token_sub.add_parser("create")
    q.add_argument("user")
    q.add_argument("name")
    q = token_sub.add_parser("revoke")
    q.add_argument("name")
    q.add_argument("--user")
    token_sub.add_parser("list")
    p.set_defaults(func=cmd_token)

    from .cli_config import add_commands as add_config_commands

    add_config_commands(sub)

    sub.add_parser("plugins", help="list installed plugins").set_defaults(func=cmd_plugins)
    sub.add_parser("gc", help="prune the change log and unreferenced blobs").set_defaults(func=cmd_gc)
    from .cli_sharing import add_commands

    add_commands(sub)
    from .cli_backup import add_commands as add_backup_commands

    add_backup_commands(sub)
    return parser


def _plugin_manager_for_commands(config_path: str | None) -> tuple[Any, Exception | None]:
    """The plugins whose subcommands the parser lists, and the configuration error if any.

    With a broken configuration every installed plugin's commands are still
    listed (argparse would otherwise answer "invalid choice: 'deliver'"
    without saying why); running one then reports the configuration error.
    """
    from .app import load_config
    from .plugins import make_plugin_manager

    try:
        cfg, pm = load_config(config_path)
        configure_logging(cfg.log.format, "INFO")
        return pm, None
    except (ConfigError, PluginError) as exc:
        error: Exception = exc
    try:
        return make_plugin_manager(None), error
    except PluginError:
        return None, error


def _lazy_services(args: argparse.Namespace) -> Any:
    built: list[Any] = []

    def services() -> Any:
        if not built:
            built.append(_services(args))
        return built[0]

    return services


def main(argv: list[str] | None = None) -> int:
    configure_logging("text", "INFO")  # until the configuration names log.format
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--config", "-c")
        known, _ = pre.parse_known_args(argv)
        parser = build_parser()
        pm, config_error = _plugin_manager_for_commands(known.config)
        if pm is not None:
            sub_action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            pm.hook.jmapd_commands(subparsers=sub_action)
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            if config_error is not None:  # --help or a usage error: say why commands may differ
                print(f"jmapd: configuration error: {config_error}", file=sys.stderr)
            raise
        # Every command may ask for the services (a plugin's too, whose
        # module may not import the core's command helpers): built once from
        # the configuration, the database reached or the command stopped.
        args.services = _lazy_services(args)
        return int(args.func(args) or 0)
    except (ConfigError, PluginError) as exc:
        print(f"jmapd: configuration error: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        print(f"jmapd: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except (peewee.OperationalError, peewee.InterfaceError) as exc:  # the server went away mid-command
        print(f"jmapd: database error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EX_TEMPFAIL


#: sysexits.h: temporary, try again later. An MTA piping into `jmapd
#: deliver` defers the message instead of bouncing it.
EX_TEMPFAIL = 75


if __name__ == "__main__":
    sys.exit(main())
