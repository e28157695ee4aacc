"""The core's schema migrations, applied in name order by jmapd.migrate."""
