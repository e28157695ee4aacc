"""ChangeLog.defer: per-object work batched until the transaction ends, and
taken back with the object's savepoint like the other buffered writes."""

from __future__ import annotations

from typing import Any

from jmapd.state import ChangeLog


def test_deferred_jobs_run_once_per_function_with_their_items_in_order() -> None:
    log = ChangeLog()
    runs: list[tuple[str, list[Any]]] = []

    def first(items: list[Any]) -> None:
        runs.append(("first", items))

    def second(items: list[Any]) -> None:
        runs.append(("second", items))
        if items == [2]:
            log.defer(first, "from second")  # work a job defers runs too

    log.defer(first, 1)
    log.defer(second, 2)
    log.defer(first, 3)
    log.write_deferred()
    assert runs == [("first", [1, 3]), ("second", [2]), ("first", ["from second"])]
    log.write_deferred()
    assert len(runs) == 3  # each item runs once


def test_a_rolled_back_object_takes_its_deferred_work_back() -> None:
    log = ChangeLog()
    seen: list[Any] = []
    log.defer(seen.extend, ["kept"])
    mark = log.mark()
    log.defer(seen.extend, ["refused object"])
    log.rollback(mark)
    log.defer(seen.extend, ["next object"])
    log.write_deferred()
    assert seen == [["kept"], ["next object"]]
