"""Inbound delivery into the mail store: an LMTP listener and `jmapd deliver`."""
