"""Lookups one CalendarEvent/set repeats for every event it writes, made
once per call.

Who is notified of a change to a calendar's events and which addresses
are the account's own cannot change while one /set runs (shares,
subscriptions and identities are changed by other methods), yet a bulk
import asked the database for them again for each of thousands of events:
two fifths of its time went to ``recipients`` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
_CACHE: ContextVar[dict[Any, Any] | None] = ContextVar("calendars_call_cache", default=None)


@contextmanager
def one_call() -> Iterator[None]:
    """Cache :func:`once` values until the block ends."""
    token = _CACHE.set({})
    try:
        yield
    finally:
        _CACHE.reset(token)


def once(key: Any, compute: Callable[[], T]) -> T:
    """``compute()``, or the value it gave for ``key`` earlier in this call
    (computed afresh outside :func:`one_call`). Callers copy what they change."""
    cache = _CACHE.get()
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    value: T = cache[key]
    return value
