"""The JMAP wire format: no HTTP, no database, only JSON shapes and their rules."""
