"""Principal/getAvailability (draft §2.3) and the Principal capability (§2.2).

A Principal's calendar data is its user's personal account. Which events
count is the draft's list: calendars the Principal is subscribed to with
``includeInAvailability`` ``all`` or ``attending`` (the Principal's own
values, i.e. the owner's), on which the caller has ``mayReadFreeBusy``;
not ``secret``, ``freeBusyStatus`` busy, not ``cancelled`` — judged per
occurrence, since an override may cancel one. Candidates come from the
occurrence-range index, so only events that can reach the window are
read; an exact row (a zoned event that does not recur) is its occurrence,
so only recurring and floating events are expanded. Details (``showDetails``) are given only for events that are
not ``private`` in a calendar the caller may read items of; everything
else becomes anonymous busy time, merged as the draft says.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from typing import Any

import peewee as pw

from jmapd.db import tuples
from jmapd.methods.standard.args import check_args
from jmapd.models import Account, Document, PrincipalRecord, ShareGrant
from jmapd.protocol.errors import MethodError
from jmapd.sharing import access

from . import peruser
from .calendar import CALENDARS
from .domain.dates import UTC_RE, parse_duration
from .domain.recurrence import ExpansionTooLarge, Occurrence, expand
from .identity import identities, normalize_address, own_addresses
from .index import window_candidates
from .instances import instance_id

AVAILABILITY = "urn:ietf:params:jmap:principals:availability"
SPEC = {"accountId": ("Id", True), "id": ("Id", True), "utcStart": ("String", True), "utcEnd": ("String", True),
        "showDetails": ("Boolean", False), "eventProperties": ("String[]", False)}
#: BusyPeriod busyStatus by precedence when anonymous periods overlap (draft §2.3).
_RANK = {"confirmed": 3, "unavailable": 2, "tentative": 1}
#: Instances one call may expand before it is refused.
MAX_INSTANCES = 100_000


def _utc(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _fmt(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def home_account(principal_id: str) -> str | None:
    """The personal account of an individual Principal's user (None for groups and resources)."""
    row = (PrincipalRecord.select(Account.id)
           .join(Account, on=(Account.owner == PrincipalRecord.user))
           .where((PrincipalRecord.id == principal_id) & (Account.is_personal == True))  # noqa: E712
           .scalar())
    return str(row) if row else None


def may_read_free_busy(viewer: Any, home: str) -> bool:
    """Whether ``viewer`` (an authenticated Principal) may ask for the availability of ``home``'s owner."""
    info = viewer.accounts.get(home)
    if info is None:
        return False
    if info.level in ("owner", "write", "read"):
        return True
    grants = ShareGrant.select(ShareGrant.rights).where(
        (ShareGrant.account_id == home) & (ShareGrant.type_name == "Calendar")
        & ShareGrant.principal.in_(list(viewer.principal_ids)))
    return any((rights or {}).get("mayReadFreeBusy") for (rights,) in tuples(grants))


def principal_capability(services: Any, principal_id: str, user_id: int | None, viewer: Any) -> dict[str, Any] | None:
    """Draft §2.2's ``urn:ietf:params:jmap:calendars`` entry of a Principal."""
    if user_id is None:
        return {CALENDARS: {"accountId": None, "mayGetAvailability": False, "mayShareWith": True}}
    home = home_account(principal_id)
    if home is None:
        return None
    info = viewer.accounts.get(home)
    value: dict[str, Any] = {
        "accountId": home if info is not None and CALENDARS in info.capabilities else None,
        "mayGetAvailability": may_read_free_busy(viewer, home),
        "mayShareWith": True,
    }
    own = identities(home)
    if own:
        value["calendarAddress"] = own[0]["calendarAddress"]
    return {CALENDARS: value}


def _decode(data: Any) -> dict[str, Any]:
    import orjson

    return orjson.loads(data) if isinstance(data, (str, bytes)) else dict(data)


def _status_of(event: dict[str, Any], own: Callable[[], set[str]]) -> tuple[bool, str | None]:
    """(whether the Principal takes part, their participationStatus) in one occurrence."""
    parts = event.get("participants") or {}
    if not parts:
        return True, None  # an event without participants is the Principal's own
    mine = [p for p in parts.values() if isinstance(p, dict) and normalize_address(p.get("calendarAddress")) in own()]
    if not mine:
        return not parts, None  # an event without participants is the Principal's own
    return True, mine[0].get("participationStatus") or "needs-action"


def _counts(inst: dict[str, Any], modes: set[str], own: Callable[[], set[str]]) -> str | None:
    """The busyStatus of an occurrence that counts (draft §2.3's list), else None."""
    if inst.get("privacy") == "secret" or (inst.get("freeBusyStatus") or "busy") != "busy":
        return None
    if inst.get("status") == "cancelled":
        return None
    takes_part, partstat = _status_of(inst, own)
    if "all" not in modes and not (takes_part and partstat in ("accepted", "tentative")):
        return None
    return _busy_status(inst, partstat)


def _busy_status(event: dict[str, Any], partstat: str | None) -> str:
    status = event.get("status") or "confirmed"
    if status == "tentative" or partstat == "tentative":
        return "tentative"
    if status == "confirmed" and partstat in (None, "accepted"):
        return "confirmed"
    return "unavailable"


def merge(periods: list[tuple[datetime.datetime, datetime.datetime, str]]) -> list[tuple[datetime.datetime, datetime.datetime, str]]:
    """Anonymous busy periods made disjoint: overlaps take the higher status
    (confirmed > unavailable > tentative), touching equal ones join.

    One sweep over the sorted edges with a count of open periods per status
    (a month of a busy calendar has thousands of edges; testing every
    period against every gap between edges took a tenth of a second)."""
    deltas: dict[datetime.datetime, dict[str, int]] = {}
    for s, e, st in periods:
        if e > s:
            deltas.setdefault(s, {}).setdefault(st, 0)
            deltas[s][st] += 1
            deltas.setdefault(e, {}).setdefault(st, 0)
            deltas[e][st] -= 1
    edges = sorted(deltas)
    open_by = dict.fromkeys(_RANK, 0)
    out: list[tuple[datetime.datetime, datetime.datetime, str]] = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        for st, d in deltas[lo].items():
            open_by[st] += d
        covering = [st for st, n in open_by.items() if n > 0]
        if not covering:
            continue
        best = max(covering, key=lambda st: _RANK[st])
        if out and out[-1][1] == lo and out[-1][2] == best:
            out[-1] = (out[-1][0], hi, best)
        else:
            out.append((lo, hi, best))
    return out


def get_availability(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    args = check_args(args, SPEC, {})
    ctx.account(args["accountId"], AVAILABILITY)
    for name in ("utcStart", "utcEnd"):
        if not UTC_RE.match(args[name]):
            raise MethodError("invalidArguments", f"{name}: expected a UTCDateTime")
    start, end = _utc(args["utcStart"]), _utc(args["utcEnd"])
    if end <= start:
        raise MethodError("invalidArguments", "utcEnd must be after utcStart")
    days, secs = parse_duration(ctx.config.section("calendars").max_availability_duration)
    if end - start > datetime.timedelta(days=days, seconds=secs):
        raise MethodError("tooLarge", "the period is longer than maxAvailabilityDuration")
    # the Principal and its personal account in one round trip
    found = (PrincipalRecord.select(PrincipalRecord.id, PrincipalRecord.user, PrincipalRecord.time_zone, Account.id)
             .join(Account, pw.JOIN.LEFT_OUTER,
                   on=(Account.owner == PrincipalRecord.user) & (Account.is_personal == True))  # noqa: E712
             .where(PrincipalRecord.id == args["id"]).tuples().first())
    if found is None:
        raise MethodError("notFound", "no such Principal")
    _, user_id, time_zone, home = found
    home = str(home) if user_id is not None and home else None
    if home is None or not may_read_free_busy(ctx.principal, home):
        raise MethodError("forbidden", "you may not read this Principal's availability")
    acc = access(ctx, home)
    calendars = {oid: _decode(d) for oid, d in tuples(Document.select(Document.object_id, Document.data).where(
        (Document.account_id == home) & (Document.type_name == "Calendar")))}
    counted = {cid: c.get("includeInAvailability") or "all" for cid, c in calendars.items()
               if c.get("isSubscribed", True) and (c.get("includeInAvailability") or "all") in ("all", "attending")
               and acc.has("Calendar", cid, "mayReadFreeBusy")}
    own = functools.cache(lambda: own_addresses(home))  # read only for an event with participants
    floating = time_zone or "Etc/UTC"
    show = bool(args.get("showDetails"))
    wanted = args.get("eventProperties")
    busy: list[tuple[datetime.datetime, datetime.datetime, str]] = []
    detailed: list[dict[str, Any]] = []
    for cand in window_candidates(home, start, end, lean=False) if counted else []:
        object_id, event = cand.object_id, _decode(cand.data)
        modes = {counted[c] for c in event.get("calendarIds") or {} if c in counted}
        if not modes:
            continue
        readable = show and any(acc.has("Calendar", c, "mayReadItems") for c in event.get("calendarIds") or {})
        overrides = event.get("recurrenceOverrides") or {}
        if cand.exact:
            # NOTE(perf): an exact row is the one occurrence of a zoned,
            # non-recurring event in UTC (index.range_row): nothing to expand
            first, last = cand.first_start.replace(tzinfo=datetime.UTC), cand.last_end
            occurrences = ([Occurrence(None, first, last.replace(tzinfo=datetime.UTC), master=event)]
                           if last is not None and first < end and last.replace(tzinfo=datetime.UTC) > start else [])
        else:
            try:
                occurrences = list(expand(event, start, end, max_instances=MAX_INSTANCES,
                                          floating_tz=_floating(event, calendars, floating)))
            except ExpansionTooLarge:
                raise MethodError("tooLarge", f"event {object_id} has too many occurrences in the period") from None
            except (ValueError, KeyError, TypeError):
                continue
        # every occurrence the rule makes is the master's: judged once, overrides each on their own
        master_status = _counts(event, modes, own)
        for occ in occurrences:
            overridden = occ.recurrence_id in overrides
            inst = occ.event if overridden else event
            status = _counts(inst, modes, own) if overridden else master_status
            if status is None:
                continue
            s, e = max(occ.start, start), min(occ.end, end)
            if e <= s:
                continue  # an instant takes no time
            if readable and inst.get("privacy") != "private":
                shown = dict(occ.event) if acc.is_owner else peruser.view(occ.event, None)
                shown["id"] = instance_id(object_id, occ.recurrence_id) if occ.recurrence_id else object_id
                if wanted is not None:
                    shown = {k: v for k, v in shown.items() if k in wanted}
                detailed.append({"utcStart": _fmt(s), "utcEnd": _fmt(e), "busyStatus": status,
                                 "event": shown, "accountId": home})
            else:
                busy.append((s, e, status))
    anonymous = [{"utcStart": _fmt(s), "utcEnd": _fmt(e), "busyStatus": st, "event": None, "accountId": None}
                 for s, e, st in merge(busy)]
    return {"accountId": args["accountId"],
            "list": sorted(anonymous + detailed, key=lambda p: (p["utcStart"], p["utcEnd"]))}


def _floating(event: dict[str, Any], calendars: dict[str, dict[str, Any]], default: str) -> str:
    """Where a floating event is placed: its calendar's timeZone, else the Principal's."""
    for cid in event.get("calendarIds") or {}:
        zone = (calendars.get(cid) or {}).get("timeZone")
        if zone:
            return str(zone)
    return default


def principals_with_address(ctx: Any, name: str, value: Any) -> set[str]:
    """Principal/query ``calendarAddress`` (draft §2.4): the Principals one
    of whose calendar addresses ``value`` is, after the same normalisation
    participants are matched with — an identity of their personal account,
    or the default identity it gets on first use (``mailto:`` its primary
    address) while it has none."""
    from .identity import IDENTITY_TYPE, primary_address

    wanted = normalize_address(value)
    if wanted is None:
        return set()
    homes = dict(tuples(Account.select(Account.id, PrincipalRecord.id)
                        .join(PrincipalRecord, on=(PrincipalRecord.user == Account.owner))
                        .where(Account.is_personal == True)))  # noqa: E712
    found: set[str] = set()
    with_identity: set[str] = set()
    accounts = sorted(homes)
    for chunk in range(0, len(accounts), 500):
        rows = Document.select(Document.account_id, Document.data).where(
            Document.account_id.in_(accounts[chunk:chunk + 500]) & (Document.type_name == IDENTITY_TYPE))
        for account_id, data in tuples(rows):
            with_identity.add(account_id)
            if normalize_address(_decode(data).get("calendarAddress")) == wanted:
                found.add(homes[account_id])
    if wanted.startswith("mailto:"):
        for account_id in set(accounts) - with_identity:
            address = primary_address(ctx.services, account_id)
            if address is not None and normalize_address(f"mailto:{address}") == wanted:
                found.add(homes[account_id])
    return found
