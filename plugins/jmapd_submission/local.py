"""Recipients this server delivers to itself instead of relaying.

A recipient whose address is a local user's (the delivery plugin decides,
through its ``api.py``: case, ``delivery.fold_local_part``, the recipient
delimiter) is marked ``local`` in its queue row when the message is
queued. The queue worker delivers those through the delivery plugin —
the LMTP path: threading, the recipient's vacation response, push and
``EmailDelivery`` — and relays only the rest.

NOTE(conform): local recipients go through the durable queue rather than
being delivered inside EmailSubmission/set's transaction. The queue row is
written in the submission's savepoint, so once /set answers the delivery
cannot be lost (kill -9 included: the next worker claims the row); and
the queue is what honours ``send_delay``, FUTURERELEASE holds and
``undoStatus: canceled`` for local recipients exactly as for remote ones.
Delivering in the request would also have meant holding the sender's and
every recipient's account locks at once (a lock-order deadlock between
two users writing to each other). Each local delivery marks its recipient
done in the queue row inside the delivery's own transaction
(``on_stored``), so a crash and a retry neither lose nor repeat it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from .domain.relay import Outcome, RecipientResult

log = logging.getLogger("jmapd.submission.local")

DELIVERED_REPLY = "250 2.1.5 Delivered to a local mailbox"
NO_USER_REPLY = "550 5.1.1 No such local user (any more)"
OVER_QUOTA_REPLY = "552 5.2.2 Mailbox full: the recipient is over quota"


class LeaseLost(Exception):
    """Another worker took the row over: this delivery must not commit."""


def _local_domains(config: Any) -> list[str]:
    """Where a bare user name is local when ``delivery.domains`` is empty:
    the domain of users' default identities."""
    return [config.section("submission").default_domain]


def _target(services: Any, address: str) -> Any:
    if not services.pm.has_plugin("delivery"):
        return None
    from jmapd_delivery.api import local_target

    return local_target(services.config, address, _local_domains(services.config))


def local_recipients(services: Any, emails: Iterable[str]) -> frozenset[str]:
    """The addresses among ``emails`` that belong to local accounts."""
    return frozenset(e for e in emails if _target(services, e) is not None)


def result_row(result: RecipientResult) -> dict[str, Any]:
    return {"email": result.email, "code": result.code, "reply": result.reply, "outcome": str(result.outcome)}


def result_of(row: dict[str, Any]) -> RecipientResult:
    return RecipientResult(row["email"], int(row["code"]), row["reply"], Outcome(row["outcome"]), accepted_status="yes")


def deliver_one(
    services: Any, address: str, mail_from: str, message: bytes, mark: Any
) -> RecipientResult:
    """Deliver ``message`` to one local recipient.

    ``mark(result)`` runs inside the delivery's transaction (and, for a
    recipient that is gone, on its own) to record the result in the queue
    row; it raises :class:`LeaseLost` if the row is no longer ours, which
    rolls the delivery back. Any other failure is temporary: the recipient
    stays queued and is retried like a relay's 4xx.
    """
    target = _target(services, address)
    if target is None:
        result = RecipientResult(address, 550, NO_USER_REPLY, Outcome.PERMANENT)
        mark(result)
        return result
    from jmapd_delivery.api import OverQuota, Rejected, deliver

    delivered = RecipientResult(address, 250, DELIVERED_REPLY, Outcome.ACCEPTED, accepted_status="yes")
    try:
        deliver(services, address, mail_from, message, target=target, on_stored=lambda _id: mark(delivered))
    except LeaseLost:
        raise
    except OverQuota:  # nothing was stored; final, as LMTP's 552 for the same recipient
        result = RecipientResult(address, 552, OVER_QUOTA_REPLY, Outcome.PERMANENT)
        mark(result)
        return result
    except Rejected as exc:  # the recipient's Sieve rules refuse it: final, bounced with the reason
        result = RecipientResult(address, 550, f"550 5.7.1 {' '.join(exc.reason.split())}"[:500], Outcome.PERMANENT)
        mark(result)
        return result
    except Exception as exc:
        log.exception("local delivery to %s failed", address)
        return RecipientResult(address, 451, f"451 4.3.0 Local delivery failed: {exc}"[:500], Outcome.TEMPORARY)
    return delivered
