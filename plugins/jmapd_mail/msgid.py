"""The domain generated Message-IDs name (issue #9.8).

Every message this server writes itself (an Email/set draft, a vacation
reply, an iMIP invitation) gets a Message-ID in the sender's own domain, or
the operator's ``mail.hostname``: a ``localhost`` id would collide with every
other server's and says nothing about where the message came from.
"""

from __future__ import annotations

import socket
from typing import Any

from .domain.compose import public_domain


def message_id_host(configured: str | None) -> str:
    """The configured host name, else this host's FQDN; never ``localhost``."""
    if configured:
        return configured
    return public_domain("@" + socket.getfqdn()) or "jmapd.invalid"


def message_id_domain(config: Any, address: str | None) -> str:
    """Domain of a Message-ID generated for a message from ``address``: its
    own domain, else ``mail.hostname``, else this host's FQDN."""
    return public_domain(address) or message_id_host(config.section("mail").hostname)
