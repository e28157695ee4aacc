"""Keeping ``jmapd serve``'s memory bounded (issue #17).

Two things made the server's footprint grow with use rather than with what
it holds:

* glibc gives every thread that allocates under contention an arena of its
  own (up to eight per core) and hands freed memory back to the system only
  from the top of each. A worker's method threads parse messages and build
  large responses, so each arena kept tens of MB of freed, fragmented
  memory. Two arenas a process is the usual bound for threaded servers.
* The master imports jmapd and every plugin before gunicorn forks the
  workers, so the workers share those pages — until the cyclic garbage
  collector walks the objects and writes to their headers, copying each
  page into every worker. Freezing the master's objects before the fork
  keeps them shared.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os

#: ``mallopt`` parameter number of glibc's ``M_ARENA_MAX``.
M_ARENA_MAX = -8
#: Arenas per process; an operator's ``MALLOC_ARENA_MAX`` wins.
ARENAS = 2


def bound_malloc_arenas() -> bool:
    """Cap glibc's arenas in this process and in the processes it starts.

    The environment variable reaches processes started afresh (the LMTP
    listener is spawned); ``mallopt`` applies to this process and to the
    workers gunicorn forks from it. False where the C library is not glibc."""
    wanted = os.environ.setdefault("MALLOC_ARENA_MAX", str(ARENAS))
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    try:
        arenas = int(wanted)
    except ValueError:
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))


def freeze_before_fork() -> None:
    """Move every object alive now out of the collector's reach, so forked
    workers keep sharing the pages that hold them."""
    gc.collect()
    gc.freeze()
