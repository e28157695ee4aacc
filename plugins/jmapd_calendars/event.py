"""CalendarEvent (draft §5), first slice: /get, /changes, /set of whole
JSCalendar 2.0 events stored as documents.

Every property the JSCalendar validator accepts is storable, so the
engine is told any name is a property (:meth:`CalendarEvent.property`)
and the domain validator judges the whole event, reporting every bad
path. RFC 8984 names are rewritten to 2.0 ones before storage. Rights
come from the calendars the event is in (draft §4: read with
mayReadItems on any, write as :mod:`.rights` says).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from jmapd.db import tuples
from jmapd.methods.collation import sort_key
from jmapd.methods.documents import DocumentType
from jmapd.methods.types import P, Prop
from jmapd.models import Document
from jmapd.protocol.errors import MethodError, PropertyProblems, SetError, invalid_properties
from jmapd.sharing import access
from jmapd.state import UPDATED

from . import peruser
from .calendar import CALENDARS
from .callcache import once, one_call
from .domain.validate import EVENT_SCHEMA, LimitExceeded, Limits, normalize_event, validate_event
from .event_query import FILTERS, PREDICATES, is_local_datetime, overlaps, resolve_window, start_key
from .events import calendar_tags
from .expand import check_expand, expanded_ids
from .identity import (
    ensure_identity,
    identities,
    normalize_address,
    own_addresses,
    user_addresses,
    user_identities,
)
from .index import Candidate, documents, drop_event, index_event, window_candidates, window_of
from .instances import map_response, occurrences, rewrite_set, split_id
from .notifications import notify
from .notifications import targets as notification_targets
from .parsed import Parsed, fresh, parsed
from .rights import check_write
from .scheduling import Outbox, flush
from .views import UTC_TIMES, apply_utc_times

_ANY = P("Any", nullable=True)
#: The mapping draft's property for iCalendar elements JSCalendar cannot
#: express; stored and exported, returned only when asked for (draft §5.1).
ICALENDAR = "iCalendar"
#: JMAP-level Booleans whose absence means false (draft §5.1, §11.4).
FALSE_BY_DEFAULT = ("useDefaultAlerts", "mayInviteSelf", "mayInviteOthers", "hideAttendees")
#: RFC 8984 names normalize_event rewrites (left as they are, they are reported invalid).
RFC8984_NAMES = frozenset({"recurrenceRules", "excludedRecurrenceRules", "replyTo"})


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CalendarEvent(DocumentType):
    name = "CalendarEvent"
    capability = CALENDARS
    id_prefix = "e"
    # /set is the plugin's own method (instances.rewrite_set, then the standard /set).
    verbs = ("get", "changes", "copy", "query", "queryChanges")
    filters = FILTERS
    predicates = PREDICATES
    sorts = frozenset({"start", "uid", "recurrenceId", "created", "updated"})
    query_arguments = {"timeZone": "Etc/UTC", "expandRecurrences": False}
    set_arguments = {"sendSchedulingMessages": False}
    get_arguments = {"recurrenceOverridesBefore": None, "recurrenceOverridesAfter": None,
                     "reduceParticipants": False, "timeZone": "Etc/UTC"}
    properties = {
        "calendarIds": P("Id[Boolean]", required=True, ref="idmap"),
        "isDraft": P("Boolean", default=False),
        "isOrigin": P("Boolean", server_set=True),
        "baseEventId": P("Id", nullable=True, server_set=True, immutable=True),
        # JSCalendar's own "created" (optional, client-settable): the server fills it in when absent.
        "created": P("UTCDate", nullable=True),
        "uid": P("String", immutable=True),
        "updated": P("UTCDate", nullable=True),
        # draft §5.1.1/§5.1.2 and the registry entries of §11.4; absent reads as false
        "useDefaultAlerts": P("Boolean", nullable=True),
        "mayInviteSelf": P("Boolean", nullable=True),
        "mayInviteOthers": P("Boolean", nullable=True),
        "hideAttendees": P("Boolean", nullable=True),
    }
    quota_resources = frozenset({"count", "octets"})
    #: NOTE(bulk): a new event's document and range row go in with the
    #: other creations of its /set, many rows per statement (an .ics import
    #: creates 200 a call); see :meth:`create_needs_savepoint`.
    defer_inserts = True

    def property(self, name: str) -> Prop | None:
        found = self.properties.get(name)
        if found is not None:
            return found
        # JSCalendar 2.0 registered names, or vendor names ("example.com:foo").
        if (name in EVENT_SCHEMA or name in RFC8984_NAMES or name in (ICALENDAR, "@type", *UTC_TIMES)
                or (":" in name and not name.startswith(":"))):
            return _ANY
        return None

    def default_properties(self) -> list[str]:
        """JSCalendar 2.0's Event properties and the stored JMAP ones (each
        event's vendor properties are added by :meth:`present`)."""
        return [p for p in dict.fromkeys([*self.properties, *EVENT_SCHEMA]) if p != ICALENDAR and p not in UTC_TIMES]

    def present(self, obj: dict[str, Any], props: list[str], requested: bool) -> dict[str, Any]:
        """``properties: null`` also lists the event's own vendor properties
        (``example.com:foo``): JSCalendar 2.0 has them preserved (its vendor-specific
        properties), and a
        client that rewrites what it read would drop what it was not shown."""
        out = {p: obj.get(p) for p in props}
        if not requested:
            out.update((k, v) for k, v in obj.items() if ":" in k and not k.startswith(":") and k not in out)
        return out

    #: Set by :func:`calendar_event_set` for the one call this instance serves.
    send_scheduling = False
    outbox: Outbox | None = None
    #: (ctx, account id) of that call, for :meth:`create_needs_savepoint`.
    serving: tuple[Any, str] | None = None

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        #: Server-set values validate() chose, reported by insert/replace (by object id).
        self._reported: dict[Any, dict[str, Any]] = {}

    def prologue(self, ctx: Any, verb: str, account_id: str, args: dict[str, Any]) -> None:
        """The account's participant identities exist before /set decides
        whether it is the origin of an event."""
        if verb == "set":
            ensure_identity(ctx, account_id)

    def check_set_args(self, ctx: Any, args: dict[str, Any]) -> None:
        if not isinstance(args.get("sendSchedulingMessages"), bool):
            raise MethodError("invalidArguments", "sendSchedulingMessages: expected Boolean")

    def check_get_args(self, ctx: Any, args: dict[str, Any]) -> None:
        """Draft §5.7's extra /get arguments; utcStart/utcEnd exclude recurrenceOverrides."""
        from jmapd.protocol.errors import MethodError

        from .domain.dates import UTC_RE
        from .domain.timezones import is_known_zone

        for name in ("recurrenceOverridesBefore", "recurrenceOverridesAfter"):
            value = args.get(name)
            if value is not None and not (isinstance(value, str) and UTC_RE.match(value)):
                raise MethodError("invalidArguments", f"{name}: expected a UTCDateTime or null")
        if not isinstance(args.get("reduceParticipants"), bool):
            raise MethodError("invalidArguments", "reduceParticipants: expected Boolean")
        if not is_known_zone(args.get("timeZone")):
            raise MethodError("invalidArguments", f"unknown timeZone {args.get('timeZone')!r}")
        props = args.get("properties") or []
        if "recurrenceOverrides" in props and any(p in props for p in UTC_TIMES):
            raise MethodError("invalidArguments", "utcStart/utcEnd cannot be requested with recurrenceOverrides")

    def load(self, ctx: Any, account_id: str, ids: Any, properties: Any, args: Any) -> dict[str, Any]:
        getting = bool(args) and "timeZone" in args and "reduceParticipants" in args
        found = self._load(ctx, account_id, ids, properties, args, serialized=getting)
        if getting:  # a /get, not the engine reading for /set
            from .views import shape

            own = own_addresses(account_id) if args.get("reduceParticipants") else set()
            for obj in found.values():
                for name in FALSE_BY_DEFAULT:
                    if obj.get(name) is None:
                        obj[name] = False
                shape(obj, properties, args, own)
        return found

    def _load(self, ctx: Any, account_id: str, ids: Any, properties: Any, args: Any, *,
              serialized: bool = False) -> dict[str, Any]:
        split = {i: split_id(i) for i in ids or []}
        synthetic = {i: parts for i, parts in split.items() if parts is not None}
        if synthetic:
            ids = list(dict.fromkeys([i for i in ids if i not in synthetic] + [b for b, _ in synthetic.values()]))
        if synthetic and access(ctx, account_id).is_owner:
            return self._load_instances(ctx, account_id, ids, synthetic, serialized)
        found = self.readable(ctx, account_id, super().load(ctx, account_id, ids, properties, args))
        if not access(ctx, account_id).is_owner:
            mine = peruser.overlays(account_id, ctx.principal.user_id, list(found))
            found = {k: {**peruser.view(v, mine.get(k)), "id": k} for k, v in found.items()}
        by_base: dict[str, dict[str, str]] = {}
        for sid, (base_id, rid) in synthetic.items():
            by_base.setdefault(base_id, {})[sid] = rid
        for base_id, wanted in by_base.items():
            base = found.get(base_id)
            if base is not None:
                found.update(occurrences(base, wanted))
        return found

    def _load_instances(self, ctx: Any, account_id: str, ids: list[str],
                        synthetic: dict[str, tuple[str, str]], serialized: bool = False) -> dict[str, Any]:
        """The owner's /get with instance ids: the stored text of each event
        read in one statement, base events through the worker's parsed
        series (:mod:`.parsed`: the occurrences a query just expanded are
        not looked up again), the plain ids decoded afresh for the caller.

        ``serialized`` (a /get, whose objects are only shaped at their top
        level and written out): an occurrence without an override shares
        the cached event's nested values instead of a deep copy each — at a
        month's 800 instances, a fifth of the /get's time."""
        raw = documents(account_id, ids)
        plain = {i for i in ids if i not in synthetic}
        found: dict[str, Any] = {}
        for object_id in plain & raw.keys():
            obj = self.decode(raw[object_id])
            obj["id"] = object_id
            found[object_id] = self.computed(ctx, account_id, obj)
        by_base: dict[str, dict[str, str]] = {}
        for sid, (base_id, rid) in synthetic.items():
            by_base.setdefault(base_id, {})[sid] = rid
        for base_id, wanted in by_base.items():
            if base_id in raw:
                entry = parsed(base_id, raw[base_id])
                found.update(occurrences(entry.event, wanted, entry, shared=serialized))
        return found

    def readable(self, ctx: Any, account_id: str, found: dict[str, Any]) -> dict[str, Any]:
        """Only events in a calendar the user may read items of (draft §4)."""
        readable = access(ctx, account_id).with_right("Calendar", "mayReadItems")
        if readable is None:
            return found
        return {k: v for k, v in found.items() if any(c in readable for c in v.get("calendarIds") or {})}

    def visible_changes(self, ctx: Any, account_id: str, since: int, changes: Any) -> tuple[list[str], list[str], list[str]]:
        from .events import visible_changes

        return visible_changes(ctx, account_id, since, changes)

    def in_window(self, ctx: Any, account_id: str, node: Any) -> list[Parsed]:
        """The readable events a query can match: with an after/before
        window, only those the range index says can reach it (parsed
        through the worker's cache: read them, never change them)."""
        after, before = window_of(node)
        if after is None and before is None:
            return [fresh(e) for e in self.load(ctx, account_id, None, self.default_properties(), {}).values()]
        found = {c.object_id: parsed(c.object_id, c.data) for c in window_candidates(account_id, after, before, lean=False)}
        readable = self.readable(ctx, account_id, {k: p.event for k, p in found.items()})
        return [p for k, p in found.items() if k in readable]

    def _lean(self, ctx: Any, account_id: str, node: Any, sort: list[dict[str, Any]], expanding: bool) -> bool:
        """Whether exact index rows can stand for their events: a window and
        nothing else to match, sorted by start (or recurrenceId, which a
        non-recurring event lacks, when expanding), and every event readable."""
        if not isinstance(node, dict) or "operator" in node or not node or set(node) - {"after", "before"}:
            return False
        sortable = {"start", "recurrenceId"} if expanding else {"start"}
        if any(c["property"] not in sortable for c in sort):
            return False
        return access(ctx, account_id).with_right("Calendar", "mayReadItems") is None

    def _matches(self, entry: Parsed, node: Any) -> bool:
        """:meth:`matches` of a parsed event, its series reused for after+before."""
        if isinstance(node, dict) and "operator" not in node and "after" in node and "before" in node:
            if not overlaps(entry.event, node["after"], node["before"], entry.series):
                return False
            return all(self.predicates[name](entry.event, value) for name, value in node.items()
                       if name not in ("after", "before"))
        return self.matches(entry.event, node)

    def matches(self, obj: dict[str, Any], node: Any) -> bool:
        """A condition with both after and before parses the event once for the two."""
        if isinstance(node, dict) and "operator" not in node and "after" in node and "before" in node:
            if not overlaps(obj, node["after"], node["before"]):
                return False
            return all(self.predicates[name](obj, value) for name, value in node.items()
                       if name not in ("after", "before"))
        return super().matches(obj, node)

    def validate(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        try:
            self._validate(ctx, account_id, obj, old)
        except BaseException:
            # what it meant to report goes with the refused object, not to a later update of the id
            self._reported.pop(obj.get("id"), None)
            raise

    def _validate(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        section = ctx.config.section("calendars")
        event = {k: v for k, v in obj.items() if k != "id"}
        reported = apply_utc_times(event, old, lambda: _calendar_zones(account_id, obj.get("calendarIds")))
        if reported:
            self._reported.setdefault(obj.get("id"), {}).update(reported)
        try:
            event = normalize_event(event, Limits(max_participants=section.max_participants_per_event))
        except LimitExceeded as exc:
            raise SetError("tooLarge", str(exc), properties=[exc.path] if exc.path else []) from None
        problems = PropertyProblems()  # every invalid property, then one refusal (RFC 8620 §5.3)
        bad = validate_event(event, nullable_top_level=True)
        for path in bad:
            problems.add(path, "invalid JSCalendar")
        if not bad:  # the range of a malformed event means nothing
            try:
                _check_range(event, section)
            except SetError as exc:
                problems.absorb(exc)
        if "method" in event:
            problems.add("method", "CalendarEvent objects MUST NOT have a method (draft §5)")
        own = own_addresses(account_id)
        if event.get("participants") and not event.get("organizerCalendarAddress"):
            # draft §5.5: the server sets the organizer of an event that gets participants
            default = next(iter(identities(account_id)), None)
            if default is not None:
                event["organizerCalendarAddress"] = default["calendarAddress"]
                self._reported.setdefault(obj.get("id"), {})["organizerCalendarAddress"] = default["calendarAddress"]
        organizer = event.get("organizerCalendarAddress")
        event["isOrigin"] = not organizer or normalize_address(organizer) in own
        ids = obj.get("calendarIds") or {}
        if not isinstance(ids, dict) or not ids or any(v is not True for v in ids.values()):
            problems.add("calendarIds", "at least one calendar, each mapped to true")
        elif len(ids) > section.max_calendars_per_event:
            problems.add("calendarIds", "more calendars than maxCalendarsPerEvent")
        else:
            known = once(("calendar ids", account_id), lambda: _calendar_ids(account_id))
            for c in ids:
                if c not in known:
                    problems.add(f"calendarIds/{c}", "no such calendar")
        problems.check()
        acc = access(ctx, account_id)
        if not acc.full:  # draft §4: what the rights of the event's calendars allow
            check_write(lambda c: acc.granted("Calendar", c),
                        {k: v for k, v in old.items() if k != "id"} if old is not None else None,
                        event, user_addresses(ctx, account_id))
        object_id = obj.get("id")
        obj.clear()
        obj.update(event)
        if object_id is not None:
            obj["id"] = object_id

    def create_needs_savepoint(self, obj: dict[str, Any]) -> bool:
        """Whether creating ``obj`` writes at once (else the engine's
        mark/rollback takes back what a refused one buffered, and each event
        saves a SAVEPOINT and a RELEASE). An owner's event that sends no
        scheduling message and tells no one buffers everything (document,
        range row, quota) and validate() only reads; a sharee's per-user
        overlay, a notification or a queued iTIP message is written at once."""
        if self.serving is None or self.send_scheduling:
            return True
        ctx, account_id = self.serving
        ids = obj.get("calendarIds")
        if not isinstance(ids, dict) or not access(ctx, account_id).is_owner:
            return True
        return bool(notification_targets(ctx, account_id, None, obj))

    def check_filter(self, name: str, value: Any) -> bool:
        if name in ("after", "before"):
            return is_local_datetime(value)
        return super().check_filter(name, value)

    def check_query_args(self, ctx: Any, args: dict[str, Any]) -> None:
        from jmapd.protocol.errors import MethodError

        from .domain.timezones import is_known_zone

        if not is_known_zone(args.get("timeZone")):
            raise MethodError("invalidArguments", f"unknown timeZone {args.get('timeZone')!r}")
        check_expand(args, ctx.config.section("calendars").max_expanded_query_duration)

    def can_calculate_changes(self, args: dict[str, Any]) -> bool:
        # NOTE(calendars): instance ids come and go with every edit of a
        # series; clients re-query an expanded window instead.
        return not args.get("expandRecurrences")

    def query(self, ctx: Any, account_id: str, filter: Any, sort: list[dict[str, Any]], args: dict[str, Any]) -> list[str]:
        from .domain.timezones import get_zone

        zone_name = args.get("timeZone") or "Etc/UTC"
        zone = get_zone(zone_name)
        if zone is None:  # validate_query_arguments refused an unknown zone already
            raise MethodError("invalidArguments", f"unknown timeZone {zone_name!r}")
        node = resolve_window(filter, zone)
        expanding = bool(args.get("expandRecurrences"))
        if self._lean(ctx, account_id, node, sort, expanding):
            cands = window_candidates(account_id, *window_of(node), lean=True)
            if not expanding:
                return self._lean_ids(cands, node, sort)
            entries = [parsed(c.object_id, c.data) for c in cands if c.data is not None]
            fixed = [(c.object_id, c.first_start.replace(tzinfo=datetime.UTC)) for c in cands
                     if c.data is None and c.overlaps(node["after"], node["before"])]
            return expanded_ids(entries, node, zone_name, sort, fixed)
        found = self.in_window(ctx, account_id, node)
        if expanding:
            return expanded_ids(found, node, zone_name, sort)
        events = [p.event for p in found if self._matches(p, node)]
        for comparator in reversed(sort):
            prop, collation = comparator["property"], comparator.get("collation")

            def by(obj: dict[str, Any], prop: str = prop, collation: Any = collation) -> Any:
                return sort_key(self.sort_value(obj, prop), collation)

            events.sort(key=by, reverse=not comparator.get("isAscending", True))
        return [e["id"] for e in events]

    def _lean_ids(self, cands: list[Candidate], node: dict[str, Any], sort: list[dict[str, Any]]) -> list[str]:
        """A window-only query over index rows: exact rows judged by their
        range, the others by their events; in creation order, then by start
        (the row's first start is what :func:`start_key` computes)."""
        after, before = node.get("after"), node.get("before")
        keys: dict[str, str] = {}
        for cand in cands:
            if cand.data is None:
                if not cand.overlaps(after, before):
                    continue
            elif not self._matches(parsed(cand.object_id, cand.data), node):
                continue
            keys[cand.object_id] = cand.start_key()
        ids = list(keys)
        for comparator in reversed(sort):
            collation = comparator.get("collation")

            def by(object_id: str, collation: Any = collation) -> Any:
                return sort_key(keys[object_id], collation)

            ids.sort(key=by, reverse=not comparator.get("isAscending", True))
        return ids

    def sort_value(self, obj: dict[str, Any], prop: str) -> Any:
        if prop == "start":
            return start_key(obj)
        return obj.get(prop) or "" if prop == "recurrenceId" else obj.get(prop)

    def check_destroy(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        acc = access(ctx, account_id)
        if not acc.full:
            check_write(lambda c: acc.granted("Calendar", c), obj, None, user_addresses(ctx, account_id))

    def insert(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        now = _now()
        extra: dict[str, Any] = {"isOrigin": obj.get("isOrigin", True), **self._reported.pop(obj["id"], {})}
        if not obj.get("created"):
            extra["created"] = now
        if not obj.get("uid"):
            extra["uid"] = str(uuid.uuid4())
        if not obj.get("updated"):
            extra["updated"] = now
        obj.update(extra)
        doc, overlay = obj, None
        if not access(ctx, account_id).is_owner:
            doc, overlay = peruser.split({}, obj, personal_only=False)
            doc["id"] = obj["id"]
        self.schedule(ctx, account_id, None, doc)
        notify(ctx, account_id, None, doc)
        super().insert(ctx, account_id, doc)
        if overlay is not None:
            peruser.store(account_id, ctx.principal.user_id, obj["id"], overlay)
        index_event(account_id, obj["id"], doc, changes=ctx.changes)
        return extra

    def replace(self, ctx: Any, account_id: str, old: dict[str, Any], new: dict[str, Any], changed: set[str]) -> Any:
        from .scheduling import is_significant

        extra: dict[str, Any] = self._reported.pop(old["id"], {})
        overlay = None
        if not access(ctx, account_id).is_owner:
            view_old, view_new = old, new
            old = {**self._stored_doc(account_id, old["id"]), "id": old["id"]}
            new, overlay = peruser.split(old, view_new, personal_only=peruser.only_personal(view_old, view_new))
            new["id"] = old["id"]
        if new.get("isOrigin") != old.get("isOrigin"):
            extra["isOrigin"] = new.get("isOrigin")
        if new.get("isOrigin") and is_significant(old, new):
            # draft §5.5: the origin stamps updated and bumps a sequence the client did not raise
            extra["updated"] = new["updated"] = _now()
            if int(new.get("sequence") or 0) <= int(old.get("sequence") or 0):
                extra["sequence"] = new["sequence"] = int(old.get("sequence") or 0) + 1
        self.schedule(ctx, account_id, old, new)
        notify(ctx, account_id, old, new)
        super().replace(ctx, account_id, old, new, changed)
        if overlay is not None:
            peruser.store(account_id, ctx.principal.user_id, old["id"], overlay)
        index_event(account_id, old["id"], new)
        moved = set(old.get("calendarIds") or {}) ^ set(new.get("calendarIds") or {})
        if moved:  # an event leaving a calendar a sharee reads is destroyed for them
            ctx.changes.record(account_id, self.name, old["id"], UPDATED, props=calendar_tags(moved))
        return extra or None

    def _stored_doc(self, account_id: str, object_id: str) -> dict[str, Any]:
        """The event document itself (the owner's per-user values), not a sharee's view."""
        data = Document.select(Document.data).where(
            (Document.account_id == account_id) & (Document.type_name == self.name)
            & (Document.object_id == object_id)).scalar()
        return {k: v for k, v in self.decode(data).items() if k != "id"}

    def delete(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        self.schedule(ctx, account_id, obj, None)
        if not access(ctx, account_id).is_owner:
            obj = {**self._stored_doc(account_id, obj["id"]), "id": obj["id"]}
        notify(ctx, account_id, obj, None)
        super().delete(ctx, account_id, obj, args)
        peruser.drop(account_id, obj["id"])
        drop_event(account_id, obj["id"])
        # The engine records the destruction; this row says where the event was.
        ctx.changes.record(account_id, self.name, obj["id"], UPDATED, props=calendar_tags(obj.get("calendarIds") or {}))

    def schedule(self, ctx: Any, account_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        """sendSchedulingMessages (draft §5.5.1): the iTIP messages of this
        change, queued in its savepoint; an unreachable recipient refuses it."""
        if not self.send_scheduling or self.outbox is None:
            return
        from .scheduling import Unreachable, check_reachable, dispatch, plan

        try:
            user = None if access(ctx, account_id).full else user_identities(ctx, account_id)
            messages = plan(old, new, account_id, user)
        except Unreachable as exc:
            raise SetError("noSupportedScheduleMethods",
                           f"cannot send scheduling messages to {exc.address!r} (only mailto: addresses)") from None
        check_reachable(ctx.services, messages)
        dispatch(ctx.services, account_id, (new or old or {})["id"], messages, self.outbox)


def _calendar_ids(account_id: str) -> frozenset[str]:
    """The account's calendars (a /set of events creates none)."""
    return frozenset(r for (r,) in tuples(Document.select(Document.object_id).where(
        (Document.account_id == account_id) & (Document.type_name == "Calendar"))))


def _calendar_zones(account_id: str, calendar_ids: Any) -> list[str | None]:
    """The timeZone of each calendar an event is in (draft §5.1 utcStart)."""
    ids = list(calendar_ids or {})
    rows = Document.select(Document.data).where(
        (Document.account_id == account_id) & (Document.type_name == "Calendar") & Document.object_id.in_(ids)
    ).tuples()
    import orjson

    return [(orjson.loads(d) if isinstance(d, (str, bytes)) else dict(d)).get("timeZone") for (d,) in tuples(rows)]


def _check_range(event: dict[str, Any], section: Any) -> None:
    """minDateTime/maxDateTime of the account capability, on create and on
    every update alike: the first occurrence, the end of a finite series
    and every override (even of an infinite rule) must lie inside them."""
    from .domain.recurrence import out_of_range

    low = datetime.datetime.fromisoformat(section.min_date_time.replace("Z", "+00:00"))
    high = datetime.datetime.fromisoformat(section.max_date_time.replace("Z", "+00:00"))
    try:
        bad = out_of_range(event, low, high)
    except ValueError as exc:
        raise invalid_properties("start", description=str(exc)) from None
    if bad:
        raise invalid_properties(*bad, description=f"dates outside {section.min_date_time} .. {section.max_date_time}")


def _succeeded(response: Any) -> set[str]:
    """Ids of the events a /set response stored, changed or removed."""
    body = response[0][1] if isinstance(response, list) else response
    return ({c["id"] for c in (body.get("created") or {}).values()} | set(body.get("updated") or {})
            | set(body.get("destroyed") or []))


def calendar_event_set(ctx: Any, args: dict[str, Any]) -> Any:
    """CalendarEvent/set: instance ids edit or exclude one occurrence of
    their base event (draft §5.3), everything else is the standard /set."""
    from jmapd.methods.standard.set import standard_set

    dt = CalendarEvent(ctx.config)
    dt.send_scheduling = args.get("sendSchedulingMessages") is True
    dt.outbox = Outbox()
    routed: dict[str, Any] = {}
    failed: dict[str, Any] = {}
    if (isinstance(args.get("accountId"), str) and isinstance(args.get("update") or {}, dict)
            and isinstance(args.get("destroy") or [], list)):
        account = ctx.account(args["accountId"], CALENDARS, write=True)
        dt.serving = (ctx, account.id)
        args, routed, failed = rewrite_set(dt, ctx, account.id, args)
    with one_call():
        response = standard_set(dt, ctx, args)
    flush(ctx.services, dt.outbox, _succeeded(response))
    if not routed and not failed:
        return response
    if isinstance(response, list):
        return [(response[0][0], map_response(response[0][1], routed, failed, set())), *response[1:]]
    return map_response(response, routed, failed, set())
