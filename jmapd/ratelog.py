"""Log lines that an attacker can trigger, folded to one per kind per interval.

A flood of refused connections or busy logins must not become a flood of
log lines (the issue saw 202 MB in 90 s): the first line of a kind is
written, the next ones within ``every`` seconds are counted and the count is
named in the next line written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter


class RateLimitedLog:
    """At most one warning per kind every ``every`` seconds, with how many were folded in."""

    def __init__(self, logger: logging.Logger, every: float = 10.0) -> None:
        self.logger = logger
        self.every = every
        self._last: dict[str, float] = {}
        self._folded: Counter[str] = Counter()
        self._lock = threading.Lock()

    def warning(self, kind: str, message: str, *args: object) -> bool:
        """Log unless this kind was logged within ``every`` seconds; True if written."""
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(kind, -self.every) < self.every:
                self._folded[kind] += 1
                return False
            folded = self._folded.pop(kind, 0)
            self._last[kind] = now
        suffix = f" ({folded} more since the last line)" if folded else ""
        self.logger.warning(message + suffix, *args)
        return True
