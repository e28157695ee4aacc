"""The ``smime:`` section of the YAML."""

from __future__ import annotations

from dataclasses import dataclass

from jmapd.config import doc


@dataclass
class SmimeConfig:
    system_trust: bool = doc(
        "Trust the operating system's CA bundle (as ssl finds it, else /etc/ssl/certs/ca-certificates.crt).", True
    )
    ca_file: str = doc(
        "A PEM file of further trust anchors for S/MIME signers (an organisation's own CA); empty for none.", ""
    )
    cache_seconds: int = doc(
        "How long a message's current smimeStatus is reused before it is verified again (RFC 9219 §4.1 allows caching).",
        3600,
    )
