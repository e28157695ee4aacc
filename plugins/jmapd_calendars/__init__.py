"""urn:ietf:params:jmap:calendars: Calendars (JMAP for Calendars draft) over the JSCalendar domain library."""
