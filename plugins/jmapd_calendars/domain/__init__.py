"""Pure calendar domain library for jmapd: JSCalendar 2.0 and iCalendar, no server imports.

Modules: dates (LocalDateTime/UTCDateTime/Duration values), timezones (IANA,
Windows and VTIMEZONE ids), rrule (RecurrenceRule expansion in local time),
recurrence (occurrences, instances, index ranges, series splits), validate
(JSCalendar 2.0 validation and RFC 8984 name normalisation), ical (iCalendar
↔ JSCalendar and iTIP).
"""
