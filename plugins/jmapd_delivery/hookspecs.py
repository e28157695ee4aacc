"""Hooks the delivery plugin offers to other plugins (added through
``jmapd_add_hookspecs``), so the core never has to know about mail."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from jmapd.services import Services

hookspec = pluggy.HookspecMarker("jmapd")


@hookspec
def jmapd_message_delivered(
    services: Services, account_id: str, email_id: str, raw: bytes, mail_from: str, recipient: str
) -> None:
    """A message was stored (durably) for ``recipient`` in ``account_id``.

    ``mail_from`` is the envelope sender ("" for the null sender). Runs
    after the delivery committed and must not raise: the sender has been
    (or is about to be) told the message was delivered. The vacation
    plugin answers here.
    """
