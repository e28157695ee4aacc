"""Which CalendarRights a change of an event needs (draft §4 CalendarRights).

A user without full access to the account writes an event through the
rights of its calendars:

- ``mayWriteAll`` lets them change anything, ``mayWriteOwn`` the same on
  an event they own or that has no owner (judged on the event as it was,
  so they may hand ownership on; a new event, or one put into a calendar,
  as it will be);
- ``mayUpdatePrivate`` lets them change only the per-user properties
  (:mod:`.peruser`), on any one calendar of the event;
- ``mayRSVP`` lets them change only the answer of their own participants
  (:data:`ANSWER`), in the event or in its overrides, on every calendar of
  the event.

Putting an event into a calendar needs write rights there, taking it out
write rights there (draft §4 myRights); any other change is judged in
every calendar the event stays in. Who "they" are is
:func:`.identity.user_addresses`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from jmapd.protocol.errors import SetError

from .identity import normalize_address
from .peruser import PER_USER, is_personal

#: Draft §4 mayRSVP: what a user may change of a Participant that is them.
ANSWER = frozenset({"participationStatus", "expectReply", "scheduleSequence", "scheduleUpdated"})


def is_owner(event: dict[str, Any], mine: set[str]) -> bool:
    """Draft §4: a participant with the ``owner`` role is one of ``mine``."""
    return any((p.get("roles") or {}).get("owner") and normalize_address(p.get("calendarAddress")) in mine
               for p in _participants(event).values())


def has_owner(event: dict[str, Any]) -> bool:
    return any((p.get("roles") or {}).get("owner") for p in _participants(event).values())


def _participants(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = event.get("participants")
    if not isinstance(found, dict):
        return {}
    return {k: p for k, p in found.items() if isinstance(p, dict)}


def may_write(rights: frozenset[str], event: dict[str, Any], mine: set[str]) -> bool:
    """Whether ``rights`` on a calendar let the user write ``event`` in it."""
    if "mayWriteAll" in rights:
        return True
    return "mayWriteOwn" in rights and (not has_owner(event) or is_owner(event, mine))


def _without_answers(event: dict[str, Any], mine: set[str], occurs: Callable[[str], bool]) -> dict[str, Any]:
    """``event`` without its per-user properties, ``updated`` and the
    answers of the user's own participants, in the event and its overrides.

    Two versions of an event that differ only there are the same to
    everyone else. An override left empty stands for no override, unless
    it is an extra occurrence (not one the rule makes: ``occurs``)."""
    out = {k: copy.deepcopy(v) for k, v in event.items() if k not in PER_USER and k not in ("updated", "id")}
    own = {pid for pid, p in _participants(event).items() if normalize_address(p.get("calendarAddress")) in mine}

    def strip(participants: Any) -> Any:
        if not isinstance(participants, dict):
            return participants
        return {pid: ({k: v for k, v in p.items() if k not in ANSWER} if pid in own and isinstance(p, dict) else p)
                for pid, p in participants.items()}

    base = strip(out.get("participants"))
    if "participants" in out:
        out["participants"] = base
    overrides = out.get("recurrenceOverrides")
    if isinstance(overrides, dict):
        kept: dict[str, Any] = {}
        for rid, patch in overrides.items():
            if not isinstance(patch, dict):
                kept[rid] = patch
                continue
            rest: dict[str, Any] = {}
            for key, value in patch.items():
                parts = key.split("/")
                if is_personal(key) or key == "updated":
                    continue
                if len(parts) == 3 and parts[0] == "participants" and parts[1] in own and parts[2] in ANSWER:
                    continue
                if key == "participants" and strip(value) == base:
                    continue
                if len(parts) == 2 and parts[0] == "participants" and parts[1] in own and isinstance(value, dict):
                    if strip({parts[1]: value}) == {parts[1]: (base or {}).get(parts[1])}:
                        continue
                rest[key] = value
            if rest or not occurs(rid):
                kept[rid] = rest
        out["recurrenceOverrides"] = kept or None
    return {k: v for k, v in out.items() if v is not None}  # null is absent (RFC 8620 §5.3 patches)


def personal_only(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether ``old`` → ``new`` changes only per-user properties (draft §4
    mayUpdatePrivate), also of an occurrence that had no override yet."""
    return answers_only(old, new, set())


def answers_only(old: dict[str, Any], new: dict[str, Any], mine: set[str]) -> bool:
    """Whether ``old`` → ``new`` changes only per-user properties and the
    answers of the user's own participants (draft §4 mayRSVP)."""
    from .domain.recurrence import is_occurrence

    def occurs(rid: str) -> bool:
        stripped = {k: v for k, v in old.items() if k != "recurrenceOverrides"}
        return is_occurrence(stripped, rid)

    return _without_answers(old, mine, occurs) == _without_answers(new, mine, occurs)


def check_write(
    granted: Callable[[str], frozenset[str]], old: dict[str, Any] | None, new: dict[str, Any] | None,
    mine: set[str],
) -> None:
    """Raise ``forbidden`` unless the rights ``granted`` on each calendar allow
    ``old`` → ``new`` (None: a create or a destroy).

    :param granted: the caller's rights on a calendar id.
    :param mine: the caller's calendar addresses, normalised.
    """
    before = set((old or {}).get("calendarIds") or {})
    after = set((new or {}).get("calendarIds") or {})
    for calendar_id in sorted(after - before):
        if new is not None and not may_write(granted(calendar_id), new, mine):
            raise SetError("forbidden", f"mayWriteAll, or mayWriteOwn as its owner, is needed on {calendar_id}")
    for calendar_id in sorted(before - after):
        if old is not None and not may_write(granted(calendar_id), old, mine):
            raise SetError("forbidden", f"mayWriteAll, or mayWriteOwn as its owner, is needed on {calendar_id}")
    if old is None or new is None:
        return
    staying = sorted(before & after)
    rest_old = {k: v for k, v in old.items() if k != "calendarIds"}
    rest_new = {k: v for k, v in new.items() if k != "calendarIds"}
    if all(may_write(granted(c), old, mine) for c in staying):
        return
    if personal_only(rest_old, rest_new):
        if rest_old == rest_new or any(
                "mayUpdatePrivate" in granted(c) or may_write(granted(c), old, mine) for c in after):
            return
        raise SetError("forbidden", "mayUpdatePrivate is needed on one of the event's calendars")
    if not answers_only(rest_old, rest_new, mine):
        raise SetError("forbidden", "mayWriteAll, or mayWriteOwn as the event's owner, is needed on every calendar "
                                    "of the event")
    if any("mayRSVP" not in granted(c) and not may_write(granted(c), old, mine) for c in staying):
        raise SetError("forbidden", "mayRSVP is needed on every calendar of the event")
    personal_old = {k: v for k, v in rest_old.items() if k in PER_USER}
    personal_new = {k: v for k, v in rest_new.items() if k in PER_USER}
    if personal_old != personal_new or _override_personal(rest_old) != _override_personal(rest_new):
        if not any("mayUpdatePrivate" in granted(c) or may_write(granted(c), old, mine) for c in after):
            raise SetError("forbidden", "mayUpdatePrivate is needed on one of the event's calendars")


def _override_personal(event: dict[str, Any]) -> dict[str, Any]:
    overrides = event.get("recurrenceOverrides")
    if not isinstance(overrides, dict):
        return {}
    found = {rid: {k: v for k, v in p.items() if is_personal(k)} for rid, p in overrides.items() if isinstance(p, dict)}
    return {rid: p for rid, p in found.items() if p}
