"""Per-user request caps that hold across the worker processes of one host.

``limits.max_concurrent_requests`` (and ``max_concurrent_upload``) were
counted per worker, so with N workers a user could run N times as many
requests as the session advertises, enough to occupy every thread of
several workers with expensive queries. Each request in flight now also
holds one of the user's ``limit`` lock files (``flock``, in
``data_dir/run/inflight``): taken without waiting, given back when the
request ends, and freed by the kernel if the worker dies, so a crash never
leaves a user locked out. A few system calls per request; the files are
empty, one per user and level of concurrency reached.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from .ratelog import RateLimitedLog

log = RateLimitedLog(logging.getLogger("jmapd"), every=60.0)


class HostCounts:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def take(self, kind: str, user_id: int, limit: int) -> int | None:
        """A held descriptor for one of the user's ``limit`` places, or None if all are taken.

        If the directory cannot be used, the cap falls back to this worker's
        count (``-1``: nothing to give back) and the log says why.
        """
        for place in range(limit):
            path = self.directory / f"{kind}.{int(user_id)}.{place}"
            try:
                try:
                    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                except FileNotFoundError:
                    self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                log.warning("inflight", "per-user request caps count per worker only: %s", exc)
                return -1
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None

    @staticmethod
    def give(fd: int) -> None:
        if fd >= 0:
            os.close(fd)  # closing releases the lock
