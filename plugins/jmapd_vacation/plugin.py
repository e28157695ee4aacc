"""Hook implementations of the vacation plugin, and nothing else."""

from __future__ import annotations

import logging
from typing import Any

from jmapd import hookimpl
from jmapd.methods.registry import Capability

from . import migrations
from .config import VacationConfig
from .models import ReplyLog
from .responder import respond
from .types import VACATION, VacationResponse

log = logging.getLogger("jmapd.vacation")


@hookimpl
def jmapd_config_schema() -> tuple[str, type]:
    return ("vacation", VacationConfig)


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    return [Capability(VACATION, session={}, account={})]


@hookimpl
def jmapd_data_types(config: Any) -> list[Any]:
    return [VacationResponse(config)]


@hookimpl
def jmapd_models() -> list[Any]:
    return [ReplyLog]


@hookimpl
def jmapd_migrations() -> tuple[str, Any]:
    return ("vacation", migrations)


# Offered by the delivery plugin (jmapd_delivery.hookspecs); optional so the
# vacation settings still work on a server that does not deliver mail.
@hookimpl(optionalhook=True)
def jmapd_message_delivered(
    services: Any, account_id: str, email_id: str, raw: bytes, mail_from: str, recipient: str
) -> None:
    try:
        respond(services, account_id, raw, mail_from)
    except Exception:  # an auto-reply must never fail a delivery
        log.exception("vacation response for %s failed", account_id)
