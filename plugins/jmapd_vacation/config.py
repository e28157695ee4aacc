"""The ``vacation:`` section of the YAML."""

from __future__ import annotations

from dataclasses import dataclass

from jmapd.config import doc


@dataclass
class VacationConfig:
    period_days: float = doc(
        "Days before the same sender gets the vacation response again (RFC 3834 §2 asks for several).", 7.0
    )
