"""Hooks the delivery plugin offers to other plugins (added through
``jmapd_add_hookspecs``), so the core never has to know about mail."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from jmapd.services import Services

    from .plan import DeliveryPlan

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


@hookspec(firstresult=True)
def jmapd_delivery_plan(
    services: Services, account_id: str, raw: bytes, mail_from: str, recipient: str, folder: str | None
) -> DeliveryPlan | None:
    """How to deliver a message to ``recipient`` (``account_id``), decided
    before it is stored; the first plan returned wins, None is the default
    (store it in ``folder``, the ``+folder`` of the address, else the inbox).

    Runs for every delivery (LMTP, ``jmapd deliver``, local recipients of
    submissions), never for imports. ``raw`` is the message as received,
    without the ``Return-Path`` delivery adds. An exception is logged and the
    default used, so a plugin's failure never loses mail. The sieve plugin
    runs the account's active script here.
    """
