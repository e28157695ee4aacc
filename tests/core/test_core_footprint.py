"""The bounds that keep `jmapd serve`'s memory flat (issue #17)."""

from __future__ import annotations

import gc
import os
import platform
import subprocess
import sys

import pytest

#: Eight threads allocate at once, then glibc reports its arenas on stderr.
ARENAS_SCRIPT = """
import ctypes, ctypes.util, sys, threading
from jmapd.footprint import bound_malloc_arenas
if sys.argv[1] == "bound":
    assert bound_malloc_arenas()
barrier = threading.Barrier(8)
def work():
    barrier.wait()
    keep = [bytearray(200_000) for _ in range(20)]
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL(ctypes.util.find_library("c")).malloc_stats()
"""


def arenas(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run([sys.executable, "-c", ARENAS_SCRIPT, mode], capture_output=True, text=True, env=env,
                         timeout=60, check=True)
    return sum(1 for line in out.stderr.splitlines() if line.startswith("Arena "))


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's arenas")
def test_malloc_arenas_are_bounded():
    # the positive control: unbounded, eight allocating threads get arenas of their own
    assert arenas("free") > 2
    assert arenas("bound") <= 2


def test_objects_alive_before_the_fork_are_frozen():
    from jmapd.footprint import freeze_before_fork

    try:
        freeze_before_fork()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_sqlite_page_cache_is_small(jmap_server):
    from jmapd.db import SQLITE_CACHE_KIB, database, ensure_connected, is_postgres

    ensure_connected()
    if is_postgres():
        pytest.skip("SQLite's page cache")
    assert database.obj.execute_sql("PRAGMA cache_size").fetchone()[0] == -SQLITE_CACHE_KIB
    assert SQLITE_CACHE_KIB <= 4000  # each of a worker's server.threads + 2 connections has one
