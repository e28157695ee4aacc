"""Calendar: a named, shareable collection of events (draft §4).

Stored as documents. Most display properties are per user (draft
Calendar/set): a sharee's changes go to their own overlay through
:class:`jmapd.sharing.Sharing` ``per_user``, never to the owner's copy.
Exactly one calendar per account is the default: the first one is made
by :meth:`Calendar.prologue` and ``onSuccessSetIsDefault`` moves the flag.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from jmapd.db import tuples
from jmapd.methods.documents import DocumentType
from jmapd.methods.types import Invalid, P
from jmapd.models import Document, new_id
from jmapd.sharing import Sharing, access
from jmapd.state import CREATED, UPDATED, current_state

from .domain.timezones import is_known_zone

log = logging.getLogger("jmapd.calendars")

CALENDARS = "urn:ietf:params:jmap:calendars"
PARSE = "urn:ietf:params:jmap:calendars:parse"

RIGHTS = (
    "mayReadFreeBusy",
    "mayReadItems",
    "mayWriteAll",
    "mayWriteOwn",
    "mayUpdatePrivate",
    "mayRSVP",
    "mayShare",
    "mayDelete",
)
#: Draft Calendar/set: "may be set by anyone who is subscribed to the calendar and are always stored per-user".
PER_USER = (
    "isSubscribed",
    "name",
    "color",
    "sortOrder",
    "isVisible",
    "timeZone",
    "includeInAvailability",
    "defaultAlertsWithoutTime",
    "defaultAlertsWithTime",
)

#: CSS Color Module Level 3 §4.3 extended color keywords (plus the basic ones).
CSS_COLORS = frozenset(
    """aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet brown
    burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan
    darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange darkorchid darkred
    darksalmon darkseagreen darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink
    deepskyblue dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite gold
    goldenrod gray green greenyellow grey honeydew hotpink indianred indigo ivory khaki lavender lavenderblush
    lawngreen lemonchiffon lightblue lightcoral lightcyan lightgoldenrodyellow lightgray lightgreen lightgrey
    lightpink lightsalmon lightseagreen lightskyblue lightslategray lightslategrey lightsteelblue lightyellow
    lime limegreen linen magenta maroon mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen
    mediumslateblue mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream mistyrose moccasin
    navajowhite navy oldlace olive olivedrab orange orangered orchid palegoldenrod palegreen paleturquoise
    palevioletred papayawhip peachpuff peru pink plum powderblue purple red rosybrown royalblue saddlebrown
    salmon sandybrown seagreen seashell sienna silver skyblue slateblue slategray slategrey snow springgreen
    steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow yellowgreen""".split()
)
_HEX = re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _check_name(value: str) -> None:
    if not value:
        raise Invalid("", "name must not be empty")
    if len(value.encode("utf-8")) > 255:
        raise Invalid("", "name is longer than 255 octets")


def _check_color(value: str) -> None:
    if value.lower() not in CSS_COLORS and not _HEX.match(value):
        raise Invalid("", "not a CSS color name or #rgb/#rrggbb value")


def _check_sort_order(value: int) -> None:
    if value >= 2**31:
        raise Invalid("", "sortOrder must be below 2^31")


def _check_availability(value: str) -> None:
    if value not in ("all", "attending", "none"):
        raise Invalid("", 'must be "all", "attending" or "none"')


def _check_time_zone(value: str) -> None:
    if not is_known_zone(value):
        raise Invalid("", f"unknown time zone {value!r}")


def _check_default_alerts(value: dict[str, Any]) -> None:
    from .domain.validate import validate_event

    for alert_id, alert in value.items():
        if not isinstance(alert, dict):
            raise Invalid(alert_id, "an Alert object")
        trigger = alert.get("trigger")
        if isinstance(trigger, dict) and trigger.get("@type") == "AbsoluteTrigger":
            raise Invalid(f"{alert_id}/trigger", "a default alert cannot have an AbsoluteTrigger")
        bad = validate_event({"start": "2000-01-01T00:00:00", "alerts": {alert_id: alert}})
        if bad:
            raise Invalid(bad[0].removeprefix(f"alerts/{alert_id}").lstrip("/") or alert_id, "invalid Alert")


class Calendar(DocumentType):
    name = "Calendar"
    capability = CALENDARS
    id_prefix = "c"
    verbs = ("get", "changes", "set")
    properties = {
        "name": P("String", required=True, check=_check_name),
        "description": P("String", nullable=True, default=None),
        "color": P("String", nullable=True, default=None, check=_check_color),
        "sortOrder": P("UnsignedInt", default=0, check=_check_sort_order),
        "isSubscribed": P("Boolean", default=True),
        "isVisible": P("Boolean", default=True),
        "isDefault": P("Boolean", server_set=True),
        "includeInAvailability": P("String", default="all", check=_check_availability),
        "defaultAlertsWithTime": P("Object", nullable=True, default=None, check=_check_default_alerts),
        "defaultAlertsWithoutTime": P("Object", nullable=True, default=None, check=_check_default_alerts),
        "timeZone": P("String", nullable=True, default=None, check=_check_time_zone),
    }
    set_arguments = {"onDestroyRemoveEvents": False, "onSuccessSetIsDefault": None}
    sharing = Sharing(
        rights=RIGHTS,
        read="mayReadItems",
        share="mayShare",
        update=None,
        destroy="mayDelete",
        read_only=("mayReadFreeBusy", "mayReadItems"),
        per_user=PER_USER,
        # draft §4 isSubscribed: "SHOULD default to false for Calendars in
        # shared accounts"; the sharee's own value replaces it
        sharee_defaults=(("isSubscribed", False),),
        # draft §4 CalendarRights: mayWriteAll "MUST" come with these
        implied=(("mayWriteAll", ("mayWriteOwn", "mayUpdatePrivate", "mayRSVP")),),
    )

    def prologue(self, ctx: Any, verb: str, account_id: str, args: dict[str, Any]) -> None:
        """The default calendar exists before any Calendar method looks."""
        if not access(ctx, account_id).is_owner or _has_calendar(account_id):
            return
        with ctx.write(account_id):
            if _has_calendar(account_id):
                return
            calendar_id = new_id(self.id_prefix)
            section = ctx.config.section("calendars")
            data = {k: p.default_value() for k, p in self.properties.items() if not p.server_set and k != "name"}
            data.update(name=section.default_calendar_name, isDefault=True)
            Document.insert(account_id=account_id, type_name=self.name, object_id=calendar_id, data=data).execute()
            ctx.changes.record(account_id, self.name, calendar_id, CREATED)
        log.info("created default calendar %s in account %s", calendar_id, account_id)

    def insert(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj["isDefault"] = False
        super().insert(ctx, account_id, obj)
        return {"isDefault": False}

    def check_destroy(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        from jmapd.protocol.errors import SetError

        from .events import calendar_has_events

        if not args.get("onDestroyRemoveEvents") and calendar_has_events(account_id, obj["id"]):
            raise SetError("calendarHasEvent", "the calendar still has events (see onDestroyRemoveEvents)")

    def delete(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        from .events import remove_calendar_from_events

        remove_calendar_from_events(ctx, account_id, obj["id"])
        super().delete(ctx, account_id, obj, args)

    def after_set(self, ctx: Any, account_id: str, args: dict[str, Any], response: dict[str, Any]) -> list[Any]:
        """onSuccessSetIsDefault: only when every create, update and destroy
        succeeded; an unknown id or one the caller may not own is ignored."""
        target = args.get("onSuccessSetIsDefault")
        if target is None or response["notCreated"] or response["notUpdated"] or response["notDestroyed"]:
            return []
        target = ctx.resolve_id(target)
        if not isinstance(target, str) or not access(ctx, account_id).full:
            return []
        with ctx.write(account_id):
            rows: dict[str, Any] = dict(tuples(
                Document.select(Document.object_id, Document.data)
                .where((Document.account_id == account_id) & (Document.type_name == self.name))
            ))
            if target not in rows:
                return []
            for object_id, data in rows.items():
                data = self.decode(data)
                want = object_id == target
                if bool(data.get("isDefault")) == want:
                    continue
                data["isDefault"] = want
                Document.update(data=data).where(
                    (Document.account_id == account_id)
                    & (Document.type_name == self.name)
                    & (Document.object_id == object_id)
                ).execute()
                ctx.changes.record(account_id, self.name, object_id, UPDATED)
                _report(response, object_id, want)
        response["newState"] = current_state(account_id, self.name)
        return []


def _report(response: dict[str, Any], object_id: str, is_default: bool) -> None:
    """RFC 8620 §5.3: a server-set change shows in created or updated."""
    for entry in (response["created"] or {}).values():
        if entry.get("id") == object_id:
            entry["isDefault"] = is_default
            return
    updated = response["updated"] = response["updated"] or {}
    updated[object_id] = {**(updated.get(object_id) or {}), "isDefault": is_default}


def _has_calendar(account_id: str) -> bool:
    return bool(
        Document.select(Document.id)
        .where((Document.account_id == account_id) & (Document.type_name == Calendar.name))
        .exists()
    )
