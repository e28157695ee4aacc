"""The ``calendars:`` section of the YAML."""

from __future__ import annotations

from dataclasses import dataclass

from jmapd.config import doc


@dataclass
class CalendarsConfig:
    default_calendar_name: str = doc("Name of the calendar every account gets before its first Calendar call.", "Calendar")
    max_calendars_per_event: int = doc("maxCalendarsPerEvent announced in the account capability.", 10)
    max_participants_per_event: int = doc("maxParticipantsPerEvent: events with more are refused.", 1000)
    min_date_time: str = doc("minDateTime: the earliest date the server stores in an event.", "1900-01-01T00:00:00Z")
    max_date_time: str = doc("maxDateTime: the latest date the server stores in an event.", "2200-12-31T23:59:59Z")
    max_event_notifications: int = doc(
        "CalendarEventNotifications kept per user and account; a newer one removes the oldest.", 1000)
    max_availability_duration: str = doc(
        "maxAvailabilityDuration: the longest period one Principal/getAvailability covers.", "P400D")
    max_expanded_query_duration: str = doc("maxExpandedQueryDuration: the longest window expandRecurrences covers.", "P400D")
