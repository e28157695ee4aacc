"""Hook implementations of the mdn plugin, and nothing else."""

from __future__ import annotations

import logging
from typing import Any

from jmapd import hookimpl
from jmapd.methods.registry import Capability, Method

from .capability import MAIL, MDN, SUBMISSION
from .link import link_report
from .parse import mdn_parse
from .send import mdn_send

log = logging.getLogger("jmapd.mdn")


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    return [Capability(MDN, session={}, account={}, requires=(MAIL, SUBMISSION))]


@hookimpl
def jmapd_methods(config: Any) -> list[Method]:
    return [Method("MDN/send", mdn_send, MDN), Method("MDN/parse", mdn_parse, MDN)]


# Offered by the delivery plugin (jmapd_delivery.hookspecs); optional so
# MDN/send and MDN/parse work on a server that does not receive mail.
@hookimpl(optionalhook=True)
def jmapd_message_delivered(
    services: Any, account_id: str, email_id: str, raw: bytes, mail_from: str, recipient: str
) -> None:
    try:
        link_report(services, account_id, email_id, raw)
    except Exception:  # linking a report must never fail a delivery
        log.exception("linking a report for %s failed", account_id)
