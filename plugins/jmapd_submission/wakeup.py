"""Waking the queue runners of other processes and hosts when work arrives.

A runner sleeps until the earliest row it knows of comes due (at most
``poll_interval``, the safety poll); what is queued meanwhile wakes it:

- in the same process, :func:`.queue.wake` sets the runner's event;
- PostgreSQL: :func:`announce` sends ``NOTIFY jmapd_submission`` inside the
  transaction that queued the row, which PostgreSQL delivers to every
  listening runner, on every host, exactly when that transaction commits
  (never for one rolled back); each runner LISTENs on a connection of its
  own that costs no statement while nothing happens;
- SQLite (one host): each runner holds a FIFO in ``data_dir/run/submission-wake``
  and :func:`signal_host` writes a byte to every one after the commit. A
  FIFO rather than a socket because its path has no length limit; a FIFO
  no process reads any more (its runner died) is removed by the next writer.

A wake-up lost to a crash between commit and signal, or sent while no
runner listened, is made good by the safety poll.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jmapd.db import database, is_postgres, listen

log = logging.getLogger("jmapd.submission.queue")

CHANNEL = "jmapd_submission"


def announce() -> None:
    """Inside the transaction that queued a row or made one due: on
    PostgreSQL, wake every runner when it commits."""
    if is_postgres():
        database.obj.execute_sql(f"NOTIFY {CHANNEL}")


def fifo_dir(config: Any) -> Path:
    return Path(config.data_dir) / "run" / "submission-wake"


def signal_host(config: Any) -> None:
    """After a commit on SQLite: wake every runner of this host."""
    if is_postgres():
        return
    folder = fifo_dir(config)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = folder / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # nobody reads it: its runner is gone
                with contextlib.suppress(OSError):
                    path.unlink()
            continue
        try:
            os.write(fd, b"!")
        except OSError:  # full: that runner has a wake-up pending already
            pass
        finally:
            os.close(fd)


class Listener:
    """Calls ``wake`` (from any thread) whenever another process or host
    queued work; also once on start and after each reconnect, since
    notifications sent meanwhile are lost."""

    def __init__(self, config: Any, token: str, wake: Callable[[], None]) -> None:
        self.config = config
        self.token = token
        self.wake = wake
        self._stop = threading.Event()
        self._fifo: Path | None = None
        self._fd: int | None = None
        self._thread: threading.Thread | None = None

    def start(self, loop: Any) -> None:
        if is_postgres():
            self._thread = threading.Thread(target=self._listen_postgres, name="jmapd-submit-listen", daemon=True)
            self._thread.start()
            return
        folder = fifo_dir(self.config)
        folder.mkdir(parents=True, exist_ok=True)
        self._fifo = folder / self.token
        os.mkfifo(self._fifo, 0o600)
        # Read and write end in one: the FIFO never reports end-of-file, which
        # would make it readable for ever once the last writer closed.
        self._fd = os.open(self._fifo, os.O_RDWR | os.O_NONBLOCK)
        loop.add_reader(self._fd, self._drain)

    def _drain(self) -> None:
        assert self._fd is not None
        with contextlib.suppress(BlockingIOError):
            while os.read(self._fd, 4096):
                pass
        self.wake()

    def stop(self, loop: Any = None) -> None:
        self._stop.set()
        if self._fd is not None:
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(Exception):
                    loop.remove_reader(self._fd)
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self._fifo is not None:
            with contextlib.suppress(OSError):
                self._fifo.unlink()
            self._fifo = None

    def _listen_postgres(self) -> None:
        # (a wake after each connect: what was queued while not listening)
        listen(CHANNEL, self._stop, lambda conn: self.wake(), lambda conn, notes: self.wake(),
               "outbound queue", wait=2.0)
