"""Password verification slots shared by every worker process of one host.

Each worker already bounds its own Argon2 runs, but the default hash uses
four lanes (threads) and 64 MiB, so two workers with two slots each kept
every core of a small host hashing for guessers, and a logged-in user's
request waited 25 times its quiet time (bench/hostile.py, 2 cores). Here a
verification also takes one of a few host-wide slots (``flock`` on files
in the data directory: the kernel frees them with the process, so a worker
killed mid-hash leaves nothing held), and a *failed* verification owes its
slot a rest of a multiple of the time the hash took: the owed rest adds up,
and once it passes :data:`BURST` seconds the slot is not taken again until
it is back under, so sustained guessing occupies at most ``1 / (1 + rest)``
of a slot's time while a user's occasional typo costs nobody a wait. Right
passwords owe nothing: the slots cost a busy server's first logins no
throughput.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path

#: How often a waiting verification tries the slots again.
POLL = 0.005
#: Seconds of rest a slot may owe and still be taken (a few failures' worth).
BURST = 6.0
_STAMP = struct.Struct("<d")


class SlotBusy(Exception):
    """No slot came free (and rested) within the wait."""


def default_slots() -> int:
    """One slot per four cores (at least one): a default Argon2 hash runs four lanes."""
    return max(1, (os.cpu_count() or 1) // 4)


class HostSlots:
    """``with slots.hold(wait) as outcome: ok = verify(...); outcome.failed = not ok``."""

    def __init__(self, directory: Path, count: int, rest: float) -> None:
        self.count = max(1, count)
        self.rest = max(0.0, rest)
        self.directory = directory
        self.paths = [directory / f"verify.{i}" for i in range(self.count)]

    @contextlib.contextmanager
    def hold(self, wait: float) -> Iterator[Outcome]:
        deadline = time.monotonic() + wait
        fd = self._take(deadline)
        outcome = Outcome()
        try:
            # The file holds when the rest the slot owes ends (CLOCK_MONOTONIC
            # is one clock for every process of the host).
            raw = os.pread(fd, _STAMP.size, 0)
            owed_until = _STAMP.unpack(raw)[0] if len(raw) == _STAMP.size else 0.0
            pause = owed_until - BURST - time.monotonic()
            if pause > 0:
                if time.monotonic() + pause > deadline:
                    raise SlotBusy()
                time.sleep(pause)
            started = time.monotonic()
            yield outcome
            if outcome.failed and self.rest:
                now = time.monotonic()
                os.pwrite(fd, _STAMP.pack(max(owed_until, now) + (now - started) * self.rest), 0)
        finally:
            os.close(fd)  # closing the descriptor releases its lock

    def _take(self, deadline: float) -> int:
        while True:
            for path in self.paths:
                try:
                    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                except FileNotFoundError:
                    self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                return fd
            if time.monotonic() >= deadline:
                raise SlotBusy()
            time.sleep(POLL)


class Outcome:
    """What the holder reports back: a failed verification makes the slot rest."""

    __slots__ = ("failed",)

    def __init__(self) -> None:
        self.failed = False
