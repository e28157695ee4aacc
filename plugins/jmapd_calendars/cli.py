"""``jmapd calendars import`` / ``export``: .ics files in and out of an account.

The import runs CalendarEvent/set in-process as the user, so each event
gets exactly the API's validation, range index, change log and push. An
event whose uid (and recurrenceId, for a lone instance) the account
already has is updated with the file's properties, so re-running an import
duplicates nothing. A malformed component is reported with its line and
reason and the rest still import; an event the API refuses is reported
with its uid and SetError. On a terminal a progress bar (tqdm, when
installed) shows the events going in; a summary line ends every run.
"""

from __future__ import annotations

import sys
from typing import Any

from jmapd.cli_setup import UserSession, batches, progress

from .calendar import CALENDARS

BATCH = 200
#: An import creating at least this many events renews the planner's statistics.
ANALYZE_AFTER = 1000
#: The tables an import fills whose statistics window queries depend on.
ANALYZED = ("calendars_event_range", "jmap_document", "jmap_change")
USING = ["urn:ietf:params:jmap:core", CALENDARS]


def register(subparsers: Any) -> None:
    top = subparsers.add_parser("calendars", help="import or export iCalendar (.ics) files")
    sub = top.add_subparsers(dest="calendars_command", required=True)
    p = sub.add_parser("import", help="import the events of an .ics file into a user's calendar")
    p.add_argument("file", help="the .ics file ('-' for stdin)")
    p.add_argument("--user", required=True, help="whose personal account gets the events")
    p.add_argument("--calendar", help="calendar name (made if missing; default: the default calendar)")
    p.set_defaults(func=cmd_import)
    p = sub.add_parser("export", help="write a user's events as one iCalendar stream to stdout")
    p.add_argument("--user", required=True)
    p.add_argument("--calendar", help="only this calendar (by name)")
    p.set_defaults(func=cmd_export)


class Session(UserSession):
    def __init__(self, config_path: str | None, user: str) -> None:
        super().__init__(config_path, user, USING, "jmapd calendars")

    def calendar(self, name: str | None, *, create: bool) -> str:
        found = self.call("Calendar/get", {"ids": None})["list"]
        if name is None:
            return str(next((c["id"] for c in found if c.get("isDefault")), found[0]["id"]))
        match = next((c["id"] for c in found if c["name"] == name), None)
        if match is None and create:
            made = self.call("Calendar/set", {"create": {"c": {"name": name}}})
            if not made.get("created"):
                raise SystemExit(f"jmapd calendars: cannot create calendar {name!r}: {made.get('notCreated')}")
            match = made["created"]["c"]["id"]
        if match is None:
            raise SystemExit(f"jmapd calendars: no calendar {name!r}")
        return str(match)


def _key(event: dict[str, Any]) -> tuple[Any, Any]:
    return event.get("uid"), event.get("recurrenceId")


def import_text(session: Session, text: str, calendar_name: str | None, out: Any = sys.stderr) -> dict[str, int]:
    """Import every event of ``text``; returns the counts the summary prints."""
    from .domain.ical import parse_ics

    result = parse_ics(text)
    for line, reason in result.errors:
        print(f"line {line}: {reason}", file=out)
    counts = {"created": 0, "updated": 0, "failed": len(result.errors)}
    for event in result.events:
        # the file's METHOD (PUBLISH) is about the file; a stored event has none (draft §5)
        event.pop("method", None)
    if not result.events:
        return counts
    calendar = session.calendar(calendar_name, create=True)
    from .ics import events_of

    # NOTE(calendars): one read of the account's (uid, recurrenceId) pairs
    # instead of a uid query per batch: an OR of 200 uid conditions is
    # matched in Python against every event, which made large imports crawl.
    existing = {_key(e): e["id"] for e in events_of(session.account_id)}
    bar = progress(len(result.events), "event")
    for batch in batches(result.events, BATCH):
        create: dict[str, Any] = {}
        update: dict[str, Any] = {}
        label: dict[str, str] = {}
        for n, event in enumerate(batch):
            target = existing.get(_key(event))
            name = event["uid"] + (f" ({event['recurrenceId']})" if event.get("recurrenceId") else "")
            if target is None:
                create[f"i{n}"] = {**event, "calendarIds": {calendar: True}}
                label[f"i{n}"] = name
            else:
                update[target] = {k: v for k, v in event.items() if k not in ("uid", "created")}
                label[target] = name
        response = session.call("CalendarEvent/set", {"create": create or None, "update": update or None})
        for key, made in (response.get("created") or {}).items():
            existing[_key(batch[int(key[1:])])] = made["id"]
        counts["created"] += len(response.get("created") or {})
        counts["updated"] += len(response.get("updated") or {})
        for key, err in {**(response.get("notCreated") or {}), **(response.get("notUpdated") or {})}.items():
            counts["failed"] += 1
            where = ", ".join(err.get("properties") or [])
            print(f"{label.get(key, key)}: {err.get('type')}: {err.get('description') or where}", file=out)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    if counts["created"] >= ANALYZE_AFTER:
        analyze()
    return counts


def analyze() -> None:
    """After a bulk import on PostgreSQL, renew the statistics of the tables it filled.

    NOTE(perf): with the statistics of an empty calendars_event_range the
    planner joined the window's index rows to the documents by nested loop
    over all of them: a month's query or availability took 1.5-2 s at
    10,000 events (bench/calendars.py right after its import) until
    autovacuum caught up, which it may never do where it is off.
    """
    from jmapd.db import database, is_postgres

    if not is_postgres():
        return
    for table in ANALYZED:
        database.execute_sql(f'ANALYZE "{table}"')


def cmd_import(args: Any) -> int:
    from .ics import decode_text

    session = Session(args.config, args.user)
    raw = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()  # noqa: SIM115
    counts = import_text(session, decode_text(raw), args.calendar)
    print(f"{counts['created']} created, {counts['updated']} updated, {counts['failed']} failed", file=sys.stderr)
    return 0 if counts["failed"] == 0 else 1


def cmd_export(args: Any) -> int:
    from .domain.ical import to_ics
    from .ics import bare, events_of

    session = Session(args.config, args.user)
    calendar = session.calendar(args.calendar, create=False) if args.calendar else None
    events = events_of(session.account_id, calendar)
    sys.stdout.buffer.write(to_ics([bare(e) for e in events]))
    sys.stdout.flush()
    print(f"{len(events)} events exported", file=sys.stderr)
    return 0
