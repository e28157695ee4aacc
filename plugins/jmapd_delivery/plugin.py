"""Hook implementations of the delivery plugin, and nothing else."""

from __future__ import annotations

from typing import Any

from jmapd import hookimpl

from . import hookspecs
from .checks import check_listener, lmtp_health
from .config import DeliveryConfig
from .deliver import cmd_deliver, cmd_lmtp, serve_lmtp


@hookimpl
def jmapd_add_hookspecs(pm: Any) -> None:
    pm.add_hookspecs(hookspecs)


@hookimpl
def jmapd_config_schema() -> tuple[str, type]:
    return ("delivery", DeliveryConfig)


@hookimpl
def jmapd_requires() -> list[str]:
    return ["mail"]  # delivered messages become Emails


@hookimpl
def jmapd_config_check(config: Any, connect: bool) -> list[tuple[str, str]]:
    return check_listener(config, connect)


@hookimpl
def jmapd_serve_processes(config: Any) -> list[Any]:
    return [serve_lmtp] if config.section("delivery").lmtp else []


@hookimpl
def jmapd_commands(subparsers: Any) -> None:
    p = subparsers.add_parser("deliver", help="deliver one message from stdin into a user's account")
    p.add_argument("--user", required=True, help="user whose personal account receives the message")
    p.add_argument("--mailbox", help="mailbox name (default: the inbox)")
    p.add_argument("--sender", help="envelope sender, for Return-Path and vacation responses")
    p.add_argument("--recipient", help="envelope recipient address (default: the user name)")
    p.set_defaults(func=cmd_deliver)
    p = subparsers.add_parser("lmtp", help="run the LMTP listener alone (delivery.lmtp_host/lmtp_port), in the foreground")
    p.set_defaults(func=cmd_lmtp)


@hookimpl
def jmapd_health(services: Any) -> dict[str, str]:
    return lmtp_health(services.config)
