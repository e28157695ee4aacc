"""Hook implementations of the mail plugin, and nothing else."""

from __future__ import annotations

from typing import Any

from jmapd import hookimpl
from jmapd.methods.registry import Capability, Method

from . import migrations
from .capability import CORE, MAIL, MAIL_SHARE, account_capability
from .config import MailConfig


@hookimpl
def jmapd_config_schema() -> tuple[str, type]:
    return ("mail", MailConfig)


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    return [
        Capability(
            MAIL,
            session={},
            account=lambda account_id, services: account_capability(services.config),
            requires=(CORE,),
        ),
        # The mail sharing draft: Mailboxes carry shareWith and mayShare.
        Capability(MAIL_SHARE, session={}, account={}, requires=(MAIL,)),
    ]


@hookimpl
def jmapd_migrations() -> tuple[str, Any]:
    return ("mail", migrations)


@hookimpl
def jmapd_models() -> list[Any]:
    from .models import MODELS

    return list(MODELS)


@hookimpl
def jmapd_account_created(services: Any, account_id: str, user_name: str) -> None:
    from .defaults import create_default_mailboxes

    if services.config.section("mail").default_mailboxes:
        create_default_mailboxes(account_id)


@hookimpl
def jmapd_account_deleted(services: Any, account_id: str) -> None:
    # Each Email through the destroy path: the full-text indexes are not
    # declared models (and SQLite's is contentless: only the original text
    # removes its terms), so the core's per-table deletion cannot reach them.
    from jmapd.db import tuples
    from jmapd.state import ChangeLog

    from .models import Email
    from .store import destroy_email

    changes = ChangeLog()  # never flushed: the account's change log goes with it
    for (email_id,) in list(tuples(Email.select(Email.id).where(Email.account_id == account_id))):
        destroy_email(services, changes, account_id, email_id)


@hookimpl
def jmapd_data_types(config: Any) -> list[Any]:
    from .types.email import EmailType
    from .types.mailbox import MailboxType
    from .types.thread import ThreadType

    return [MailboxType(config), ThreadType(config), EmailType(config)]


@hookimpl
def jmapd_methods(config: Any) -> list[Method]:
    from .methods import email_import, email_parse, search_snippet_get

    return [
        Method("Email/import", email_import, MAIL),
        Method("Email/parse", email_parse, MAIL),
        Method("SearchSnippet/get", search_snippet_get, MAIL),
    ]


@hookimpl
def jmapd_resolve_blob(services: Any, account_id: str, blob_id: str) -> bytes | None:
    from .blobs import resolve_part

    return resolve_part(services, account_id, blob_id)


@hookimpl
def jmapd_shared_blob(ctx: Any, account_id: str, blob_id: str) -> dict[str, list[str]] | None:
    from .sharee_blobs import shared_blob

    return shared_blob(ctx, account_id, blob_id)


@hookimpl
def jmapd_commands(subparsers: Any) -> None:
    from .transfer.cli import register

    register(subparsers)


@hookimpl
def jmapd_changes_committed(services: Any, account_id: str, changed: dict[str, str]) -> None:
    if "Email" in changed:
        from .planner_stats import note_write

        note_write()


@hookimpl
def jmapd_startup(services: Any) -> None:
    # A bulk load by `jmapd import`, or a restored database, before this start.
    from .planner_stats import note_write

    note_write()
