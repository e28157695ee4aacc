"""JSCalendar 2.0 → iCalendar, per draft-ietf-calext-jscalendar-icalendar §4.

The inverse of ``ical_in``: standard properties first, then whatever the
``iCalendar`` property preserved (jCal properties and components, and the
parameters of converted properties), then JSPROP for JSCalendar properties
iCalendar has no place for (vendor properties, unknown ones).

Public API: :func:`event_lines` (one Event, its overrides as extra VEVENTs),
:func:`used_zones`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from .dates import local_to_utc, parse_duration, parse_local, parse_utc
from .ical_in import uuid5
from .icalcore import escape_text, format_dt, format_prop
from .recurrence import get_occurrence, is_occurrence
from .timezones import get_zone

IMPLIED = "X-JMAPD-IMPLIED"
_WEEKDAY = {"mo": "MO", "tu": "TU", "we": "WE", "th": "TH", "fr": "FR", "sa": "SA", "su": "SU"}
_ROLE = {"chair": "CHAIR", "optional": "OPT-PARTICIPANT", "informational": "NON-PARTICIPANT", "owner": "OWNER", "attendee": "REQ-PARTICIPANT"}  # fmt: skip
_KIND = {"individual": "INDIVIDUAL", "group": "GROUP", "resource": "RESOURCE", "location": "ROOM"}

# Event properties written as standard iCalendar; anything else goes to JSPROP.
_HANDLED = frozenset(
    {
        "@type", "uid", "updated", "created", "sequence", "method", "prodId", "title", "description",
        "descriptionContentType", "showWithoutTime", "locations", "mainLocationId", "virtualLocations",
        "links", "locale", "keywords", "categories", "color", "recurrenceId", "recurrenceIdTimeZone",
        "recurrenceRule", "recurrenceOverrides", "priority", "freeBusyStatus", "privacy",
        "organizerCalendarAddress", "participants", "alerts", "timeZone", "start", "duration",
        "endTimeZone", "status", "relatedTo", "iCalendar", "due", "estimatedDuration",
        "percentComplete", "progress",
    }
)  # fmt: skip
# JMAP-only properties never written to iCalendar.
_JMAP_ONLY = frozenset({"id", "baseEventId", "calendarIds", "isDraft", "isOrigin", "utcStart", "utcEnd", "blobId", "mayInviteSelf", "mayInviteOthers", "hideAttendees", "useDefaultAlerts"})  # fmt: skip


def _utc_text(value: str) -> str:
    return format_dt(parse_utc(value), utc=True)


class _Out:
    def __init__(self, obj: dict[str, Any]) -> None:
        raw = obj.get("iCalendar")
        ical: dict[str, Any] = raw if isinstance(raw, dict) else {}
        self.converted: dict[str, dict[str, Any]] = ical.get("convertedProperties") or {}
        self.lines: list[str] = []

    def add(
        self, name: str, value: str, params: dict[str, Any] | None = None, path: str | None = None
    ) -> None:
        merged: dict[str, Any] = {}
        if path is not None and path in self.converted:
            extra = self.converted[path].get("parameters") or {}
            merged.update({k: v for k, v in extra.items()})
            vt = self.converted[path].get("valueType")
            if vt and vt not in ("period",):
                merged.setdefault("value", vt.upper())
        merged.update(params or {})
        self.lines.append(format_prop(name, merged, value))


def _dt(local_text: str, tz: str | None, show_without_time: bool) -> tuple[str, dict[str, str]]:
    local = parse_local(local_text)
    if show_without_time and tz is None and local.time() == datetime.min.time():
        return format_dt(local, date_only=True), {"VALUE": "DATE"}
    if tz in ("Etc/UTC", "UTC", "Etc/GMT"):
        return format_dt(local, utc=True), {}
    if tz:
        return format_dt(local), {"TZID": tz}
    return format_dt(local), {}


def _jcal_line(prop: list[Any]) -> str | None:
    if not isinstance(prop, list) or len(prop) < 4:
        return None
    name, params, vtype, *values = prop
    p: dict[str, Any] = {}
    if isinstance(params, dict):
        p.update({k: v for k, v in params.items()})
    if vtype not in ("unknown", None) and vtype != _default_type(name):
        p["value"] = str(vtype).upper()
    text = ",".join(escape_text(str(v)) if vtype == "text" else str(v) for v in values)
    return format_prop(str(name), p, text)


def _default_type(name: str) -> str:
    from .ical_in import _TYPES

    return _TYPES.get(name.upper(), "unknown")


def _jcal_component(comp: list[Any], out: list[str]) -> None:
    if not isinstance(comp, list) or len(comp) < 2:
        return
    out.append(f"BEGIN:{str(comp[0]).upper()}")
    for prop in comp[1] or []:
        line = _jcal_line(prop)
        if line:
            out.append(line)
    for sub in (comp[2] if len(comp) > 2 else []) or []:
        _jcal_component(sub, out)
    out.append(f"END:{str(comp[0]).upper()}")


def _preserved(obj: dict[str, Any], out: _Out) -> None:
    ical = obj.get("iCalendar")
    if not isinstance(ical, dict):
        return
    for prop in ical.get("properties") or []:
        line = _jcal_line(prop)
        if line:
            out.lines.append(line)
    comps: list[str] = []
    for comp in ical.get("components") or []:
        _jcal_component(comp, comps)
    out.lines.extend(comps)


def _esc(k: str) -> str:
    return k.replace("~", "~0").replace("/", "~1")


def _jsprops(obj: dict[str, Any], out: _Out, handled: frozenset[str], prefix: str = "") -> None:
    for k, v in obj.items():
        if k in handled or k in _JMAP_ONLY or k == "iCalendar":
            continue
        ptr = prefix + k.replace("~", "~0").replace("/", "~1")
        out.lines.append(
            format_prop("JSPROP", {"JSPTR": ptr}, escape_text(orjson.dumps(v).decode()))
        )


def _rrule(rule: dict[str, Any], tz: str | None, all_day: bool) -> str:
    parts = [f"FREQ={str(rule.get('frequency', '')).upper()}"]
    if rule.get("interval", 1) != 1:
        parts.append(f"INTERVAL={rule['interval']}")
    if rule.get("rscale"):
        parts.insert(0, f"RSCALE={rule['rscale'].upper()}")
    if rule.get("skip"):
        parts.append(f"SKIP={rule['skip'].upper()}")
    if rule.get("firstDayOfWeek"):
        parts.append(f"WKST={_WEEKDAY[rule['firstDayOfWeek']]}")
    for key, name in (("byMonth", "BYMONTH"),):
        if rule.get(key):
            parts.append(f"{name}=" + ",".join(rule[key]))
    if rule.get("byDay"):
        parts.append(
            "BYDAY="
            + ",".join(f"{d.get('nthOfPeriod', '')}{_WEEKDAY[d['day']]}" for d in rule["byDay"])
        )
    for key, name in (("byMonthDay", "BYMONTHDAY"), ("byYearDay", "BYYEARDAY"), ("byWeekNo", "BYWEEKNO"),
                      ("byHour", "BYHOUR"), ("byMinute", "BYMINUTE"), ("bySecond", "BYSECOND"),
                      ("bySetPosition", "BYSETPOS")):  # fmt: skip
        if rule.get(key):
            parts.append(f"{name}=" + ",".join(str(x) for x in rule[key]))
    if rule.get("count") is not None:
        parts.append(f"COUNT={rule['count']}")
    if rule.get("until"):
        until = parse_local(rule["until"])
        if all_day and tz is None:
            parts.append(f"UNTIL={format_dt(until, date_only=True)}")
        elif tz:
            parts.append(f"UNTIL={format_dt(local_to_utc(until, get_zone(tz)), utc=True)}")
        else:
            parts.append(f"UNTIL={format_dt(until)}")
    return ";".join(parts)


def _participant_lines(ev: dict[str, Any], out: _Out, comps: list[str]) -> None:
    org = ev.get("organizerCalendarAddress")
    parts: dict[str, dict[str, Any]] = ev.get("participants") or {}
    org_part = None
    for pid, p in parts.items():
        if isinstance(p, dict) and org and p.get("calendarAddress") == org:
            org_part = (pid, p)
    if org:
        params: dict[str, Any] = {}
        if org_part and org_part[1].get("name"):
            params["CN"] = org_part[1]["name"]
        if org_part and org_part[1].get("sentBy"):
            params["SENT-BY"] = org_part[1]["sentBy"]
        if org_part and org_part[0] != uuid5(org):
            params["JSID"] = org_part[0]
        out.add("ORGANIZER", org, params, "organizerCalendarAddress")
    for pid, p in parts.items():
        if not isinstance(p, dict):
            continue
        addr = p.get("calendarAddress")
        roles = dict(p.get("roles") or {})
        is_org_only = (
            org_part is not None and pid == org_part[0] and set(roles) <= {"owner"}
            and "participationStatus" not in p and "expectReply" not in p
        )  # fmt: skip
        pical = p.get("iCalendar") if isinstance(p.get("iCalendar"), dict) else None
        needs_comp = pical is not None or "description" in p or not addr
        from_component = bool(
            pical and "calendarAddress" in (pical.get("convertedProperties") or {})
        )
        if addr and not is_org_only and not from_component:
            params = {}
            if p.get("name"):
                params["CN"] = p["name"]
            if org_part is not None and pid == org_part[0]:
                roles.pop("owner", None)
            ical_roles = [_ROLE[r] for r in roles if r in _ROLE and r != "attendee"]
            if ical_roles:
                params["ROLE"] = ical_roles
            ps = p.get("participationStatus")
            if ps:
                params["PARTSTAT"] = ps.upper()
            if p.get("progress") in ("completed", "in-process"):
                params["PARTSTAT"] = p["progress"].upper()
            if p.get("expectReply"):
                params["RSVP"] = "TRUE"
            if p.get("kind") in _KIND and p["kind"] != "individual":
                params["CUTYPE"] = _KIND[p["kind"]]
            for key, name in (("delegatedTo", "DELEGATED-TO"), ("delegatedFrom", "DELEGATED-FROM")):
                if p.get(key):
                    params[name] = list(p[key])
            if p.get("memberOf"):
                members = [
                    parts[m]["calendarAddress"]
                    for m in p["memberOf"]
                    if m in parts and parts[m].get("calendarAddress")
                ]
                if members:
                    params["MEMBER"] = members
            if p.get("sentBy"):
                params["SENT-BY"] = p["sentBy"]
            if p.get("email"):
                params["EMAIL"] = p["email"]
            if pid != uuid5(addr):
                params["JSID"] = pid
            out.add("ATTENDEE", addr, params, f"participants/{pid}")
        if needs_comp and not (is_org_only and pical is None and "description" not in p):
            sub = _Out(p)
            if pid != (uuid5(addr) if addr else None):
                sub.lines.append(format_prop("JSID", None, escape_text(pid)))
            if addr:
                sub.add("CALENDAR-ADDRESS", addr, None, "calendarAddress")
            if p.get("name") and not addr:
                sub.lines.append(format_prop("SUMMARY", None, escape_text(p["name"])))
            if p.get("description"):
                sub.lines.append(format_prop("DESCRIPTION", None, escape_text(p["description"])))
            _preserved(p, sub)
            _jsprops(p, sub, frozenset({"@type", "name", "email", "description", "descriptionContentType", "calendarAddress", "kind", "roles", "participationStatus", "expectReply", "sentBy", "delegatedTo", "delegatedFrom", "memberOf", "links", "progress"}))  # fmt: skip
            comps.append("BEGIN:PARTICIPANT")
            comps.extend(sub.lines)
            comps.append("END:PARTICIPANT")


def _alert_lines(ev: dict[str, Any], comps: list[str]) -> None:
    alerts = ev.get("alerts") or {}
    uid_of: dict[str, str] = {}
    for aid, a in alerts.items():
        for prop in (
            ((a.get("iCalendar") or {}).get("properties") or []) if isinstance(a, dict) else []
        ):
            if isinstance(prop, list) and prop and prop[0] == "uid" and len(prop) > 3:
                uid_of[aid] = str(prop[3])
    for aid, a in alerts.items():
        if not isinstance(a, dict):
            continue
        sub = _Out(a)
        preserved_names = {
            p[0]
            for p in ((a.get("iCalendar") or {}).get("properties") or [])
            if isinstance(p, list) and p
        }
        if aid not in uid_of or uid_of[aid] != aid:
            # The key is kept with the draft's JSID property; a UID is only
            # written when the alarm came with one (preserved as a property).
            sub.lines.append(format_prop("JSID", None, escape_text(aid)))
        trig = a.get("trigger") or {}
        if trig.get("@type") == "AbsoluteTrigger" and trig.get("when"):
            sub.add("TRIGGER", _utc_text(trig["when"]), {"VALUE": "DATE-TIME"}, "trigger")
        elif "offset" in trig:
            params = {"RELATED": "END"} if trig.get("relativeTo") == "end" else {}
            sub.add("TRIGGER", str(trig["offset"]).lstrip("+"), params, "trigger")
        if "action" not in preserved_names:
            # RFC 5545 requires ACTION (and DESCRIPTION for DISPLAY); what
            # JSCalendar left implicit is marked so that import drops it again.
            implied = {IMPLIED: "TRUE"}
            sub.lines.append(
                format_prop(
                    "ACTION",
                    None if "action" in a else implied,
                    str(a.get("action", "display")).upper(),
                )
            )
            if "description" not in preserved_names and a.get("action", "display") == "display":
                sub.lines.append(
                    format_prop("DESCRIPTION", implied, escape_text(ev.get("title") or "Reminder"))
                )
        if a.get("acknowledged"):
            sub.lines.append(format_prop("ACKNOWLEDGED", None, _utc_text(a["acknowledged"])))
        for target, rel in (a.get("relatedTo") or {}).items():
            if isinstance(rel, dict) and (rel.get("relation") or {}).get("snooze"):
                sub.lines.append(
                    format_prop(
                        "RELATED-TO", {"RELTYPE": "SNOOZE"}, escape_text(uid_of.get(target, target))
                    )
                )
        _preserved(a, sub)
        _jsprops(a, sub, frozenset({"@type", "trigger", "acknowledged", "relatedTo", "action"}))
        comps.append("BEGIN:VALARM")
        comps.extend(sub.lines)
        comps.append("END:VALARM")


def _location_lines(ev: dict[str, Any], out: _Out, comps: list[str]) -> None:
    main = ev.get("mainLocationId")
    for lid, loc in (ev.get("locations") or {}).items():
        if not isinstance(loc, dict):
            continue
        simple = set(loc) <= {"@type", "name", "coordinates"} and "iCalendar" not in loc
        name = loc.get("name")
        coords = loc.get("coordinates")
        geo_ok = coords is None or (str(coords).startswith("geo:") and ";" not in str(coords))
        if (
            simple
            and geo_ok
            and (name is not None or f"locations/{lid}/coordinates" in out.converted)
        ):
            jsid = {"JSID": lid} if name is None or lid != uuid5(escape_text(name)) else None
            if name is not None:
                out.add("LOCATION", escape_text(name), jsid, f"locations/{lid}/name")
            if coords:
                lat, _, lon = str(coords)[4:].partition(",")
                out.add("GEO", f"{lat};{lon}", jsid, f"locations/{lid}/coordinates")
            continue
        sub = _Out(loc)
        preserved_uid = any(
            isinstance(p, list) and p and p[0] == "uid"
            for p in ((loc.get("iCalendar") or {}).get("properties") or [])
        )
        if not preserved_uid:
            sub.lines.append(format_prop("JSID", None, escape_text(lid)))
        if name is not None:
            sub.add("NAME", escape_text(name), None, "name")
        if loc.get("description"):
            sub.lines.append(format_prop("DESCRIPTION", None, escape_text(loc["description"])))
        if loc.get("locationTypes"):
            sub.lines.append(
                format_prop(
                    "LOCATION-TYPE", None, ",".join(escape_text(t) for t in loc["locationTypes"])
                )
            )
        if coords:
            if "coordinates" in sub.converted and sub.converted["coordinates"].get("name") == "geo":
                lat, _, lon = str(coords)[4:].split(";")[0].partition(",")
                sub.lines.append(format_prop("GEO", None, f"{lat};{lon}"))
            else:
                sub.lines.append(format_prop("COORDINATES", {"VALUE": "URI"}, str(coords)))
        _preserved(loc, sub)
        _jsprops(
            loc,
            sub,
            frozenset({"@type", "name", "description", "locationTypes", "coordinates", "links"}),
        )
        comps.append("BEGIN:VLOCATION")
        comps.extend(sub.lines)
        comps.append("END:VLOCATION")
        if lid == main and name:
            out.add("LOCATION", escape_text(name), {"DERIVED": "TRUE"}, "mainLocationId")


def _link_lines(ev: dict[str, Any], out: _Out) -> None:
    for lid, link in (ev.get("links") or {}).items():
        if not isinstance(link, dict) or not link.get("href"):
            continue
        href = str(link["href"])
        rel = link.get("rel")
        params: dict[str, Any] = {}
        name = "ATTACH"
        value = href
        if rel == "describedby" and set(link) <= {"@type", "href", "rel"}:
            name = "URL"
        elif rel == "icon":
            name = "IMAGE"
            params["VALUE"] = "URI"
            if link.get("display"):
                params["DISPLAY"] = [d.upper() for d in link["display"]]
        elif rel:
            name = "LINK"
            params["VALUE"] = "URI"
            params["LINKREL"] = rel
            if link.get("title"):
                params["LABEL"] = link["title"]
        if name == "ATTACH" and href.startswith("data:") and ";base64," in href:
            head, _, data = href.partition(";base64,")
            params.update({"ENCODING": "BASE64", "VALUE": "BINARY"})
            value = data
            if link.get("contentType") or head[5:]:
                params["FMTTYPE"] = link.get("contentType") or head[5:]
        elif link.get("contentType"):
            params["FMTTYPE"] = link["contentType"]
        if link.get("size") is not None:
            params["SIZE"] = str(link["size"])
        if link.get("title") and name != "LINK":
            params["FILENAME"] = link["title"]
        if lid != uuid5(value):
            params["JSID"] = lid
        out.add(name, value, params, f"links/{lid}")
        _jsprops(
            link,
            out,
            frozenset({"@type", "href", "rel", "display", "contentType", "size", "title"}),
            f"links/{_esc(lid)}/",
        )


def _component_lines(ev: dict[str, Any], *, override_of: dict[str, Any] | None = None) -> list[str]:
    is_task = ev.get("@type") == "Task"
    out = _Out(ev)
    comps: list[str] = []
    tz = ev.get("timeZone")
    swt = bool(ev.get("showWithoutTime"))
    if ev.get("uid"):
        out.lines.append(format_prop("UID", None, escape_text(ev["uid"])))
    stamp = ev.get("updated") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if "updated" in out.converted:
        out.add("LAST-MODIFIED", _utc_text(stamp), None, "updated")
    else:
        out.lines.append(format_prop("DTSTAMP", None, _utc_text(stamp)))
    if ev.get("created"):
        out.lines.append(format_prop("CREATED", None, _utc_text(ev["created"])))
    if isinstance(ev.get("sequence"), int):
        out.lines.append(format_prop("SEQUENCE", None, str(ev["sequence"])))
    if ev.get("recurrenceId"):
        rid_tz = ev.get("recurrenceIdTimeZone") or (override_of or {}).get("timeZone")
        value, params = _dt(ev["recurrenceId"], rid_tz, swt)
        out.add("RECURRENCE-ID", value, params, "recurrenceId")
    if ev.get("start"):
        value, params = _dt(ev["start"], tz, swt)
        out.add("DTSTART", value, params, "start")
        if swt and "VALUE" not in params:
            out.lines.append(format_prop("SHOW-WITHOUT-TIME", {"VALUE": "BOOLEAN"}, "TRUE"))
    if ev.get("due"):
        value, params = _dt(ev["due"], tz, swt)
        out.lines.append(format_prop("DUE", params, value))
    dur = ev.get("duration")
    if dur and not is_task:
        d, s = parse_duration(dur)
        if ev.get("endTimeZone") or "duration" in out.converted:
            start = parse_local(ev["start"])
            zone = get_zone(tz) if tz else None
            end_tz = ev.get("endTimeZone") or tz
            end_utc = local_to_utc(start + timedelta(days=d), zone) + timedelta(seconds=s)
            if swt and tz is None and s == 0:
                out.add(
                    "DTEND",
                    format_dt(start + timedelta(days=d), date_only=True),
                    {"VALUE": "DATE"},
                    "duration",
                )
            elif end_tz in ("Etc/UTC", "UTC"):
                out.add("DTEND", format_dt(end_utc, utc=True), None, "duration")
            elif end_tz:
                end_local = end_utc.astimezone(get_zone(end_tz) or UTC).replace(tzinfo=None)
                out.add("DTEND", format_dt(end_local), {"TZID": end_tz}, "duration")
            else:
                out.add("DTEND", format_dt(start + timedelta(days=d, seconds=s)), None, "duration")
        else:
            out.lines.append(format_prop("DURATION", None, dur))
    if ev.get("estimatedDuration"):
        out.lines.append(
            format_prop(
                "ESTIMATED-DURATION" if ev.get("duration") or not is_task else "DURATION",
                None,
                ev["estimatedDuration"],
            )
        )
    if ev.get("title") is not None and ev.get("title") != "" or "title" in out.converted:
        lang = {"LANGUAGE": ev["locale"]} if ev.get("locale") else None
        out.add("SUMMARY", escape_text(ev.get("title") or ""), lang, "title")
    if ev.get("description"):
        ctype = ev.get("descriptionContentType") or "text/plain"
        if ctype.split(";")[0].strip().lower() != "text/plain":
            out.add(
                "STYLED-DESCRIPTION",
                escape_text(ev["description"]),
                {"VALUE": "TEXT", "FMTTYPE": ctype},
                "description",
            )
        else:
            out.add("DESCRIPTION", escape_text(ev["description"]), None, "description")
    rule = ev.get("recurrenceRule")
    if isinstance(rule, dict):
        out.lines.append(format_prop("RRULE", None, _rrule(rule, tz, swt)))
    for rid, patch in (ev.get("recurrenceOverrides") or {}).items():
        value, params = _dt(rid, tz, swt)
        if isinstance(patch, dict) and patch.get("excluded") is True:
            out.lines.append(format_prop("EXDATE", params, value))
        elif not isinstance(rule, dict) or not is_occurrence(
            {k: v for k, v in ev.items() if k != "recurrenceOverrides"}, rid
        ):
            path = f"recurrenceOverrides/{rid}"
            if (
                path in out.converted
                and out.converted[path].get("valueType") == "period"
                and isinstance(patch, dict)
            ):
                pdur = patch.get("duration") or ev.get("duration") or "PT0S"
                out.add("RDATE", f"{value}/{pdur}", {**params, "VALUE": "PERIOD"}, path)
            else:
                out.add("RDATE", value, params, path)
    for key, name in (("keywords", "CATEGORIES"),):
        if ev.get(key):
            out.lines.append(format_prop(name, None, ",".join(escape_text(k) for k in ev[key])))
    for cat in ev.get("categories") or {}:
        out.lines.append(format_prop("CONCEPT", None, cat))
    if ev.get("privacy") in ("private", "secret", "public"):
        out.lines.append(
            format_prop(
                "CLASS",
                None,
                {"public": "PUBLIC", "private": "PRIVATE", "secret": "CONFIDENTIAL"}[ev["privacy"]],
            )
        )
    if ev.get("freeBusyStatus") in ("free", "busy"):
        out.lines.append(
            format_prop(
                "TRANSP", None, "TRANSPARENT" if ev["freeBusyStatus"] == "free" else "OPAQUE"
            )
        )
    if ev.get("status") and not is_task:
        out.lines.append(format_prop("STATUS", None, str(ev["status"]).upper()))
    if ev.get("progress") and is_task:
        out.lines.append(format_prop("STATUS", None, str(ev["progress"]).upper()))
    if ev.get("percentComplete") is not None and is_task:
        out.lines.append(format_prop("PERCENT-COMPLETE", None, str(ev["percentComplete"])))
    if ev.get("priority"):
        out.lines.append(format_prop("PRIORITY", None, str(ev["priority"])))
    if ev.get("color"):
        out.lines.append(format_prop("COLOR", None, ev["color"]))
    for target, rel in (ev.get("relatedTo") or {}).items():
        types = (
            [k.upper() for k in ((rel or {}).get("relation") or {})]
            if isinstance(rel, dict)
            else []
        )
        out.lines.append(
            format_prop("RELATED-TO", {"RELTYPE": types} if types else None, escape_text(target))
        )
    _location_lines(ev, out, comps)
    for vid, vl in (ev.get("virtualLocations") or {}).items():
        if isinstance(vl, dict) and vl.get("uri"):
            conf: dict[str, Any] = {"VALUE": "URI"}
            if vl.get("name"):
                conf["LABEL"] = vl["name"]
            if vl.get("features"):
                conf["FEATURE"] = [f.upper() for f in vl["features"]]
            if vid != uuid5(vl["uri"]):
                conf["JSID"] = vid
            out.add("CONFERENCE", vl["uri"], conf, f"virtualLocations/{vid}")
    _link_lines(ev, out)
    _participant_lines(ev, out, comps)
    _alert_lines(ev, comps)
    _preserved(ev, out)
    _jsprops(ev, out, _HANDLED)
    name = "VTODO" if is_task else "VEVENT"
    return [f"BEGIN:{name}", *out.lines, *comps, f"END:{name}"]


def event_lines(ev: dict[str, Any]) -> list[str]:
    """The VEVENT(s) of one Event: the master, then one per overridden occurrence."""
    lines = _component_lines(ev)
    converted = (
        ((ev.get("iCalendar") or {}).get("convertedProperties") or {})
        if isinstance(ev.get("iCalendar"), dict)
        else {}
    )
    for rid, patch in (ev.get("recurrenceOverrides") or {}).items():
        if not isinstance(patch, dict) or patch.get("excluded") is True or not patch:
            continue
        period = (converted.get(f"recurrenceOverrides/{rid}") or {}).get("valueType") == "period"
        if period and set(patch) <= {"duration"}:
            continue  # the RDATE;VALUE=PERIOD says it all
        inst = get_occurrence(ev, rid)
        if inst is None:
            continue
        lines.extend(_component_lines(inst, override_of=ev))
    return lines


def used_zones(ev: dict[str, Any]) -> set[str]:
    """IANA ids the VEVENTs of ``ev`` reference with TZID (UTC needs no VTIMEZONE)."""
    zones = set()
    for key in ("timeZone", "endTimeZone", "recurrenceIdTimeZone"):
        if ev.get(key) and ev[key] not in ("Etc/UTC", "UTC", "Etc/GMT"):
            zones.add(ev[key])
    for patch in (ev.get("recurrenceOverrides") or {}).values():
        if isinstance(patch, dict):
            for key in ("timeZone", "endTimeZone"):
                if isinstance(patch.get(key), str) and patch[key] not in ("Etc/UTC", "UTC"):
                    zones.add(patch[key])
    return zones
