"""Schema migrations of the mail plugin (see jmapd.migrate)."""
