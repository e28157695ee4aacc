"""The worker's parsed series (jmapd_calendars.parsed): a query and the
/get of its instances share one parse, and an edit is never answered from
an earlier one — the cache is keyed by the stored text."""

from __future__ import annotations

from typing import Any

from jmapd_calendars.domain.recurrence import get_occurrences, parse_series
from jmapd_calendars.parsed import parsed
from jmapd_calendars.testing import USING, calendars, ok

WEEKLY = {"title": "Weekly", "start": "2025-03-03T09:00:00", "timeZone": "Europe/Berlin", "duration": "PT1H",
          "recurrenceRule": {"frequency": "weekly"}}
MARCH = {"after": "2025-03-01T00:00:00", "before": "2025-04-01T00:00:00"}


def _create(client: Any, **event: Any) -> str:
    cal = calendars(client)[0]["id"]
    made = ok(client, "CalendarEvent/set", {"create": {"e": {"calendarIds": {cal: True}, **event}}})
    return str(made["created"]["e"]["id"])


def _query_and_get(client: Any, window: dict[str, str] = MARCH) -> tuple[list[str], list[dict[str, Any]], list[str]]:
    responses = client.request([
        ["CalendarEvent/query", {"accountId": client.account_id, "filter": window, "expandRecurrences": True,
                                 "sort": [{"property": "start"}]}, "q"],
        ["CalendarEvent/get", {"accountId": client.account_id, "properties": ["title", "start", "recurrenceId"],
                               "#ids": {"resultOf": "q", "name": "CalendarEvent/query", "path": "/ids"}}, "g"],
    ], USING)["methodResponses"]
    (_, q, _), (_, g, _) = responses
    return q["ids"], g["list"], g["notFound"]


def test_known_occurrences_are_trusted_and_unknown_ones_looked_up():
    """get_occurrences takes ``known`` at its word (that is what saves the
    walk) and looks up every other id."""
    series = parse_series(WEEKLY)
    got = get_occurrences(WEEKLY, ["2025-03-04T09:00:00", "2025-03-10T09:00:00", "2025-03-11T09:00:00"],
                          series=series, known={"2025-03-04T09:00:00": {}})
    assert got["2025-03-04T09:00:00"] is not None  # not on the rule, but known
    assert got["2025-03-10T09:00:00"]["start"] == "2025-03-10T09:00:00"  # looked up
    assert got["2025-03-11T09:00:00"] is None


def test_query_then_get_shares_the_parse_and_edits_are_seen(client):
    weekly = _create(client, **WEEKLY)
    ids, listed, missing = _query_and_get(client)
    assert ids == [f"{weekly}_202503{d:02d}T090000" for d in (3, 10, 17, 24, 31)]
    assert [e["start"] for e in listed] == [f"2025-03-{d:02d}T09:00:00" for d in (3, 10, 17, 24, 31)] and not missing
    # the query taught the worker's parse of this text its occurrences
    from jmapd_calendars.index import documents

    from jmapd.db import ensure_connected

    ensure_connected()
    text = documents(client.account_id, [weekly])[weekly]
    assert set(parsed(weekly, text).occurrences) >= {f"2025-03-{d:02d}T09:00:00" for d in (3, 10, 17, 24, 31)}

    # an excluded occurrence and a moved one: the next query and /get see the new text, not the old parse
    ok(client, "CalendarEvent/set", {"update": {weekly: {
        "recurrenceOverrides": {"2025-03-10T09:00:00": {"excluded": True},
                                "2025-03-17T09:00:00": {"start": "2025-04-02T09:00:00", "title": "Moved"}}}}})
    ids, listed, missing = _query_and_get(client)
    assert ids == [f"{weekly}_202503{d:02d}T090000" for d in (3, 24, 31)], ids
    got = ok(client, "CalendarEvent/get", {"ids": [f"{weekly}_20250310T090000", f"{weekly}_20250317T090000"],
                                           "properties": ["title", "start"]})
    assert got["notFound"] == [f"{weekly}_20250310T090000"]
    assert got["list"][0]["title"] == "Moved" and got["list"][0]["start"] == "2025-04-02T09:00:00"
    april = {"after": "2025-04-01T00:00:00", "before": "2025-04-08T00:00:00"}
    ids, listed, _ = _query_and_get(client, april)
    assert ids == [f"{weekly}_20250317T090000", f"{weekly}_20250407T090000"] and listed[0]["title"] == "Moved"


def test_instances_in_a_get_with_the_base_and_plain_events(client):
    weekly = _create(client, **WEEKLY)
    once = _create(client, title="Once", start="2025-03-05T12:00:00", timeZone="Etc/UTC", duration="PT1H")
    got = ok(client, "CalendarEvent/get", {"ids": [weekly, f"{weekly}_20250310T090000", once, "eNope",
                                                   f"{weekly}_20250311T090000", "eNope_20250310T090000"],
                                           "properties": ["title", "start", "recurrenceRule"]})
    assert [e["id"] for e in got["list"]] == [weekly, f"{weekly}_20250310T090000", once]
    assert got["list"][0]["recurrenceRule"]["frequency"] == "weekly"
    assert got["list"][1]["recurrenceRule"] is None and got["list"][1]["start"] == "2025-03-10T09:00:00"
    assert got["notFound"] == ["eNope", f"{weekly}_20250311T090000", "eNope_20250310T090000"]

