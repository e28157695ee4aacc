"""The in-process API other plugins use (vacation, delivery).

Everything another plugin needs from submission is named here, so the rest
of this package can change without breaking its neighbours: the message
header and envelope rules the RFC 3834 auto-reply logic applies, and the
queue a plugin hands an outgoing message to. Names keep their signatures
unless both sides agree.
"""

from __future__ import annotations

from .domain.addresses import mailbox_key
from .domain.envelope import Address, Envelope, header_addresses, identity_allows
from .domain.headers import Header, get_all, get_last, parse_headers
from .local import local_recipients
from .queue import enqueue, wake
from .reports import record_report
from .senders import allowed_addresses, owner_name

__all__ = [
    "Address",
    "Envelope",
    "Header",
    "allowed_addresses",
    "enqueue",
    "get_all",
    "get_last",
    "header_addresses",
    "identity_allows",
    "local_recipients",
    "mailbox_key",
    "owner_name",
    "parse_headers",
    "record_report",
    "wake",
]
