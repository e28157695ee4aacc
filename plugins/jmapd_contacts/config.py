"""The ``contacts:`` section of the YAML."""

from __future__ import annotations

from dataclasses import dataclass

from jmapd.config import doc


@dataclass
class ContactsConfig:
    default_address_book_name: str = doc(
        "Name of the address book every account gets before its first AddressBook or ContactCard call.", "Personal")
    max_address_books_per_card: int = doc("maxAddressBooksPerCard announced in the account capability (>= 1).", 10)
