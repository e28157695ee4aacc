"""What a plugin may decide about one message for one recipient before it is
stored (the ``jmapd_delivery_plan`` hook): the Sieve plugin's filing,
flags, discard, reject, redirect and vacation, without delivery knowing Sieve."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class Rejected(Exception):
    """The recipient's rules refuse the message (LMTP 550 5.7.1, nothing stored)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class DeliveryPlan:
    """One recipient's delivery, decided before anything is stored.

    :param store: False stores nothing (Sieve's discard); the delivery still
        succeeds.
    :param mailbox_ids: where the one Email goes; empty is the default (the
        recipient's ``+folder`` or the inbox).
    :param keywords: JMAP keywords the Email starts with.
    :param reject: refuse the message for this recipient with this reason.
    :param in_transaction: runs inside the transaction that stores the Email
        (or, when nothing is stored, one of its own) with the Email id ("" if
        none): what must commit with the delivery or not at all (a redirect
        queued for sending). If it raises, nothing is stored.
    :param after_commit: runs once the delivery committed, before the
        ``jmapd_message_delivered`` hooks; a failure is logged, never the
        delivery's (a vacation reply).
    """

    store: bool = True
    mailbox_ids: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    reject: str | None = None
    in_transaction: Callable[[str], None] | None = None
    after_commit: Callable[[str], None] | None = None
