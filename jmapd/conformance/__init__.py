"""The RFC 8620 standard-method conformance suite, reusable by any plugin.

A plugin describes one of its types with a :class:`TypeSpec` (how to make a
valid object, an invalid one, a patch, which filters and sorts exist) and
subclasses :class:`Conformance`; pytest then runs every check of RFC 8620
§5.1–5.6 that applies against a real server::

    class TestNote(Conformance):
        spec = TypeSpec("Note", NOTES, create=lambda c: {"title": "conformance"})

A check the spec gives no material for is skipped with the reason, so the
report says what was not exercised. The checks talk to the server only
through JMAP requests (the ``client`` fixture, or ``spec.client_fixture``),
so they test what a client sees, whichever storage the type uses.
"""


from __future__ import annotations

from .base import TypeSpec
from .querying import QueryingChecks
from .reading import ReadingChecks
from .writing import WritingChecks

__all__ = ["Conformance", "TypeSpec"]


class Conformance(ReadingChecks, WritingChecks, QueryingChecks):
    """Subclass as ``TestSomething`` with a ``spec``; every method is a check."""
