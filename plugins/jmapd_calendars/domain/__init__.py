"""Pure calendar domain library for jmapd: JSCalendar 2.0 and iCalendar, no server imports.

The JMAP layer (the rest of ``jmapd_calendars``) uses these modules:

- ``validate`` — ``validate_event`` (every invalid path), ``normalize_event``
  (RFC 8984 names → 2.0, limits).
- ``recurrence`` — ``expand``, ``get_occurrence``, ``is_occurrence``,
  ``series_range`` (for an occurrence index), ``split_series``, ``apply_patch``,
  ``Occurrence``, ``ExpansionTooLarge``.
- ``ical`` — ``parse_ics``/``ParseResult``, ``to_ics``, ``itip_message``, ``parse_itip``.
- ``timezones`` — IANA, Windows and VTIMEZONE ids.

Internals: ``dates`` (LocalDateTime/UTCDateTime/Duration values), ``rrule``
(RecurrenceRule expansion in local time), ``icalcore`` (content lines),
``ical_in``/``ical_out`` (the two directions of the mapping draft).
"""
