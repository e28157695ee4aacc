"""iCalendar in and out for JSCalendar 2.0 events, and iTIP messages (RFC 5545, 5546).

Public API:

- :func:`parse_ics` → :class:`ParseResult`: ``events`` (VEVENTs of one UID
  grouped into a master with ``recurrenceOverrides`` keyed by recurrence id;
  a lone RECURRENCE-ID VEVENT stays a standalone instance with
  ``recurrenceId`` set), ``tasks`` (VTODOs), ``calendar`` (VCALENDAR-level
  values: prodId, uid, title, locale, source, updated, method),
  ``errors`` (line, reason) — a bad component is skipped and reported, the
  rest still converts.
- :func:`to_ics` — one VCALENDAR with the events (and a VTIMEZONE per zone
  used, built from zoneinfo for the span of the events).
- :func:`itip_message` — REQUEST/CANCEL/REPLY (and PUBLISH) iCalendar for one event.
- :func:`parse_itip` — ``(method, events)`` of an iMIP body.
- :class:`ITipError`.

Conversion follows draft-ietf-calext-jscalendar-icalendar (see ``ical_in``
and ``ical_out``); elements without a JSCalendar counterpart are kept in the
``iCalendar`` property, so import → export keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .dates import format_utc, parse_local
from .ical_in import ConversionError, TzResolver, _Ctx, convert_component
from .ical_out import event_lines, used_zones
from .icalcore import Component, fold, format_prop, parse_date_value, parse_stream, unescape_text

PRODID = "-//jmapd//calendars//EN"
# Set on every override patch by conversion and never meaningful there.
_PATCH_SKIP = frozenset({"@type", "uid", "method", "prodId", "recurrenceId", "recurrenceIdTimeZone", "recurrenceRule", "recurrenceOverrides", "relatedTo"})  # fmt: skip


@dataclass
class ParseResult:
    events: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    calendar: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[int, str]] = field(default_factory=list)


class ITipError(ValueError):
    """An iTIP message this module cannot produce or read."""


def _calendar_values(cal: Component) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in cal.props:
        if p.name == "PRODID":
            out["prodId"] = unescape_text(p.value)
        elif p.name == "METHOD":
            out["method"] = p.value.strip().lower()
        elif p.name == "UID":
            out["uid"] = unescape_text(p.value)
        elif p.name == "NAME" or (p.name == "X-WR-CALNAME" and "title" not in out):
            out["title"] = unescape_text(p.value)
            if p.param("LANGUAGE"):
                out["locale"] = p.param("LANGUAGE")
        elif p.name == "SOURCE":
            out["source"] = p.value.strip()
        elif p.name == "LAST-MODIFIED":
            try:
                out["updated"] = format_utc(parse_date_value(p.value)[0].replace(tzinfo=UTC))
            except ValueError:
                pass
        elif p.name == "X-WR-TIMEZONE":
            out["timeZone"] = p.value.strip()
        elif p.name in ("COLOR", "X-APPLE-CALENDAR-COLOR"):
            out.setdefault("color", p.value.strip())
        elif p.name in ("DESCRIPTION", "X-WR-CALDESC"):
            out.setdefault("description", unescape_text(p.value))
    return out


def _diff(base: dict[str, Any], target: dict[str, Any], prefix: str, out: dict[str, Any], depth: int) -> None:
    for k in base:
        if k not in target and k not in _PATCH_SKIP:
            out[prefix + _esc(k)] = None
    for k, v in target.items():
        if k in _PATCH_SKIP and not prefix:
            continue
        if k not in base:
            out[prefix + _esc(k)] = v
        elif base[k] != v:
            if isinstance(v, dict) and isinstance(base[k], dict) and depth < 3 and v and base[k]:
                _diff(base[k], v, prefix + _esc(k) + "/", out, depth + 1)
            else:
                out[prefix + _esc(k)] = v


def _esc(k: str) -> str:
    return k.replace("~", "~0").replace("/", "~1")


def override_patch(master: dict[str, Any], override: dict[str, Any], rid: str) -> dict[str, Any]:
    """The PatchObject turning the master's occurrence at ``rid`` into ``override``."""
    base = {k: v for k, v in master.items() if k not in ("recurrenceRule", "recurrenceOverrides")}
    base["start"] = rid
    target = dict(override)
    if "iCalendar" not in target:
        # Nothing unconvertible in the override: it inherits the master's.
        base.pop("iCalendar", None)
    patch: dict[str, Any] = {}
    _diff(base, target, "", patch, 0)
    return patch


def parse_ics(data: bytes | str, *, floating_tz: str | None = None) -> ParseResult:
    """Convert an iCalendar stream; never raises for bad content (see ``errors``).

    :param floating_tz: kept for the caller's expansion; floating times stay
        floating in the result (no ``timeZone``), as the mapping draft says.
    """
    result = ParseResult()
    roots, errors = parse_stream(data)
    result.errors.extend(errors)
    ctx_tz: dict[str, Component] = {}
    items: list[tuple[Component, dict[str, Any]]] = []
    for cal in roots:
        if cal.name != "VCALENDAR":
            if cal.name in ("VEVENT", "VTODO"):
                items.append((cal, {}))
            else:
                result.errors.append((cal.line, f"{cal.name} outside VCALENDAR"))
            continue
        values = _calendar_values(cal)
        if not result.calendar:
            result.calendar = dict(values)
        for sub in cal.subs:
            if sub.name == "VTIMEZONE":
                tzid = sub.get("TZID")
                if tzid is not None:
                    ctx_tz[tzid.value.strip()] = sub
            elif sub.name in ("VEVENT", "VTODO"):
                items.append((sub, {k: v for k, v in values.items() if k in ("method", "prodId")}))
    ctx = _Ctx(TzResolver(ctx_tz), floating_tz)
    masters: dict[tuple[str, str], dict[str, Any]] = {}
    pending: list[tuple[int, dict[str, Any]]] = []
    for comp, cal_values in items:
        try:
            obj = convert_component(comp, ctx, cal_values)
        except ConversionError as exc:
            result.errors.append((exc.line, str(exc)))
            continue
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            result.errors.append((comp.line, f"{comp.name}: {exc}"))
            continue
        if not obj.get("uid"):
            result.errors.append((comp.line, f"{comp.name} without UID"))
            continue
        kind = obj["@type"]
        if "recurrenceId" in obj:
            pending.append((comp.line, obj))
            continue
        key = (kind, obj["uid"])
        if key in masters:
            result.errors.append((comp.line, f"duplicate {comp.name} UID {obj['uid']!r}"))
            continue
        masters[key] = obj
    for line, obj in pending:
        master = masters.get((obj["@type"], obj["uid"]))
        if master is None:
            masters[(obj["@type"], obj["uid"] + "\x00" + obj["recurrenceId"])] = obj
            continue
        rid = obj["recurrenceId"]
        patch = override_patch(master, obj, rid)
        ov = master.setdefault("recurrenceOverrides", {})
        if isinstance(ov.get(rid), dict) and ov[rid].get("excluded"):
            result.errors.append(
                (line, f"RECURRENCE-ID {rid} is also an EXDATE; the exclusion wins")
            )
            continue
        ov[rid] = patch
    for obj in masters.values():
        (result.tasks if obj["@type"] == "Task" else result.events).append(obj)
    result.errors.sort(key=lambda e: e[0])
    return result


def _zone_span(events: list[dict[str, Any]]) -> tuple[date, date]:
    starts: list[datetime] = []
    for ev in events:
        try:
            starts.append(parse_local(ev["start"]))
        except (KeyError, ValueError):
            continue
        for rid in ev.get("recurrenceOverrides") or {}:
            try:
                starts.append(parse_local(rid))
            except ValueError:
                pass
        until = (
            (ev.get("recurrenceRule") or {}).get("until")
            if isinstance(ev.get("recurrenceRule"), dict)
            else None
        )
        if until:
            try:
                starts.append(parse_local(until))
            except ValueError:
                pass
        elif isinstance(ev.get("recurrenceRule"), dict):
            starts.append(datetime.now() + timedelta(days=3 * 366))
    if not starts:
        today = datetime.now().date()
        return today, today + timedelta(days=366)
    return min(starts).date() - timedelta(days=1), max(starts).date() + timedelta(days=2)


def _vtimezone(tzid: str, first: date, last: date) -> list[str]:
    import icalendar

    try:
        comp = icalendar.Timezone.from_tzid(tzid, first_date=first, last_date=last)
    except Exception:  # an id zoneinfo knows but icalendar cannot render
        return []
    text = comp.to_ical().decode()
    return [
        line
        for line in text.replace("\r\n ", "").splitlines()
        if line and not line.startswith("COMMENT:")
    ]


def _common(events: list[dict[str, Any]], key: str) -> str | None:
    values = {ev.get(key) for ev in events}
    if len(values) == 1:
        (value,) = values
        return value if isinstance(value, str) and value else None
    return None


def _calendar(
    lines_of_events: list[str],
    zones: set[str],
    events: list[dict[str, Any]],
    method: str | None,
    extra: dict[str, Any] | None,
) -> bytes:
    # The events' own PRODID (all alike) is kept so that an import → export
    # round trip does not rewrite who produced them.
    out = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        format_prop("PRODID", None, _common(events, "prodId") or PRODID),
    ]
    if method:
        out.append(f"METHOD:{method.upper()}")
    for k, name in (("title", "NAME"), ("source", "SOURCE")):
        if extra and extra.get(k):
            out.append(format_prop(name, None, extra[k]))
    if zones:
        first, last = _zone_span(events)
        for tzid in sorted(zones):
            out.extend(_vtimezone(tzid, first, last))
    out.extend(lines_of_events)
    out.append("END:VCALENDAR")
    return "".join(fold(line) for line in out).encode("utf-8")


def to_ics(
    events: list[dict[str, Any]], *, method: str | None = None, calendar: dict[str, Any] | None = None
) -> bytes:
    """One VCALENDAR holding ``events`` (overrides as RECURRENCE-ID VEVENTs, EXDATE, RDATE).

    :param method: an iTIP METHOD to set on the VCALENDAR (else none).
    :param calendar: VCALENDAR-level values (``title`` → NAME, ``source``).
    """
    lines: list[str] = []
    zones: set[str] = set()
    for ev in events:
        body = {k: v for k, v in ev.items() if k != "method"}
        lines.extend(event_lines(body))
        zones |= used_zones(ev)
    return _calendar(lines, zones, events, method or _common(events, "method"), calendar)


_ITIP_METHODS = (
    "PUBLISH",
    "REQUEST",
    "REPLY",
    "CANCEL",
    "ADD",
    "REFRESH",
    "COUNTER",
    "DECLINECOUNTER",
)


def itip_message(
    method: str,
    event: dict[str, Any],
    *,
    attendee: str | None = None,
    recurrence_id: str | None = None,
    sequence: int | None = None,
    stamp: datetime | None = None,
) -> bytes:
    """The iCalendar body of an iTIP message about ``event`` (RFC 5546 §3.2).

    - REQUEST: the whole event as the organizer has it (every attendee).
    - CANCEL: the event (or the one occurrence ``recurrence_id``) with
      STATUS:CANCELLED and SEQUENCE bumped by the caller (``sequence``).
    - REPLY: only the replying ``attendee``'s participant (and the
      organizer), with their participationStatus — other attendees are not
      disclosed, as §3.2.3 requires.

    :raises ITipError: an unknown method, a REPLY without ``attendee`` or
        for an address that is not a participant, an event without organizer
        for REQUEST/CANCEL/REPLY.
    """
    m = method.upper()
    if m not in _ITIP_METHODS:
        raise ITipError(f"unknown iTIP method {method!r}")
    ev = {k: v for k, v in event.items() if k not in ("method",)}
    ev.pop("alerts", None)  # alarms are the sender's own business
    if stamp is not None:
        ev["updated"] = format_utc(stamp)
    if sequence is not None:
        ev["sequence"] = sequence
    if m in (
        "REQUEST",
        "CANCEL",
        "REPLY",
        "ADD",
        "COUNTER",
        "DECLINECOUNTER",
        "REFRESH",
    ) and not ev.get("organizerCalendarAddress"):
        raise ITipError(f"{m} needs an organizer")
    if recurrence_id is not None:
        from .recurrence import get_occurrence

        inst = get_occurrence(event, recurrence_id)
        if inst is None:
            raise ITipError(f"{recurrence_id} is not an occurrence of the event")
        inst.pop("alerts", None)
        for k in ("updated", "sequence"):
            if k in ev:
                inst[k] = ev[k]
        ev = inst
    if m == "CANCEL":
        ev["status"] = "cancelled"
        if recurrence_id is None and isinstance(ev.get("recurrenceOverrides"), dict):
            # The whole series goes: per-occurrence changes are moot, exclusions stay.
            ev["recurrenceOverrides"] = {
                r: p
                for r, p in ev["recurrenceOverrides"].items()
                if isinstance(p, dict) and p.get("excluded")
            }
            if not ev["recurrenceOverrides"]:
                del ev["recurrenceOverrides"]
    if m == "REPLY":
        if not attendee:
            raise ITipError("REPLY needs the replying attendee")
        parts = ev.get("participants") or {}
        mine = {
            pid: p
            for pid, p in parts.items()
            if isinstance(p, dict) and _same_address(p.get("calendarAddress"), attendee)
        }
        if not mine:
            raise ITipError(f"{attendee} is not a participant")
        org = ev.get("organizerCalendarAddress")
        keep = dict(mine)
        for pid, p in parts.items():
            if (
                isinstance(p, dict)
                and _same_address(p.get("calendarAddress"), org)
                and pid not in keep
            ):
                keep[pid] = {
                    k: v for k, v in p.items() if k in ("@type", "calendarAddress", "name", "roles")
                }
        ev["participants"] = keep
        for pid, p in mine.items():
            p = dict(p)
            p.pop("expectReply", None)
            keep[pid] = p
        overrides = ev.get("recurrenceOverrides")
        if isinstance(overrides, dict):
            # A reply carries only the replier's own per-occurrence answers.
            ev["recurrenceOverrides"] = {
                rid: {
                    k: v
                    for k, v in patch.items()
                    if k == "excluded" or any(k.startswith(f"participants/{pid}/") for pid in mine)
                }
                for rid, patch in overrides.items()
                if isinstance(patch, dict)
            }
            ev["recurrenceOverrides"] = {
                rid: p for rid, p in ev["recurrenceOverrides"].items() if p
            }
            if not ev["recurrenceOverrides"]:
                del ev["recurrenceOverrides"]
    lines = event_lines(ev)
    return _calendar(lines, used_zones(ev), [ev], m, None)


def _same_address(a: Any, b: Any) -> bool:
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    return a.strip().lower().removeprefix("mailto:") == b.strip().lower().removeprefix("mailto:")


def parse_itip(data: bytes | str) -> tuple[str, list[dict[str, Any]]]:
    """``(METHOD, events)`` of an iMIP body; overrides of one UID grouped as in :func:`parse_ics`.

    :raises ITipError: no METHOD, or no event could be read.
    """
    res = parse_ics(data)
    method = (res.calendar.get("method") or "").upper()
    if not method:
        raise ITipError("no METHOD in the iCalendar object")
    if method not in _ITIP_METHODS:
        raise ITipError(f"unknown METHOD {method}")
    if not res.events:
        raise ITipError(
            "no VEVENT could be read: " + "; ".join(f"line {n}: {r}" for n, r in res.errors[:3])
        )
    return method, res.events
