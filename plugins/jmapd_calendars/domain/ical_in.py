"""iCalendar → JSCalendar 2.0, per draft-ietf-calext-jscalendar-icalendar (§2, §3).

Each VEVENT/VTODO becomes an Event/Task; what has no JSCalendar element is
kept in the object's ``iCalendar`` property (jCal properties and
components, and the parameters of converted properties under
``convertedProperties``) so that ``ical_out`` can write it back.

Public API: :func:`convert_component`, :func:`convert_rrule`,
:class:`TzResolver`, :func:`jcal_prop`, :func:`jcal_component`, :data:`NS`.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import orjson

from .dates import format_duration, format_local, format_utc, local_to_utc, parse_duration
from .icalcore import Component, Prop, parse_date_value, split_text_list, unescape_text
from .timezones import get_zone, resolve_tzid

NS = uuid.UUID("7f1e1965-ae73-4454-b088-232c90730ce2")

# Default value types of properties that may end up in iCalendar.properties.
_TYPES = {
    "UID": "text", "DESCRIPTION": "text", "SUMMARY": "text", "COMMENT": "text", "CONTACT": "text",
    "RESOURCES": "text", "STRUCTURED-DATA": "text", "ACTION": "text", "DTSTAMP": "date-time",
    "LAST-MODIFIED": "date-time", "CREATED": "date-time", "DTSTART": "date-time", "DTEND": "date-time",
    "RECURRENCE-ID": "date-time", "EXDATE": "date-time", "RDATE": "date-time", "DURATION": "duration",
    "TRIGGER": "duration", "REPEAT": "integer", "SEQUENCE": "integer", "PRIORITY": "integer",
    "ATTACH": "uri", "URL": "uri", "ORGANIZER": "cal-address", "ATTENDEE": "cal-address",
    "GEO": "float", "RRULE": "recur", "EXRULE": "recur", "STATUS": "text", "CLASS": "text",
    "TRANSP": "text", "LOCATION": "text", "CATEGORIES": "text", "REQUEST-STATUS": "text",
    "TZID": "text", "TZNAME": "text", "TZOFFSETFROM": "utc-offset", "TZOFFSETTO": "utc-offset",
    "X-MICROSOFT-CDO-BUSYSTATUS": "unknown",
}  # fmt: skip

_ROLE = {
    "CHAIR": "chair",
    "OPT-PARTICIPANT": "optional",
    "NON-PARTICIPANT": "informational",
    "OWNER": "owner",
}
_CUTYPE = {"INDIVIDUAL": "individual", "GROUP": "group", "RESOURCE": "resource", "ROOM": "location"}
_PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative", "DELEGATED": "delegated", "NEEDS-ACTION": "needs-action"}  # fmt: skip
_WEEKDAYS = {"MO": "mo", "TU": "tu", "WE": "we", "TH": "th", "FR": "fr", "SA": "sa", "SU": "su"}


class ConversionError(ValueError):
    """A component that cannot be converted (bad DTSTART, RRULE, ...)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def uuid5(value: str) -> str:
    return str(uuid.uuid5(NS, value))


def jcal_prop(p: Prop) -> list[Any]:
    """A property in jCal form (RFC 7265 §3.4), value kept as text."""
    params: dict[str, Any] = {}
    vtype = _TYPES.get(p.name, "unknown")
    for k, v in p.params.items():
        if k == "VALUE":
            vtype = v[0].lower()
            continue
        params[k.lower()] = v[0] if len(v) == 1 else list(v)
    value: Any = unescape_text(p.value) if vtype == "text" else p.value
    return [p.name.lower(), params, vtype, value]


def jcal_component(c: Component) -> list[Any]:
    return [c.name.lower(), [jcal_prop(p) for p in c.props], [jcal_component(s) for s in c.subs]]


def _params_json(p: Prop, skip: frozenset[str]) -> dict[str, Any]:
    return {
        k.lower(): (v[0] if len(v) == 1 else list(v)) for k, v in p.params.items() if k not in skip
    }


class TzResolver:
    """TZID → IANA id, using the stream's VTIMEZONE definitions for unknown names."""

    def __init__(self, vtimezones: dict[str, Component]) -> None:
        self.defs = vtimezones
        self.cache: dict[str, str | None] = {}

    def resolve(self, tzid: str) -> str | None:
        if tzid in self.cache:
            return self.cache[tzid]
        name = resolve_tzid(tzid)
        if name is None and tzid in self.defs:
            name = resolve_tzid(tzid, _vtimezone_tzinfo(self.defs[tzid]))
        self.cache[tzid] = name
        return name


def _vtimezone_tzinfo(comp: Component) -> tzinfo | None:
    from .icalcore import format_prop

    lines = []

    def emit(c: Component) -> None:
        lines.append(f"BEGIN:{c.name}")
        lines.extend(format_prop(p.name, p.params, p.value) for p in c.props)
        for s in c.subs:
            emit(s)
        lines.append(f"END:{c.name}")

    emit(comp)
    text = "\r\n".join(lines)
    # NOTE(caldomain): icalendar caches built zones by TZID process-wide, so
    # two files defining different "Custom" zones would share the first one;
    # a TZID derived from the definition itself keeps them apart.
    unique = "jmapd-" + hashlib.sha1(text.encode()).hexdigest()
    text = "\r\n".join(f"TZID:{unique}" if ln.startswith("TZID") else ln for ln in lines)
    try:
        import icalendar

        zone = icalendar.Timezone.from_ical(text)
        built = zone.to_tz() if isinstance(zone, icalendar.Timezone) else None
    except Exception:  # a broken definition: treated as unknown
        return None
    return built if isinstance(built, tzinfo) else None


class _Ctx:
    def __init__(self, tz: TzResolver, floating_tz: str | None) -> None:
        self.tz = tz
        self.floating_tz = floating_tz


def _datetime_prop(p: Prop, ctx: _Ctx) -> tuple[datetime, bool, str | None]:
    """(local naive, is_date, IANA tz or None) of a DATE/DATE-TIME property."""
    try:
        local, is_date, is_utc = parse_date_value(p.value.split(",")[0])
    except ValueError as exc:
        raise ConversionError(p.line, f"{p.name}: {exc}") from exc
    if is_date or p.param("VALUE") == "DATE":
        return local, True, None
    if is_utc:
        return local, False, "Etc/UTC"
    tzid = p.param("TZID")
    if tzid:
        name = ctx.tz.resolve(tzid)
        if name is None:
            raise ConversionError(p.line, f"{p.name}: unknown time zone {tzid!r}")
        return local, False, name
    return local, False, None


def _to_zone(local: datetime, src_tz: str | None, dst_tz: str | None) -> datetime:
    """A local time in ``src_tz`` as wall-clock time in ``dst_tz`` (floating stays as is)."""
    if src_tz == dst_tz or src_tz is None or dst_tz is None:
        return local
    instant = local_to_utc(local, get_zone(src_tz))
    return instant.astimezone(get_zone(dst_tz) or UTC).replace(tzinfo=None)


def _duration_between(
    start: datetime, start_tz: str | None, end: datetime, end_tz: str | None, is_date: bool
) -> tuple[int, int]:
    """The Duration that takes DTSTART to DTEND (nominal days + exact time when in one zone)."""
    if is_date:
        return (end - start).days, 0
    if start_tz != end_tz and start_tz is not None and end_tz is not None:
        s = local_to_utc(start, get_zone(start_tz))
        e = local_to_utc(end, get_zone(end_tz))
        return 0, int((e - s).total_seconds())
    zone = get_zone(start_tz) if start_tz else None
    days = (end.date() - start.date()).days - (1 if end.time() < start.time() else 0)
    if days < 0:
        return 0, int((local_to_utc(end, zone) - local_to_utc(start, zone)).total_seconds())
    secs = int(
        (local_to_utc(end, zone) - local_to_utc(start + timedelta(days=days), zone)).total_seconds()
    )
    return days, secs


def convert_rrule(value: str, start_tz: str | None, line: int, is_date: bool) -> dict[str, Any]:
    """An RRULE value as a JSCalendar RecurrenceRule."""
    rule: dict[str, Any] = {"@type": "RecurrenceRule"}
    parts = {}
    for item in value.strip().split(";"):
        if not item:
            continue
        k, sep, v = item.partition("=")
        if not sep:
            raise ConversionError(line, f"RRULE: bad part {item!r}")
        parts[k.strip().upper()] = v.strip()
    freq = parts.pop("FREQ", "").lower()
    if freq not in ("yearly", "monthly", "weekly", "daily", "hourly", "minutely", "secondly"):
        raise ConversionError(line, "RRULE: missing or unknown FREQ")
    rule["frequency"] = freq

    def ints(v: str, name: str) -> list[int]:
        try:
            return [int(x) for x in v.split(",") if x]
        except ValueError as exc:
            raise ConversionError(line, f"RRULE: bad {name}") from exc

    try:
        for k, v in parts.items():
            if k == "INTERVAL":
                if int(v) != 1:
                    rule["interval"] = int(v)
            elif k == "COUNT":
                rule["count"] = int(v)
            elif k == "UNTIL":
                local, until_date, until_utc = parse_date_value(v)
                if until_date:
                    local = local.replace(hour=23, minute=59, second=59) if not is_date else local
                elif until_utc and start_tz:
                    local = (
                        datetime(*local.timetuple()[:6], tzinfo=UTC)
                        .astimezone(get_zone(start_tz))
                        .replace(tzinfo=None)
                    )
                rule["until"] = format_local(local)
            elif k == "BYDAY":
                days = []
                for d in v.split(","):
                    d = d.strip().upper()
                    wd = d[-2:]
                    if wd not in _WEEKDAYS:
                        raise ConversionError(line, f"RRULE: bad BYDAY {d!r}")
                    nd: dict[str, Any] = {"@type": "NDay", "day": _WEEKDAYS[wd]}
                    if d[:-2]:
                        nd["nthOfPeriod"] = int(d[:-2])
                    days.append(nd)
                rule["byDay"] = days
            elif k == "BYMONTH":
                rule["byMonth"] = [x.strip() for x in v.split(",") if x.strip()]
            elif k in (
                "BYMONTHDAY",
                "BYYEARDAY",
                "BYWEEKNO",
                "BYHOUR",
                "BYMINUTE",
                "BYSECOND",
                "BYSETPOS",
            ):
                name = {"BYMONTHDAY": "byMonthDay", "BYYEARDAY": "byYearDay", "BYWEEKNO": "byWeekNo", "BYHOUR": "byHour",
                        "BYMINUTE": "byMinute", "BYSECOND": "bySecond", "BYSETPOS": "bySetPosition"}[k]  # fmt: skip
                rule[name] = ints(v, k)
            elif k == "WKST":
                if v.upper() != "MO":
                    rule["firstDayOfWeek"] = _WEEKDAYS[v.upper()]
            elif k == "RSCALE":
                rule["rscale"] = v.lower()
            elif k == "SKIP":
                rule["skip"] = v.lower()
            else:
                raise ConversionError(line, f"RRULE: unknown part {k}")
    except (ValueError, KeyError) as exc:
        if isinstance(exc, ConversionError):
            raise
        raise ConversionError(line, f"RRULE: {exc}") from exc
    return rule


class _Builder:
    """Collects one component's JSCalendar object and its ``iCalendar`` leftovers."""

    def __init__(self, name: str) -> None:
        self.name = name.lower()
        self.obj: dict[str, Any] = {}
        self.converted: dict[str, dict[str, Any]] = {}
        self.props: list[list[Any]] = []
        self.comps: list[list[Any]] = []

    def keep(self, p: Prop) -> None:
        self.props.append(jcal_prop(p))

    def note(
        self,
        path: str,
        p: Prop,
        skip: frozenset[str] = frozenset(),
        value_type: str | None = None,
        always: bool = False,
    ) -> None:
        params = _params_json(p, skip | {"VALUE", "JSID"})
        if params or always or value_type:
            entry: dict[str, Any] = {"@type": "ICalProperty", "name": p.name.lower()}
            if value_type:
                entry["valueType"] = value_type
            if params:
                entry["parameters"] = params
            self.converted[path] = entry

    def finish(self, force: bool = False) -> dict[str, Any]:
        if self.converted or self.props or self.comps or force:
            ical: dict[str, Any] = {"@type": "ICalComponent", "name": self.name}
            if self.converted:
                ical["convertedProperties"] = self.converted
            if self.props:
                ical["properties"] = sorted(self.props, key=lambda x: x[0])
            if self.comps:
                ical["components"] = self.comps
            self.obj["iCalendar"] = ical
        return self.obj


def _set_pointer(obj: dict[str, Any], pointer: str, value: Any) -> None:
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")]
    cur = obj
    for t in tokens[:-1]:
        cur = cur.setdefault(t, {})
        if not isinstance(cur, dict):
            return
    cur[tokens[-1]] = value


def _jsprops(c: Component, b: _Builder) -> None:
    for p in c.all("JSPROP"):
        ptr = p.param("JSPTR")
        try:
            value = orjson.loads(unescape_text(p.value))
        except orjson.JSONDecodeError:
            b.keep(p)
            continue
        if ptr:
            _set_pointer(b.obj, ptr, value)


def _alert(c: Component, ctx: _Ctx, uid_to_id: dict[str, str]) -> tuple[str, dict[str, Any]]:
    b = _Builder("valarm")
    b.obj["@type"] = "Alert"
    jsid = c.get("JSID")
    uidp = c.get("UID")
    key = (
        unescape_text(jsid.value)
        if jsid
        else (
            unescape_text(uidp.value)
            if uidp
            else uuid5("\n".join(f"{p.name}:{p.value}" for p in c.props))
        )
    )
    for p in c.props:
        n = p.name
        if n == "TRIGGER":
            if p.param("VALUE") == "DATE-TIME":
                try:
                    local, _, _ = parse_date_value(p.value)
                except ValueError:
                    b.keep(p)
                    continue
                b.obj["trigger"] = {
                    "@type": "AbsoluteTrigger",
                    "when": format_utc(local.replace(tzinfo=UTC)),
                }
            else:
                try:
                    d, s = parse_duration(p.value.strip(), signed=True)
                except ValueError:
                    b.keep(p)
                    continue
                trig: dict[str, Any] = {
                    "@type": "OffsetTrigger",
                    "offset": format_duration(d, s, signed=True),
                }
                if p.param("RELATED") == "END":
                    trig["relativeTo"] = "end"
                b.obj["trigger"] = trig
            b.note("trigger", p, frozenset({"RELATED"}))
        elif n in ("ACTION", "DESCRIPTION") and p.param("X-JMAPD-IMPLIED"):
            continue  # written by jmapd's export only because RFC 5545 requires it
        elif n == "ACTION" and p.value.strip().upper() in ("DISPLAY", "EMAIL"):
            b.obj["action"] = p.value.strip().lower()
        elif n == "ACKNOWLEDGED":
            try:
                local, _, _ = parse_date_value(p.value)
                b.obj["acknowledged"] = format_utc(local.replace(tzinfo=UTC))
            except ValueError:
                b.keep(p)
        elif n == "RELATED-TO" and (p.param("RELTYPE") or "").upper() == "SNOOZE":
            target = unescape_text(p.value)
            b.obj.setdefault("relatedTo", {})[uid_to_id.get(target, target)] = {
                "@type": "Relation",
                "relation": {"snooze": True},
            }
        elif n in ("JSID", "JSPROP"):
            continue
        else:
            b.keep(p)
    _jsprops(c, b)
    for child in c.subs:
        b.comps.append(jcal_component(child))
    return key, b.finish()


def _location_comp(c: Component) -> tuple[str, dict[str, Any]]:
    b = _Builder("vlocation")
    b.obj["@type"] = "Location"
    jsid = c.get("JSID")
    uidp = c.get("UID")
    key = (
        unescape_text(jsid.value)
        if jsid
        else (unescape_text(uidp.value) if uidp else uuid5("\n".join(p.value for p in c.props)))
    )
    for p in c.props:
        n = p.name
        if n == "NAME":
            b.obj["name"] = unescape_text(p.value)
            b.note("name", p)
        elif n == "DESCRIPTION":
            b.obj["description"] = unescape_text(p.value)
        elif n == "LOCATION-TYPE":
            b.obj["locationTypes"] = {t: True for t in split_text_list(p.value)}
        elif n == "COORDINATES":
            b.obj["coordinates"] = p.value.strip()
        elif n == "GEO":
            lat, _, lon = p.value.partition(";")
            b.obj["coordinates"] = f"geo:{lat.strip()},{lon.strip()}"
            b.note("coordinates", p, always=True)
        elif n in ("JSID", "JSPROP"):
            continue
        else:
            b.keep(p)
    _jsprops(c, b)
    return key, b.finish(force=True)


def _participant_comp(c: Component) -> tuple[str, dict[str, Any], str | None]:
    b = _Builder("participant")
    b.obj["@type"] = "Participant"
    jsid = c.get("JSID")
    uidp = c.get("UID")
    addr = c.get("CALENDAR-ADDRESS")
    if jsid:
        key = unescape_text(jsid.value)
    elif addr:
        key = uuid5(addr.value)
    else:
        key = unescape_text(uidp.value) if uidp else uuid5("\n".join(p.value for p in c.props))
    for p in c.props:
        n = p.name
        if n == "SUMMARY":
            b.obj["name"] = unescape_text(p.value)
        elif n == "DESCRIPTION":
            b.obj["description"] = unescape_text(p.value)
        elif n == "CALENDAR-ADDRESS":
            b.obj["calendarAddress"] = p.value.strip()
            b.note("calendarAddress", p, always=True)
        elif n in ("JSID", "JSPROP"):
            continue
        else:
            b.keep(p)
    _jsprops(c, b)
    return key, b.finish(), (addr.value.strip() if addr else None)


def _attendee(p: Prop, is_task: bool) -> dict[str, Any]:
    part: dict[str, Any] = {"@type": "Participant", "calendarAddress": p.value.strip()}
    cn = p.param("CN")
    if cn:
        part["name"] = cn
    ps = (p.param("PARTSTAT") or "").upper()
    if ps in _PARTSTAT and ps != "NEEDS-ACTION":
        part["participationStatus"] = _PARTSTAT[ps]
    elif is_task and ps in ("COMPLETED", "IN-PROCESS"):
        part["participationStatus"] = "accepted"
        part["progress"] = ps.lower()
    if (p.param("RSVP") or "").upper() == "TRUE":
        part["expectReply"] = True
    roles = {_ROLE[r.upper()]: True for r in p.params.get("ROLE", []) if r.upper() in _ROLE}
    if roles:
        part["roles"] = roles
    cu = (p.param("CUTYPE") or "").upper()
    if cu in _CUTYPE and cu != "INDIVIDUAL":
        part["kind"] = _CUTYPE[cu]
    if p.params.get("DELEGATED-TO"):
        part["delegatedTo"] = {a: True for a in p.params["DELEGATED-TO"]}
    if p.params.get("DELEGATED-FROM"):
        part["delegatedFrom"] = {a: True for a in p.params["DELEGATED-FROM"]}
    if p.params.get("MEMBER"):
        part["memberOf"] = {uuid5(a): True for a in p.params["MEMBER"]}
    if p.param("SENT-BY"):
        part["sentBy"] = p.param("SENT-BY")
    if p.param("EMAIL"):
        part["email"] = p.param("EMAIL")
    return part


_ATTENDEE_DONE = frozenset(
    {
        "CN",
        "PARTSTAT",
        "RSVP",
        "ROLE",
        "CUTYPE",
        "DELEGATED-TO",
        "DELEGATED-FROM",
        "MEMBER",
        "SENT-BY",
        "EMAIL",
    }
)
_KNOWN_ROLE = frozenset({"CHAIR", "OPT-PARTICIPANT", "NON-PARTICIPANT", "OWNER", "REQ-PARTICIPANT"})


def _add_participant(parts: dict[str, dict[str, Any]], key: str, part: dict[str, Any]) -> None:
    if key in parts:
        merged = dict(parts[key])
        for k, v in part.items():
            if k == "roles":
                merged["roles"] = {**merged.get("roles", {}), **v}
            elif k not in merged:
                merged[k] = v
        parts[key] = merged
    else:
        parts[key] = part


def convert_component(c: Component, ctx: _Ctx, cal: dict[str, Any]) -> dict[str, Any]:
    """One VEVENT/VTODO as an Event/Task.

    :param cal: VCALENDAR-level values to copy in (``method``, ``prodId``).
    :raises ConversionError: DTSTART/DTEND/DURATION/RRULE/RDATE/EXDATE that
        cannot be read, or an unknown time zone.
    """
    is_task = c.name == "VTODO"
    b = _Builder(c.name)
    ev = b.obj
    ev["@type"] = "Task" if is_task else "Event"
    for k in ("method", "prodId"):
        if k in cal:
            ev[k] = cal[k]
    start_p = c.get("DTSTART")
    start_local: datetime | None = None
    start_tz: str | None = None
    start_is_date = False
    if start_p is not None:
        start_local, start_is_date, start_tz = _datetime_prop(start_p, ctx)
        ev["start"] = format_local(start_local)
        if start_tz:
            ev["timeZone"] = start_tz
        ev["showWithoutTime"] = start_is_date
        b.note("start", start_p, frozenset({"TZID"}))
    elif not is_task:
        raise ConversionError(c.line, "VEVENT without DTSTART")
    due_p = c.get("DUE") if is_task else None
    if due_p is not None:
        due_local, due_is_date, due_tz = _datetime_prop(due_p, ctx)
        ev["due"] = format_local(
            _to_zone(due_local, due_tz, start_tz) if start_p is not None else due_local
        )
        if start_p is None:
            if due_tz:
                ev["timeZone"] = due_tz
            ev["showWithoutTime"] = due_is_date
            start_tz = due_tz
    parts: dict[str, dict[str, Any]] = {}
    organizer: Prop | None = None
    attendee_addrs: set[str] = set()
    locations: dict[str, dict[str, Any]] = {}
    loc_from_prop: list[str] = []
    links: dict[str, dict[str, Any]] = {}
    uid_to_alert: dict[str, str] = {}
    for child in c.subs:
        if child.name == "VALARM":
            u, j = child.get("UID"), child.get("JSID")
            if u is not None and j is not None:
                uid_to_alert[unescape_text(u.value)] = unescape_text(j.value)
    overrides: dict[str, dict[str, Any]] = {}
    updated_from: str | None = None
    rrule_done = False
    styled = c.get("STYLED-DESCRIPTION")
    for p in c.props:
        n = p.name
        if n in ("DTSTART", "DUE"):
            continue
        if n == "UID":
            ev["uid"] = unescape_text(p.value)
        elif n == "DTSTAMP" and "updated" not in ev:
            try:
                ev["updated"] = format_utc(parse_date_value(p.value)[0].replace(tzinfo=UTC))
                updated_from = "dtstamp"
            except ValueError:
                b.keep(p)
        elif n == "LAST-MODIFIED":
            try:
                value = format_utc(parse_date_value(p.value)[0].replace(tzinfo=UTC))
            except ValueError:
                b.keep(p)
                continue
            if updated_from == "dtstamp":
                # Both set: LAST-MODIFIED is the updated time, DTSTAMP is kept as is.
                b.props.append(["dtstamp", {}, "date-time", _stamp(c)])
            ev["updated"] = value
            updated_from = "last-modified"
            b.note("updated", p, always=True)
        elif n == "CREATED":
            try:
                ev["created"] = format_utc(parse_date_value(p.value)[0].replace(tzinfo=UTC))
            except ValueError:
                b.keep(p)
        elif n == "SEQUENCE":
            try:
                ev["sequence"] = int(p.value)
            except ValueError:
                b.keep(p)
        elif n == "SUMMARY" and "title" not in ev:
            ev["title"] = unescape_text(p.value)
            if p.param("LANGUAGE"):
                ev["locale"] = p.param("LANGUAGE")
            b.note("title", p, frozenset({"LANGUAGE"}))
        elif n == "DESCRIPTION" and "description" not in ev and styled is None:
            ev["description"] = unescape_text(p.value)
            b.note("description", p)
        elif n == "STYLED-DESCRIPTION" and p is styled:
            ev["description"] = (
                unescape_text(p.value) if p.param("VALUE") in (None, "TEXT") else p.value
            )
            ev["descriptionContentType"] = p.param("FMTTYPE") or "text/html"
            b.note("description", p, frozenset({"FMTTYPE"}), always=True)
        elif n == "DTEND" and start_local is not None and "duration" not in ev:
            end_local, _, end_tz = _datetime_prop(p, ctx)
            days, secs = _duration_between(start_local, start_tz, end_local, end_tz, start_is_date)
            if days < 0 or secs < 0:
                raise ConversionError(p.line, "DTEND before DTSTART")
            ev["duration"] = format_duration(days, secs)
            if end_tz and end_tz != start_tz:
                ev["endTimeZone"] = end_tz
            b.note("duration", p, frozenset({"TZID"}), always=True)
        elif n == "DURATION" and "duration" not in ev:
            try:
                d, s = parse_duration(p.value.strip())
            except ValueError as exc:
                raise ConversionError(p.line, f"DURATION: {exc}") from exc
            ev["duration" if not is_task else "estimatedDuration"] = format_duration(d, s)
        elif n == "ESTIMATED-DURATION":
            try:
                ev["estimatedDuration"] = format_duration(*parse_duration(p.value.strip()))
            except ValueError:
                b.keep(p)
        elif n == "RRULE" and not rrule_done:
            ev["recurrenceRule"] = convert_rrule(p.value, start_tz, p.line, start_is_date)
            rrule_done = True
        elif n in ("RDATE", "EXDATE") and start_local is not None:
            for item in p.value.split(","):
                item = item.strip()
                if not item:
                    continue
                period_end = None
                if "/" in item:
                    item, _, period_end = item.partition("/")
                fake = Prop(n, p.params, item, p.line)
                local, _, tz = _datetime_prop(fake, ctx)
                key = format_local(_to_zone(local, tz, start_tz))
                if n == "EXDATE":
                    overrides[key] = {"excluded": True}
                    continue
                patch: dict[str, Any] = {}
                if period_end:
                    try:
                        if period_end.startswith(("P", "+P", "-P")):
                            d, s = parse_duration(period_end)
                        else:
                            e_local, _, e_tz = _datetime_prop(
                                Prop(n, p.params, period_end, p.line), ctx
                            )
                            d, s = _duration_between(local, tz, e_local, e_tz, False)
                    except ValueError as exc:
                        raise ConversionError(p.line, f"RDATE: {exc}") from exc
                    dur = format_duration(d, s)
                    if dur != ev.get("duration", "PT0S"):
                        patch["duration"] = dur
                    b.note(
                        f"recurrenceOverrides/{key}", p, frozenset({"TZID"}), value_type="period"
                    )
                overrides.setdefault(key, patch)
        elif n == "LOCATION":
            if (p.param("DERIVED") or "").upper() == "TRUE" and any(
                s.name == "VLOCATION" for s in c.subs
            ):
                ev["mainLocationId"] = unescape_text(p.value)  # resolved to an id below
                b.note("mainLocationId", p, frozenset({"DERIVED"}), always=True)
                continue
            key = p.param("JSID") or uuid5(p.value)
            locations.setdefault(key, {"@type": "Location"})["name"] = unescape_text(p.value)
            loc_from_prop.append(key)
            b.note(f"locations/{key}/name", p)
        elif n == "GEO":
            lat, _, lon = p.value.partition(";")
            key = p.param("JSID") or (
                loc_from_prop[0] if len(loc_from_prop) == 1 else uuid5(p.value)
            )
            locations.setdefault(key, {"@type": "Location"})["coordinates"] = (
                f"geo:{lat.strip()},{lon.strip()}"
            )
            b.note(f"locations/{key}/coordinates", p, always=True)
        elif n in ("URL", "ATTACH", "IMAGE", "LINK"):
            key, link = _link(p)
            links[key] = link
            b.note(
                f"links/{key}",
                p,
                frozenset(
                    {"FMTTYPE", "SIZE", "FILENAME", "DISPLAY", "LINKREL", "LABEL", "ENCODING"}
                ),
            )
        elif n == "CONFERENCE":
            key = p.param("JSID") or uuid5(p.value)
            vl: dict[str, Any] = {"@type": "VirtualLocation", "uri": p.value.strip()}
            if p.param("LABEL"):
                vl["name"] = p.param("LABEL")
            feats = [f.lower() for f in p.params.get("FEATURE", [])]
            if feats:
                vl["features"] = {f: True for f in feats}
            ev.setdefault("virtualLocations", {})[key] = vl
            b.note(f"virtualLocations/{key}", p, frozenset({"LABEL", "FEATURE"}))
        elif n == "ORGANIZER":
            organizer = p
            ev["organizerCalendarAddress"] = p.value.strip()
        elif n == "ATTENDEE":
            key = p.param("JSID") or uuid5(p.value.strip())
            part = _attendee(p, is_task)
            _add_participant(parts, key, part)
            attendee_addrs.add(p.value.strip())
            extra = [r for r in p.params.get("ROLE", []) if r.upper() not in _KNOWN_ROLE]
            b.note(
                f"participants/{key}", p, _ATTENDEE_DONE if not extra else _ATTENDEE_DONE - {"ROLE"}
            )
        elif n == "CATEGORIES":
            ev.setdefault("keywords", {}).update({k: True for k in split_text_list(p.value)})
        elif n == "CONCEPT":
            ev.setdefault("categories", {})[p.value.strip()] = True
        elif n == "CLASS" and p.value.strip().upper() in ("PUBLIC", "PRIVATE", "CONFIDENTIAL"):
            ev["privacy"] = {"PUBLIC": "public", "PRIVATE": "private", "CONFIDENTIAL": "secret"}[
                p.value.strip().upper()
            ]
        elif n == "TRANSP" and p.value.strip().upper() in ("TRANSPARENT", "OPAQUE"):
            ev["freeBusyStatus"] = "free" if p.value.strip().upper() == "TRANSPARENT" else "busy"
        elif n == "STATUS":
            v = p.value.strip().lower()
            if not is_task and v in ("confirmed", "cancelled", "tentative"):
                ev["status"] = v
            elif is_task and v in ("needs-action", "completed", "in-process", "cancelled"):
                ev["progress"] = v
            else:
                b.keep(p)
        elif n == "PRIORITY":
            try:
                ev["priority"] = int(p.value)
            except ValueError:
                b.keep(p)
        elif n == "PERCENT-COMPLETE" and is_task:
            try:
                ev["percentComplete"] = int(p.value)
            except ValueError:
                b.keep(p)
        elif n == "COLOR":
            ev["color"] = p.value.strip()
        elif n == "RELATED-TO":
            rel: dict[str, Any] = {"@type": "Relation"}
            rt = (p.param("RELTYPE") or "PARENT").upper()
            if rt != "PARENT" or p.param("RELTYPE"):
                rel["relation"] = {rt.lower(): True}
            ev.setdefault("relatedTo", {})[unescape_text(p.value)] = rel
        elif n == "SHOW-WITHOUT-TIME":
            ev["showWithoutTime"] = p.value.strip().upper() == "TRUE"
        elif n == "RECURRENCE-ID":
            local, _, tz = _datetime_prop(p, ctx)
            ev["recurrenceId"] = format_local(_to_zone(local, tz, start_tz))
            if start_tz:
                ev["recurrenceIdTimeZone"] = start_tz
            b.note("recurrenceId", p, frozenset({"TZID"}))
        elif n in ("JSPROP", "JSID"):
            continue
        else:
            b.keep(p)
    if organizer is not None:
        addr = organizer.value.strip()
        key = organizer.param("JSID") or uuid5(addr)
        other_owner = any(pp.get("roles", {}).get("owner") for pp in parts.values())
        if addr in attendee_addrs or organizer.param("CN") or not other_owner:
            part = {"@type": "Participant", "calendarAddress": addr, "roles": {"owner": True}}
            if organizer.param("CN"):
                part["name"] = organizer.param("CN")
            if organizer.param("SENT-BY"):
                part["sentBy"] = organizer.param("SENT-BY")
            if addr in attendee_addrs and key in parts:
                parts[key] = {**parts[key], "roles": {**parts[key].get("roles", {}), "owner": True}}
                if organizer.param("CN") and "name" not in parts[key]:
                    parts[key]["name"] = organizer.param("CN")
            else:
                _add_participant(parts, key, part)
        b.note("organizerCalendarAddress", organizer, frozenset({"CN", "SENT-BY", "JSID"}))
    for child in c.subs:
        if child.name == "VALARM":
            key, alert = _alert(child, ctx, uid_to_alert)
            ev.setdefault("alerts", {})[key] = alert
        elif child.name == "VLOCATION":
            key, loc = _location_comp(child)
            locations[key] = loc
        elif child.name == "PARTICIPANT":
            key, part, part_addr = _participant_comp(child)
            if part_addr is not None and part_addr in attendee_addrs:
                ical = part.get("iCalendar", {})
                ical.get("convertedProperties", {}).pop("calendarAddress", None)
                if ical and not ical.get("convertedProperties"):
                    ical.pop("convertedProperties", None)
            _add_participant(parts, key, part)
        else:
            b.comps.append(jcal_component(child))
    if "mainLocationId" in ev:
        name = ev["mainLocationId"]
        match = [k for k, v in locations.items() if v.get("name") == name]
        if match:
            ev["mainLocationId"] = match[0]
        else:
            del ev["mainLocationId"]
            key = uuid5(name)
            locations[key] = {"@type": "Location", "name": name}
    if locations:
        ev["locations"] = locations
    if links:
        ev["links"] = links
    if parts:
        ev["participants"] = parts
    if overrides:
        ev["recurrenceOverrides"] = overrides
    _jsprops(c, b)
    return b.finish()


def _stamp(c: Component) -> str:
    p = c.get("DTSTAMP")
    return p.value.strip() if p else ""


def _link(p: Prop) -> tuple[str, dict[str, Any]]:
    n = p.name
    link: dict[str, Any] = {"@type": "Link"}
    if (p.param("VALUE") or "").upper() == "BINARY" or (
        p.param("ENCODING") or ""
    ).upper() == "BASE64":
        ctype = p.param("FMTTYPE") or "application/octet-stream"
        data = p.value.strip()
        try:
            base64.b64decode(data, validate=True)
        except ValueError:
            data = base64.b64encode(data.encode()).decode()
        link["href"] = f"data:{ctype};base64,{data}"
        key = p.param("JSID") or uuid5(p.value)
    else:
        link["href"] = p.value.strip()
        key = p.param("JSID") or uuid5(p.value)
    if p.param("FMTTYPE"):
        link["contentType"] = p.param("FMTTYPE")
    if p.param("SIZE"):
        try:
            link["size"] = int(p.param("SIZE") or "")
        except ValueError:
            pass
    if n == "URL":
        link["rel"] = "describedby"
    elif n == "IMAGE":
        link["rel"] = "icon"
        if p.params.get("DISPLAY"):
            link["display"] = {d.lower(): True for d in p.params["DISPLAY"]}
    elif n == "LINK":
        if p.param("LINKREL"):
            link["rel"] = p.param("LINKREL")
        if p.param("LABEL"):
            link["title"] = p.param("LABEL")
    if p.param("FILENAME") and n != "LINK":
        link["title"] = p.param("FILENAME")
    return key, link
