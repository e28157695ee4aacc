"""JSCalendar 2.0 Event validation and RFC 8984 name normalisation.

``CalendarEvent/set`` must answer ``invalidProperties`` naming every bad
property, so validation collects all invalid paths (``participants/p1/roles``,
``recurrenceRule/frequency``) instead of stopping at the first.

Public API:

- :func:`validate_event` — list of invalid property paths (empty = valid).
- :func:`normalize_event` — an RFC 8984-era object in 2.0 names, where the
  mapping is unambiguous; raises :class:`LimitExceeded` past the limits.
- :class:`Limits`, :class:`LimitExceeded` — participants, overrides, size.
- :data:`JMAP_PROPERTIES` — JMAP Calendars properties accepted on an Event.

Rules applied: JSCalendar 2.0 types (Id, Int, UnsignedInt, UTCDateTime,
LocalDateTime, Duration, SignedDuration, TimeZoneId known to zoneinfo),
``@type`` values, Id-keyed maps, enumerations (registered values or
vendor-specific ``domain:name``), mutual exclusions (count/until,
recurrenceId vs. recurrenceRule), PatchObject keys of recurrenceOverrides,
names differing only in case from a known one, dates too close to the
ends of the representable range (years 1 and 9999) to compute with, and the
properties 2.0 reserves (``requestStatus``, participant ``scheduleAgent``, ...).
Unknown properties with valid names and vendor-specific ones are kept.

NOTE(caldomain): ``localizations`` is reserved by JSCalendar 2.0 but the
JMAP Calendars draft still talks about it as a PatchObject map; it is
accepted with its RFC 8984 type (String[PatchObject]) so clients lose nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from .dates import LOCAL_RE, UTC_RE, parse_duration
from .rrule import FREQUENCIES, WEEKDAYS
from .timezones import is_known_zone

JMAP_PROPERTIES = frozenset(
    {
        "id", "baseEventId", "calendarIds", "isDraft", "isOrigin", "utcStart", "utcEnd",
        "useDefaultAlerts", "mayInviteSelf", "mayInviteOthers", "hideAttendees", "blobId",
        "iCalendar",
    }
)  # fmt: skip

_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9@]+$")
_VENDOR_RE = re.compile(
    r"^[A-Za-z0-9\u0080-\U0010ffff]([A-Za-z0-9\u0080-\U0010ffff-]*[A-Za-z0-9\u0080-\U0010ffff])?(\.[A-Za-z0-9\u0080-\U0010ffff]([A-Za-z0-9\u0080-\U0010ffff-]*[A-Za-z0-9\u0080-\U0010ffff])?)*:[^\x00-\x1f\x7f\"/~]+$"
)
MAX_INT = 2**53 - 1

Check = Callable[[Any, str, list[str]], None]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds a server puts on one event (all ``None`` = unbounded)."""

    max_participants: int | None = 1000
    max_overrides: int | None = 10000
    max_size: int | None = 1_000_000  # bytes of the JSON form


class LimitExceeded(ValueError):
    """An event over a :class:`Limits` bound; ``.path`` names the property."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


# -- primitive checks ------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and -MAX_INT <= v <= MAX_INT


def _string(v: Any, p: str, e: list[str]) -> None:
    if not isinstance(v, str):
        e.append(p)


def _bool(v: Any, p: str, e: list[str]) -> None:
    if not isinstance(v, bool):
        e.append(p)


def _int(v: Any, p: str, e: list[str]) -> None:
    if not _is_int(v):
        e.append(p)


def _uint(v: Any, p: str, e: list[str]) -> None:
    if not _is_int(v) or v < 0:
        e.append(p)


def _utc(v: Any, p: str, e: list[str]) -> None:
    if not isinstance(v, str) or not UTC_RE.match(v) or not _valid_datetime(v[:-1]):
        e.append(p)


def _local(v: Any, p: str, e: list[str]) -> None:
    if not isinstance(v, str) or not LOCAL_RE.match(v) or not _valid_datetime(v):
        e.append(p)


def _valid_datetime(v: str) -> bool:
    try:
        datetime.fromisoformat(v)
    except ValueError:
        return False
    return True


def _duration(v: Any, p: str, e: list[str]) -> None:
    try:
        parse_duration(v)
    except ValueError:
        e.append(p)


def _signed_duration(v: Any, p: str, e: list[str]) -> None:
    try:
        parse_duration(v, signed=True)
    except ValueError:
        e.append(p)


def _tz(v: Any, p: str, e: list[str]) -> None:
    if not is_known_zone(v):
        e.append(p)


def _bool_map(v: Any, p: str, e: list[str]) -> None:
    if not isinstance(v, dict) or any(x is not True for x in v.values()):
        e.append(p)


def _id_bool_map(v: Any, p: str, e: list[str]) -> None:
    if not isinstance(v, dict) or any(not _ID_RE.match(k) or x is not True for k, x in v.items()):
        e.append(p)


def _enum(*values: str, vendor: bool = True) -> Check:
    allowed = frozenset(values)

    def check(v: Any, p: str, e: list[str]) -> None:
        if not isinstance(v, str) or (v not in allowed and not (vendor and _VENDOR_RE.match(v))):
            e.append(p)

    return check


def _enum_map(*values: str) -> Check:
    allowed = frozenset(values)

    def check(v: Any, p: str, e: list[str]) -> None:
        if not isinstance(v, dict) or not v:
            e.append(p)
            return
        for k, x in v.items():
            if x is not True or (k not in allowed and not _VENDOR_RE.match(k)):
                e.append(p)
                return

    return check


# -- objects -----------------------------------------------------------------------

Schema = dict[str, Check]


def _object(
    type_name: str | None,
    schema: Schema,
    mandatory: tuple[str, ...] = (),
    reserved: frozenset[str] = frozenset(),
) -> Check:
    lowered = {k.lower(): k for k in schema}

    def check(v: Any, p: str, e: list[str]) -> None:
        if not isinstance(v, dict):
            e.append(p)
            return
        _check_props(v, p, e, type_name, schema, mandatory, reserved, lowered)

    return check


def _check_props(
    v: dict[str, Any],
    p: str,
    e: list[str],
    type_name: str | None,
    schema: Schema,
    mandatory: tuple[str, ...],
    reserved: frozenset[str],
    lowered: dict[str, str],
) -> None:
    prefix = f"{p}/" if p else ""
    if "@type" in v and type_name is not None and v["@type"] != type_name:
        e.append(prefix + "@type")
    for name in mandatory:
        if name not in v:
            e.append(prefix + name)
    for k, x in v.items():
        if k == "@type":
            continue
        check = schema.get(k)
        if check is not None:
            check(x, prefix + k, e)
        elif k in reserved or k == "extra":
            e.append(prefix + k)
        elif ":" in k:
            if not _VENDOR_RE.match(k):
                e.append(prefix + k)
        elif not _NAME_RE.match(k) or lowered.get(k.lower(), k) != k:
            e.append(prefix + k)


def _map_of(check: Check, key: Callable[[str], bool] = lambda k: bool(_ID_RE.match(k))) -> Check:
    def run(v: Any, p: str, e: list[str]) -> None:
        if not isinstance(v, dict):
            e.append(p)
            return
        for k, x in v.items():
            if not isinstance(k, str) or not key(k):
                e.append(f"{p}/{k}")
            else:
                check(x, f"{p}/{k}", e)

    return run


def _array_of(check: Check, nonempty: bool = True) -> Check:
    def run(v: Any, p: str, e: list[str]) -> None:
        if not isinstance(v, list) or (nonempty and not v):
            e.append(p)
            return
        for i, x in enumerate(v):
            check(x, f"{p}/{i}", e)

    return run


def _int_range(lo: int, hi: int, nonzero: bool = False) -> Check:
    def run(v: Any, p: str, e: list[str]) -> None:
        if not _is_int(v) or not lo <= v <= hi or (nonzero and v == 0):
            e.append(p)

    return run


_LINK = _object(
    "Link",
    {
        "href": _string,
        "contentType": _string,
        "size": _uint,
        "rel": _string,
        "display": _enum_map("badge", "graphic", "fullsize", "thumbnail"),
        "title": _string,
    },
    mandatory=("href",),
    reserved=frozenset({"cid"}),
)
_LINKS = _map_of(_LINK)
_RELATION = _object("Relation", {"relation": _bool_map})
_RELATED_TO = _map_of(_RELATION, key=lambda k: bool(k))
_LOCATION = _object(
    "Location",
    # NOTE(caldomain): 2.0 reserves Location.description, yet its own
    # examples use it; it is accepted as a String so those examples validate.
    {
        "name": _string,
        "description": _string,
        "locationTypes": _bool_map,
        "coordinates": _string,
        "links": _LINKS,
    },
    reserved=frozenset({"descriptionContentType", "relativeTo", "timeZone"}),
)
_VIRTUAL_LOCATION = _object(
    "VirtualLocation",
    {
        "name": _string,
        "uri": _string,
        "description": _string,
        "features": _enum_map("audio", "chat", "feed", "moderator", "phone", "screen", "video"),
    },
    mandatory=("uri",),
    reserved=frozenset({"descriptionContentType"}),
)
_PARTICIPANT = _object(
    "Participant",
    {
        "name": _string,
        "email": _string,
        "description": _string,
        "descriptionContentType": _string,
        "calendarAddress": _string,
        "kind": _enum("individual", "group", "location", "resource"),
        "roles": _enum_map("owner", "attendee", "optional", "informational", "chair", "contact"),
        "participationStatus": _enum(
            "needs-action", "accepted", "declined", "tentative", "delegated"
        ),
        "expectReply": _bool,
        "sentBy": _string,
        "delegatedTo": _bool_map,
        "delegatedFrom": _bool_map,
        "memberOf": _bool_map,
        "links": _LINKS,
        # JMAP Calendars §5.1.3 registers these two for the last iTIP response applied.
        "scheduleSequence": _uint,
        "scheduleUpdated": _utc,
    },
    reserved=frozenset(
        {
            "invitedBy",
            "participationComment",
            "scheduleAgent",
            "scheduleForceSend",
            "scheduleStatus",
            "sendTo",
            "language",
            "locationId",
            "progressUpdated",
            "progress",
            "percentComplete",
        }
    ),  # fmt: skip
)


def _trigger(v: Any, p: str, e: list[str]) -> None:
    if not isinstance(v, dict):
        e.append(p)
        return
    t = v.get("@type", "OffsetTrigger")
    if t == "OffsetTrigger":
        _object(
            "OffsetTrigger",
            {"offset": _signed_duration, "relativeTo": _enum("start", "end")},
            ("offset",),
        )(v, p, e)
    elif t == "AbsoluteTrigger":
        _object("AbsoluteTrigger", {"when": _utc}, ("when",))(v, p, e)
    elif not isinstance(t, str) or t in ("offsettrigger", "absolutetrigger"):
        e.append(p + "/@type")
    # Any other @type is an UnknownTrigger: kept as is.


_ALERT = _object(
    "Alert",
    {
        "trigger": _trigger,
        "acknowledged": _utc,
        "relatedTo": _RELATED_TO,
        "action": _enum("display", "email"),
    },
    mandatory=("trigger",),
)


def _nday(v: Any, p: str, e: list[str]) -> None:
    _object(
        "NDay",
        {"day": _enum(*WEEKDAYS, vendor=False), "nthOfPeriod": _int_range(-53, 53, nonzero=True)},
        ("day",),
    )(v, p, e)


def _month(v: Any, p: str, e: list[str]) -> None:
    if not isinstance(v, str) or not re.match(r"^(?:[1-9]|1[0-3])L?$", v):
        e.append(p)


_RULE_SCHEMA: Schema = {
    "frequency": _enum(*FREQUENCIES, vendor=False),
    "interval": _int_range(1, MAX_INT),
    "rscale": _string,
    "skip": _enum("omit", "backward", "forward", vendor=False),
    "firstDayOfWeek": _enum(*WEEKDAYS, vendor=False),
    "byDay": _array_of(_nday),
    "byMonthDay": _array_of(_int_range(-31, 31, nonzero=True)),
    "byMonth": _array_of(_month),
    "byYearDay": _array_of(_int_range(-366, 366, nonzero=True)),
    "byWeekNo": _array_of(_int_range(-53, 53, nonzero=True)),
    "byHour": _array_of(_int_range(0, 23)),
    "byMinute": _array_of(_int_range(0, 59)),
    "bySecond": _array_of(_int_range(0, 60)),
    "bySetPosition": _array_of(_int_range(-MAX_INT, MAX_INT, nonzero=True)),
    "count": _uint,
    "until": _local,
}


def _rule(v: Any, p: str, e: list[str]) -> None:
    _object("RecurrenceRule", _RULE_SCHEMA, ("frequency",))(v, p, e)
    if isinstance(v, dict):
        if "count" in v and "until" in v:
            e.append(p + "/until")
        if isinstance(v.get("rscale"), str) and v["rscale"] != v["rscale"].lower():
            e.append(p + "/rscale")


def _patch_object(v: Any, p: str, e: list[str]) -> None:
    if not isinstance(v, dict):
        e.append(p)
        return
    if "excluded" in v and (v["excluded"] is not True or len(v) != 1):
        e.append(f"{p}/excluded")
    keys = sorted(k for k in v if k != "excluded")
    for a, b in zip(keys, keys[1:], strict=False):
        if b.startswith(a + "/"):
            e.append(f"{p}/{b}")
    for k in keys:
        if not k or k.startswith("/") or "//" in k:
            e.append(f"{p}/{k}")
            continue
        root, _, rest = k.partition("/")
        check = EVENT_SCHEMA.get(root)
        if check is not None and not rest and v[k] is not None:
            sub: list[str] = []
            check(v[k], root, sub)
            if sub:
                e.extend(f"{p}/{k}" for _ in sub[:1])


def _overrides(v: Any, p: str, e: list[str]) -> None:
    if not isinstance(v, dict):
        e.append(p)
        return
    for k, x in v.items():
        sub: list[str] = []
        _local(k, "", sub)
        if sub:
            e.append(f"{p}/{k}")
        else:
            _patch_object(x, f"{p}/{k}", e)


def _localizations(v: Any, p: str, e: list[str]) -> None:
    if not isinstance(v, dict):
        e.append(p)
        return
    for k, x in v.items():
        _patch_object(x, f"{p}/{k}", e)


EVENT_SCHEMA: Schema = {
    "uid": _string,
    "version": _string,
    "relatedTo": _RELATED_TO,
    "prodId": _string,
    "created": _utc,
    "updated": _utc,
    "sequence": _uint,
    "method": _enum(
        "publish", "request", "reply", "add", "cancel", "refresh", "counter", "declinecounter"
    ),
    "title": _string,
    "description": _string,
    "descriptionContentType": _string,
    "showWithoutTime": _bool,
    "locations": _map_of(_LOCATION),
    "mainLocationId": _string,
    "virtualLocations": _map_of(_VIRTUAL_LOCATION),
    "links": _LINKS,
    "locale": _string,
    "keywords": _bool_map,
    "categories": _bool_map,
    "color": _string,
    "recurrenceId": _local,
    "recurrenceIdTimeZone": _tz,
    "recurrenceRule": _rule,
    "recurrenceOverrides": _overrides,
    "priority": _int_range(0, 9),
    "freeBusyStatus": _enum("free", "busy"),
    "privacy": _enum("public", "private", "secret"),
    "organizerCalendarAddress": _string,
    "sentBy": _string,
    "participants": _map_of(_PARTICIPANT),
    "alerts": _map_of(_ALERT),
    "timeZone": _tz,
    "start": _local,
    "duration": _duration,
    "endTimeZone": _tz,
    "status": _enum("confirmed", "cancelled", "tentative"),
    "localizations": _localizations,
}
_EVENT_RESERVED = frozenset(
    {
        "useDefaultAlerts",
        "replyTo",
        "requestStatus",
        "excludedRecurrenceRules",
        "recurrenceRules",
        "timeZones",
        "excluded",
    }
)


def validate_event(
    obj: Any,
    *,
    mandatory: tuple[str, ...] = ("start",),
    jmap: bool = True,
    nullable_top_level: bool = False,
) -> list[str]:
    """Every invalid property path of a JSCalendar 2.0 Event (empty list = valid).

    :param mandatory: top-level properties that must be present; the JMAP
        layer fills ``uid``/``updated`` itself, so only ``start`` by default.
    :param jmap: accept the JMAP Calendars properties (``id``, ``calendarIds``,
        ``useDefaultAlerts``, ...) without judging them — that layer does.
    :param nullable_top_level: treat a top-level ``null`` as "not set" (JMAP
        allows null for optional top-level properties).
    """
    if not isinstance(obj, dict):
        return [""]
    errors: list[str] = []
    view = obj
    if nullable_top_level:
        view = {k: v for k, v in obj.items() if v is not None or k in mandatory}
    if jmap:
        view = {k: v for k, v in view.items() if k not in JMAP_PROPERTIES}
    reserved = _EVENT_RESERVED - (JMAP_PROPERTIES if jmap else frozenset())
    _check_props(
        view,
        "",
        errors,
        "Event",
        EVENT_SCHEMA,
        mandatory,
        reserved,
        {k.lower(): k for k in EVENT_SCHEMA},
    )
    if "recurrenceId" in view and ("recurrenceRule" in view or "recurrenceOverrides" in view):
        errors.append("recurrenceId")
    if "recurrenceIdTimeZone" in view and "recurrenceId" not in view:
        errors.append("recurrenceIdTimeZone")
    mlid = view.get("mainLocationId")
    if isinstance(mlid, str) and mlid not in (view.get("locations") or {}):
        errors.append("mainLocationId")
    errors.extend(_range_errors(view))
    errors.extend(_patched_instance_errors(view, jmap=jmap))
    seen: set[str] = set()
    return [p for p in errors if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]


def _patched_instance_errors(view: dict[str, Any], *, jmap: bool) -> list[str]:
    """Override patches that reach into nested objects, checked on the instance they produce.

    A pointer like ``participants/p1/roles`` can only be judged against the
    object it patches (does ``p1`` exist? is the result a valid Participant?),
    and JSCalendar says an invalid patch invalidates the whole PatchObject.
    Top-level patch values were already type-checked by ``_patch_object``.
    """
    overrides = view.get("recurrenceOverrides")
    if not isinstance(overrides, dict):
        return []
    from .recurrence import PatchError, apply_patch

    base = {k: v for k, v in view.items() if k not in ("recurrenceRule", "recurrenceOverrides", "recurrenceRules")}
    base_errors: set[str] | None = None
    out: list[str] = []
    for rid, patch in overrides.items():
        if not isinstance(patch, dict) or patch.get("excluded") is True or not isinstance(rid, str):
            continue
        if not any("/" in k or v is None for k, v in patch.items()):
            continue
        inst = dict(base, start=rid, recurrenceId=rid)
        try:
            patched = apply_patch(inst, patch)
        except (PatchError, TypeError, ValueError):
            out.append(f"recurrenceOverrides/{rid}")
            continue
        if base_errors is None:
            base_errors = set(validate_event(dict(base, recurrenceId=rid), jmap=jmap))
        for q in validate_event(patched, jmap=jmap):
            if q in base_errors:
                continue
            key = next((k for k in patch if q == k or q.startswith(k + "/") or k.startswith(q + "/")), None)
            out.append(f"recurrenceOverrides/{rid}" + (f"/{key}" if key else ""))
    return out


# Instants must stay representable after time zone conversion and adding a
# duration (Python datetimes end at year 9999): two days of margin each side.
MIN_SUPPORTED = datetime(1, 1, 3)
MAX_SUPPORTED = datetime(9999, 12, 29)


def _range_errors(view: dict[str, Any]) -> list[str]:
    """Dates outside what the server can compute with (an event in year 9999 + P2D)."""
    out: list[str] = []
    try:
        start = (
            datetime.fromisoformat(view["start"])
            if isinstance(view.get("start"), str) and LOCAL_RE.match(view["start"])
            else None
        )
    except ValueError:
        start = None
    if start is not None:
        if not MIN_SUPPORTED <= start <= MAX_SUPPORTED:
            out.append("start")
        elif isinstance(view.get("duration"), str):
            try:
                days, secs = parse_duration(view["duration"])
                if start + timedelta(days=days, seconds=secs) > MAX_SUPPORTED:
                    out.append("duration")
            except (ValueError, OverflowError):
                out.append("duration")
    for key in (
        view.get("recurrenceOverrides") or {}
        if isinstance(view.get("recurrenceOverrides"), dict)
        else {}
    ):
        try:
            if not MIN_SUPPORTED <= datetime.fromisoformat(key) <= MAX_SUPPORTED:
                out.append(f"recurrenceOverrides/{key}")
        except (ValueError, TypeError):
            pass
    return out


def _pick_address(reply_to: Any) -> str | None:
    """The one calendar address an RFC 8984 ``replyTo``/``sendTo`` map stands for."""
    if isinstance(reply_to, str):
        return reply_to
    if not isinstance(reply_to, dict) or not reply_to:
        return None
    if "imip" in reply_to and isinstance(reply_to["imip"], str):
        return reply_to["imip"]
    values = [v for v in reply_to.values() if isinstance(v, str)]
    return values[0] if len(values) == 1 else None


def normalize_event(obj: dict[str, Any], limits: Limits | None = None) -> dict[str, Any]:
    """The JSCalendar 2.0 form of an event that may use RFC 8984 names.

    Renamed where the meaning is unambiguous: ``recurrenceRules`` with one
    rule → ``recurrenceRule`` (an empty array is dropped), ``replyTo`` →
    ``organizerCalendarAddress`` (its ``imip`` entry, or its only entry),
    participant ``sendTo`` → ``calendarAddress`` likewise, participant
    ``scheduleAgent`` "server" (the default, the only behaviour 2.0 has) dropped,
    and ``excludedRecurrenceRules: []`` dropped. Everything else is left for
    :func:`validate_event` to judge (two rules, an ``excludedRecurrenceRules``
    with rules, a ``replyTo`` with several non-imip addresses stay and are
    reported as invalid). Overrides are normalised too.

    :raises LimitExceeded: more participants or overrides than ``limits``
        allow, or a JSON form larger than ``limits.max_size``.
    """
    limits = limits or Limits()
    out = _normalize_obj(obj)
    overrides = out.get("recurrenceOverrides")
    if isinstance(overrides, dict):
        out["recurrenceOverrides"] = {k: _normalize_patch(v) for k, v in overrides.items()}
        if limits.max_overrides is not None and len(overrides) > limits.max_overrides:
            raise LimitExceeded(
                "recurrenceOverrides", f"more than {limits.max_overrides} recurrence overrides"
            )
    parts = out.get("participants")
    if (
        limits.max_participants is not None
        and isinstance(parts, dict)
        and len(parts) > limits.max_participants
    ):
        raise LimitExceeded("participants", f"more than {limits.max_participants} participants")
    if limits.max_size is not None:
        try:
            size = len(orjson.dumps(out))
        except TypeError as exc:
            raise LimitExceeded("", "not JSON data") from exc
        if size > limits.max_size:
            raise LimitExceeded("", f"event larger than {limits.max_size} bytes")
    return out


def _normalize_obj(obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    rules = out.get("recurrenceRules")
    if isinstance(rules, list) and "recurrenceRule" not in out:
        if len(rules) == 1:
            out["recurrenceRule"] = rules[0]
            del out["recurrenceRules"]
        elif not rules:
            del out["recurrenceRules"]
    elif rules is None and "recurrenceRules" in out:
        del out["recurrenceRules"]
    if out.get("excludedRecurrenceRules") in ([], None) and "excludedRecurrenceRules" in out:
        del out["excludedRecurrenceRules"]
    if "replyTo" in out and "organizerCalendarAddress" not in out:
        addr = _pick_address(out["replyTo"])
        if addr is not None or out["replyTo"] is None:
            del out["replyTo"]
            if addr is not None:
                out["organizerCalendarAddress"] = addr
    parts = out.get("participants")
    if isinstance(parts, dict):
        out["participants"] = {k: _normalize_participant(v) for k, v in parts.items()}
    return out


def _normalize_participant(p: Any) -> Any:
    if not isinstance(p, dict):
        return p
    q = dict(p)
    if "sendTo" in q and "calendarAddress" not in q:
        addr = _pick_address(q["sendTo"])
        if addr is not None or q["sendTo"] is None:
            del q["sendTo"]
            if addr is not None:
                q["calendarAddress"] = addr
    if q.get("scheduleAgent") == "server":
        del q["scheduleAgent"]
    return q


def _normalize_patch(patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    out: dict[str, Any] = {}
    for k, v in patch.items():
        if k == "replyTo":
            addr = _pick_address(v)
            out["organizerCalendarAddress" if addr else k] = addr if addr else v
        elif k.startswith("participants/") and k.endswith("/sendTo"):
            addr = _pick_address(v)
            out[k[: -len("sendTo")] + "calendarAddress" if addr else k] = addr if addr else v
        elif k == "participants" and isinstance(v, dict):
            out[k] = {pid: _normalize_participant(x) for pid, x in v.items()}
        elif k.startswith("participants/") and k.count("/") == 1 and isinstance(v, dict):
            out[k] = _normalize_participant(v)
        else:
            out[k] = v
    return out
