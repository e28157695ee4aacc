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
  A sharee of single calendars gets only events and calendars they may read
  items of, with their own per-user values.
"""

from __future__ import annotations

from typing import Any

import orjson

from jmapd.db import tuples
from jmapd.methods.standard.args import check_args
from jmapd.methods.types import is_id
from jmapd.models import Document, PerUserValue, ShareGrant
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
    """Bytes of an export blob id, or None when it is not one of ours (a
    caller with access to the whole account: owner or delegate)."""
    return _export(account_id, blob_id, None, None)


def export_blob_for_sharee(services: Any, principal: Any, account_id: str, blob_id: str) -> bytes | None:
    """An export blob for a sharee of single calendars of the account: an
    event in a calendar they may read items of, or such a calendar; each
    event as they see it (their own per-user values, none of the owner's)."""
    readable = {oid for oid, rights in tuples(ShareGrant.select(ShareGrant.object_id, ShareGrant.rights).where(
        (ShareGrant.account_id == account_id) & (ShareGrant.type_name == "Calendar")
        & ShareGrant.principal.in_(list(principal.principal_ids)))) if (rights or {}).get("mayReadItems")}
    if not readable:
        return None
    return _export(account_id, blob_id, readable, principal.user_id)


def _export(account_id: str, blob_id: str, readable: set[str] | None, viewer: int | None) -> bytes | None:
    """The export of ``blob_id``; with ``readable``, only from those calendars, as user ``viewer`` sees them."""
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
        event = {**_decode(row[1]), "id": object_id}
        if readable is not None and not readable.intersection(event.get("calendarIds") or {}):
            return None
        return to_ics([bare(e) for e in _as_seen([event], account_id, viewer)])
    if readable is not None and object_id not in readable:
        return None
    calendar = _decode(row[1])
    name = calendar.get("name")
    if viewer is not None:
        name = (peruser_calendar(account_id, viewer, object_id) or {}).get("name") or name
    events = _as_seen(events_of(account_id, object_id), account_id, viewer)
    return to_ics([bare(e) for e in events], calendar={"title": name} if name else None)


def _as_seen(events: list[dict[str, Any]], account_id: str, viewer: int | None) -> list[dict[str, Any]]:
    """The events as user ``viewer`` (not the owner) sees them; None: as stored."""
    if viewer is None:
        return events
    from . import peruser

    mine = peruser.overlays(account_id, viewer, [e["id"] for e in events])
    return [peruser.view(e, mine.get(e["id"])) for e in events]


def peruser_calendar(account_id: str, user_id: int, calendar_id: str) -> dict[str, Any] | None:
    """A user's own values of a calendar they do not own (its name, color...)."""
    data = PerUserValue.select(PerUserValue.data).where(
        (PerUserValue.account_id == account_id) & (PerUserValue.type_name == "Calendar")
        & (PerUserValue.user == user_id) & (PerUserValue.object_id == calendar_id)).scalar()
    return _decode(data) if data is not None else None
