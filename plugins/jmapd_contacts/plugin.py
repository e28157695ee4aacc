"""Hook implementations of the contacts plugin, and nothing else."""

from __future__ import annotations

from typing import Any

from jmapd import hookimpl
from jmapd.methods.registry import Capability

from .addressbook import CONTACTS, AddressBook
from .config import ContactsConfig


@hookimpl
def jmapd_config_schema() -> tuple[str, type]:
    return ("contacts", ContactsConfig)


def _account(config: Any) -> dict[str, Any]:
    """RFC 9610 §1.4: the two fields every account capability MUST carry."""
    section = config.section("contacts")
    return {
        "maxAddressBooksPerCard": section.max_address_books_per_card,
        "mayCreateAddressBook": True,
    }


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    from .vcards import CONTACTS_PARSE

    return [Capability(CONTACTS, session={}, account=_account(config)),
            Capability(CONTACTS_PARSE, session={}, account={}, requires=(CONTACTS,))]


@hookimpl
def jmapd_data_types(config: Any) -> list[Any]:
    from .card import ContactCard

    return [AddressBook(config), ContactCard(config)]


@hookimpl
def jmapd_models() -> list[Any]:
    from .models import MODELS

    return list(MODELS)


@hookimpl
def jmapd_migrations() -> tuple[str, Any]:
    from . import migrations

    return ("contacts", migrations)


@hookimpl
def jmapd_methods(config: Any) -> list[Any]:
    from jmapd.methods.registry import Method

    from .vcards import CONTACTS_PARSE, contact_card_parse

    return [Method("ContactCard/parse", contact_card_parse, CONTACTS_PARSE)]


@hookimpl
def jmapd_resolve_blob(services: Any, account_id: str, blob_id: str) -> bytes | None:
    from .vcards import export_blob

    return export_blob(services, account_id, blob_id)


@hookimpl
def jmapd_shared_blob(ctx: Any, account_id: str, blob_id: str) -> dict[str, list[str]] | None:
    from .sharee_blobs import shared_blob

    return shared_blob(ctx, account_id, blob_id)


@hookimpl
def jmapd_commands(subparsers: Any) -> None:
    from .cli import register

    register(subparsers)
