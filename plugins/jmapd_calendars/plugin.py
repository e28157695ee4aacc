"""Hook implementations of the calendars plugin, and nothing else."""

from __future__ import annotations

import logging
from typing import Any

from jmapd import hookimpl
from jmapd.methods.registry import Capability, Method

from .calendar import CALENDARS, Calendar
from .config import CalendarsConfig
from .event import CalendarEvent, calendar_event_set

log = logging.getLogger("jmapd.calendars")


@hookimpl
def jmapd_config_schema() -> tuple[str, type]:
    return ("calendars", CalendarsConfig)


def _account(config: Any) -> dict[str, Any]:
    section = config.section("calendars")
    return {
        "maxCalendarsPerEvent": section.max_calendars_per_event,
        "minDateTime": section.min_date_time,
        "maxDateTime": section.max_date_time,
        "maxExpandedQueryDuration": section.max_expanded_query_duration,
        "maxParticipantsPerEvent": section.max_participants_per_event,
        "mayCreateCalendar": True,
    }


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    from .availability import AVAILABILITY
    from .ics import PARSE

    availability = {"maxAvailabilityDuration": config.section("calendars").max_availability_duration}
    return [Capability(CALENDARS, session={}, account=_account(config)),
            Capability(PARSE, session={}, account={}, requires=(CALENDARS,)),
            Capability(AVAILABILITY, session={}, account=availability, requires=(CALENDARS,))]


@hookimpl
def jmapd_data_types(config: Any) -> list[Any]:
    from .identity import ParticipantIdentity
    from .notifications import CalendarEventNotification

    return [Calendar(config), CalendarEvent(config), ParticipantIdentity(config), CalendarEventNotification(config)]


@hookimpl
def jmapd_methods(config: Any) -> list[Method]:
    from .availability import AVAILABILITY, get_availability
    from .ics import PARSE, calendar_event_parse

    return [Method("CalendarEvent/set", calendar_event_set, CALENDARS),
            Method("CalendarEvent/parse", calendar_event_parse, PARSE),
            Method("Principal/getAvailability", get_availability, AVAILABILITY)]


@hookimpl
def jmapd_principal_capabilities(services: Any, principal_id: str, user_id: int | None, viewer: Any) -> dict[str, Any] | None:
    from .availability import principal_capability

    return principal_capability(services, principal_id, user_id, viewer)


@hookimpl
def jmapd_resolve_blob(services: Any, account_id: str, blob_id: str) -> bytes | None:
    from .ics import export_blob

    return export_blob(services, account_id, blob_id)


@hookimpl
def jmapd_resolve_shared_blob(services: Any, principal: Any, account_id: str, blob_id: str) -> bytes | None:
    from .ics import export_blob_for_sharee

    return export_blob_for_sharee(services, principal, account_id, blob_id)


@hookimpl
def jmapd_type_extensions(config: Any) -> list[Any]:
    from jmapd.methods.types import PrincipalFilter

    from .availability import AVAILABILITY, principals_with_address

    return [PrincipalFilter(capability=AVAILABILITY, filters={"calendarAddress": "String"},
                            matching=principals_with_address)]


@hookimpl
def jmapd_models() -> list[Any]:
    from .models import EventRange

    return [EventRange]


@hookimpl
def jmapd_migrations() -> tuple[str, Any]:
    from . import migrations

    return ("calendars", migrations)


@hookimpl
def jmapd_commands(subparsers: Any) -> None:
    from .cli import register

    register(subparsers)


# Offered by the delivery plugin (jmapd_delivery.hookspecs); optional so
# calendars work on a server that does not deliver mail.
@hookimpl(optionalhook=True)
def jmapd_message_delivered(
    services: Any, account_id: str, email_id: str, raw: bytes, mail_from: str, recipient: str
) -> None:
    from .inbound import process

    try:
        done = process(services, account_id, raw, mail_from)
    except Exception:  # a calendar update must never fail a delivery
        log.exception("iMIP processing of %s for %s failed", email_id, account_id)
        return
    if done:
        log.info("iMIP %s for %s: %s", email_id, account_id, "; ".join(done))
