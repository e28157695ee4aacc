"""iCalendar in and out of the JMAP API (through :mod:`.domain.ical`,
which follows draft-ietf-calext-jscalendar-icalendar).

* ``CalendarEvent/parse`` (draft §5.10, capability
  ``urn:ietf:params:jmap:calendars:parse``): ``blobIds`` of uploaded .ics
  files in; ``parsed`` (blobId → the events of that file, the JMAP
  metadata properties null), ``notParsable`` and ``notFound`` out.
  Nothing is stored.
* Export: derived blob ids the download URL serves as ``text/calendar``
  (the client names the type in the URL): ``I`` + an event id is that
  event (its overrides as RECURRENCE-ID components), ``I`` + a calendar id
  every event in the calendar, one VCALENDAR with a VTIMEZONE per zone used.
"""

from __future__ import annotations

from typing import Any

import orjson

from jmapd.db import tuples
from jmapd.methods.standard.args import check_args
from jmapd.methods.types import is_id
from jmapd.models import Document
from jmapd.protocol.errors import MethodError

PARSE = "urn:ietf:params:jmap:calendars:parse"
EXPORT_PREFIX = "I"
#: JMAP members of a CalendarEvent that are not JSCalendar (draft §5) and
#: must be null in a parsed event, absent from an exported one.
JMAP_MEMBERS = ("id", "baseEventId", "calendarIds", "isDraft", "isOrigin")


def decode_text(raw: bytes) -> str:
    """iCalendar is UTF-8 (RFC 5545 §3.1.4); some exporters still write cp1252."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def calendar_event_parse(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    from .domain.ical import parse_ics
    from .domain.validate import normalize_event

    args = check_args(args, {"accountId": ("Id", True), "blobIds": ("Id[]", True), "properties": ("String[]", False)}, {})
    account = ctx.account(args["accountId"], PARSE)
    event_type = ctx.services.registry.data_types["CalendarEvent"]
    props = args.get("properties")
    if props is not None:
        bad = [p for p in props if event_type.property(p) is None]
        if bad:
            raise MethodError("invalidArguments", f"unknown property {bad[0]!r}")
    if len(args["blobIds"]) > ctx.config.limits.max_objects_in_get:
        raise MethodError("requestTooLarge", f"at most {ctx.config.limits.max_objects_in_get} blobs per call")
    parsed: dict[str, Any] = {}
    not_found: list[str] = []
    not_parsable: list[str] = []
    for blob_id in dict.fromkeys(args["blobIds"]):
        raw = ctx.services.blobs.get(account.id, ctx.resolve_id(blob_id))
        if raw is None:
            not_found.append(blob_id)
            continue
        result = parse_ics(decode_text(raw))
        if not result.events:
            not_parsable.append(blob_id)
            continue
        events = []
        for event in result.events:
            try:
                event = normalize_event(event)
            except ValueError:
                pass
            full = {**dict.fromkeys(JMAP_MEMBERS), **event}
            events.append(full if props is None else {p: full.get(p) for p in props})
        parsed[blob_id] = events
    return {"accountId": account.id, "parsed": parsed or None, "notFound": not_found or None,
            "notParsable": not_parsable or None}


def _decode(data: Any) -> dict[str, Any]:
    return orjson.loads(data) if isinstance(data, (str, bytes)) else dict(data)


def bare(event: dict[str, Any]) -> dict[str, Any]:
    """The JSCalendar event without the JMAP members."""
    return {k: v for k, v in event.items() if k not in JMAP_MEMBERS}


def events_of(account_id: str, calendar_id: str | None = None) -> list[dict[str, Any]]:
    """Every event of the account (or of one calendar), with its id."""
    out = []
    query = Document.select(Document.object_id, Document.data).where(
        (Document.account_id == account_id) & (Document.type_name == "CalendarEvent"))
    for object_id, data in tuples(query.order_by(Document.id)):
        event = _decode(data)
        if calendar_id is None or calendar_id in (event.get("calendarIds") or {}):
            out.append({**event, "id": object_id})
    return out


def export_blob(services: Any, account_id: str, blob_id: str) -> bytes | None:
    """Bytes of an export blob id, or None when it is not one of ours."""
    from .domain.ical import to_ics

    if not blob_id.startswith(EXPORT_PREFIX) or not is_id(blob_id[1:]):
        return None
    object_id = blob_id[1:]
    row = (Document.select(Document.type_name, Document.data)
           .where((Document.account_id == account_id) & (Document.object_id == object_id)
                  & Document.type_name.in_(["CalendarEvent", "Calendar"])).tuples().first())
    if row is None:
        return None
    if row[0] == "CalendarEvent":
        return to_ics([bare(_decode(row[1]))])
    calendar = _decode(row[1])
    return to_ics([bare(e) for e in events_of(account_id, object_id)],
                  calendar={"title": calendar.get("name")} if calendar.get("name") else None)
