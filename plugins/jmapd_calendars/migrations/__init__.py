"""Schema migrations of the calendars plugin."""
