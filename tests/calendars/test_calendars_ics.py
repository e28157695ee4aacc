"""CalendarEvent/parse (draft §5.10) and iCalendar export downloads, on
.ics files shaped like real producers' (tests/calendars/domain/data)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from jmapd_calendars.testing import CAL, calendars, call, ok

DATA = Path(__file__).parent / "domain" / "data"
PARSE = "urn:ietf:params:jmap:calendars:parse"
META = ("id", "baseEventId", "calendarIds", "isDraft", "isOrigin")


def parse(client: Any, blob_ids: list[str], **extra: Any) -> dict[str, Any]:
    name, response = client.call("CalendarEvent/parse", {"accountId": client.account_id, "blobIds": blob_ids, **extra},
                                 ["urn:ietf:params:jmap:core", CAL, PARSE])
    assert name == "CalendarEvent/parse", response
    return response


def download(client: Any, blob_id: str) -> Any:
    url = client.session["downloadUrl"].format(accountId=client.account_id, blobId=blob_id, name="cal.ics",
                                               type="text/calendar")
    return client.http.get(url)


def test_capability_announced(client):
    assert client.session["capabilities"][PARSE] == {}
    assert client.session["accounts"][client.account_id]["accountCapabilities"][PARSE] == {}
    name, err = client.call("CalendarEvent/parse", {"accountId": client.account_id, "blobIds": []},
                            ["urn:ietf:params:jmap:core", CAL])
    assert (name, err["type"]) == ("error", "unknownMethod")


def test_parse_without_storing(client):
    google = client.upload((DATA / "google_recurring.ics").read_bytes(), "text/calendar")["blobId"]
    outlook = client.upload((DATA / "outlook_windows_zones.ics").read_bytes(), "text/calendar")["blobId"]
    junk = client.upload(b"not a calendar", "text/plain")["blobId"]
    got = parse(client, [google, outlook, junk, "bNoSuchBlob"])
    assert got["notParsable"] == [junk] and got["notFound"] == ["bNoSuchBlob"]
    (standup,) = got["parsed"][google]
    assert all(standup[m] is None for m in META)
    assert standup["uid"] == "abc123@google.com" and standup["timeZone"] == "Europe/Berlin"
    assert standup["recurrenceRule"]["frequency"] == "weekly"
    assert standup["recurrenceOverrides"]["2026-01-19T10:00:00"] == {"excluded": True}
    assert standup["recurrenceOverrides"]["2026-01-12T10:00:00"]["start"] == "2026-01-12T11:00:00"
    # Windows zone names become IANA ids
    assert all(e["timeZone"] and "/" in e["timeZone"] for e in got["parsed"][outlook] if e.get("timeZone"))
    only = parse(client, [google], properties=["uid", "title"])["parsed"][google]
    assert only == [{"id": None, "uid": "abc123@google.com", "title": "Standup"}] or only == [
        {"uid": "abc123@google.com", "title": "Standup"}]
    assert ok(client, "CalendarEvent/query", {})["ids"] == []
    name, err = client.call("CalendarEvent/parse", {"accountId": client.account_id, "blobIds": [google],
                                                    "properties": ["nope"]}, ["urn:ietf:params:jmap:core", CAL, PARSE])
    assert (name, err["type"]) == ("error", "invalidArguments")


def test_parsed_event_stores_expands_and_exports(client):
    cal = calendars(client)[0]["id"]
    blob = client.upload((DATA / "google_recurring.ics").read_bytes(), "text/calendar")["blobId"]
    (event,) = parse(client, [blob])["parsed"][blob]
    # the file's METHOD:PUBLISH parses as "method", which a stored event MUST NOT have (draft §5.5)
    assert event["method"] == "publish"
    event = {k: v for k, v in event.items() if k not in META and v is not None}
    refused = ok(client, "CalendarEvent/set", {"create": {"g": {**event, "calendarIds": {cal: True}}}})
    assert refused["notCreated"]["g"]["properties"] == ["method"]
    del event["method"]
    made = ok(client, "CalendarEvent/set", {"create": {"g": {**event, "calendarIds": {cal: True}}}})
    assert made.get("created"), made["notCreated"]
    eid = made["created"]["g"]["id"]
    # JSCalendar's created is the file's CREATED, not the time of the import
    assert ok(client, "CalendarEvent/get", {"ids": [eid], "properties": ["created"]})["list"][0]["created"] == event["created"]
    ids = ok(client, "CalendarEvent/query", {"filter": {"after": "2026-01-05T00:00:00", "before": "2026-01-27T00:00:00"},
                                             "expandRecurrences": True, "timeZone": "Europe/Berlin"})["ids"]
    starts = [e["start"] for e in ok(client, "CalendarEvent/get", {"ids": ids, "properties": ["start"]})["list"]]
    assert starts == ["2026-01-05T10:00:00", "2026-01-12T11:00:00", "2026-01-26T10:00:00"]  # moved, excluded
    exported = download(client, "I" + eid)
    assert exported.status_code == 200 and exported.content.startswith(b"BEGIN:VCALENDAR")
    text = exported.content.decode()
    assert "UID:abc123@google.com" in text and "RECURRENCE-ID;TZID=Europe/Berlin:20260112T100000" in text
    assert "EXDATE;TZID=Europe/Berlin:20260119T100000" in text and "BEGIN:VTIMEZONE" in text
    again = client.upload(exported.content, "text/calendar")["blobId"]
    (back,) = parse(client, [again])["parsed"][again]
    assert back["recurrenceOverrides"] == event["recurrenceOverrides"]
    assert back["participants"].keys() == event["participants"].keys()
    whole = download(client, "I" + cal).content.decode()
    assert whole.count("BEGIN:VCALENDAR") == 1 and "UID:abc123@google.com" in whole
    assert download(client, "IeNoSuchEvent").status_code == 404


def test_export_is_per_account(jmap_server):
    alice, bob = jmap_server.client(), jmap_server.client()
    cal = calendars(alice)[0]["id"]
    made = ok(alice, "CalendarEvent/set", {"create": {"e": {
        "calendarIds": {cal: True}, "title": "Private", "start": "2026-01-05T10:00:00", "duration": "PT1H"}}})
    eid = made["created"]["e"]["id"]
    assert download(alice, "I" + eid).status_code == 200
    url = bob.session["downloadUrl"].format(accountId=bob.account_id, blobId="I" + eid, name="x.ics", type="text/calendar")
    assert bob.http.get(url).status_code == 404
    other = alice.session["downloadUrl"].format(accountId=alice.account_id, blobId="I" + eid, name="x.ics",
                                                type="text/calendar")
    assert bob.http.get(other).status_code in (403, 404)
    assert call(bob, "CalendarEvent/get", {"ids": [eid]})[1]["notFound"] == [eid]


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    return subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "calendars", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_import_reports_bad_components_and_does_not_duplicate(jmapd_database, jmapd_data_dir, jmap_server, tmp_path):
    client = jmap_server.client()
    calendars(client)
    config = tmp_path / "jmapd.yaml"
    config.write_text(yaml.safe_dump({"server": {"data_dir": str(jmapd_data_dir)}, "database": {"url": jmapd_database}}))
    broken = DATA / "broken_components.ics"
    done = _cli(config, "import", str(broken), "--user", client.user, "--calendar", "Imported")
    assert done.returncode == 1, done.stderr
    assert "2 created, 0 updated" in done.stderr, done.stderr
    assert "line " in done.stderr and "Nowhere/Atlantis" in done.stderr, done.stderr
    imported = next(c["id"] for c in calendars(client) if c["name"] == "Imported")
    ids = ok(client, "CalendarEvent/query", {"filter": {"inCalendar": imported}})["ids"]
    got = ok(client, "CalendarEvent/get", {"ids": ids, "properties": ["uid", "showWithoutTime"]})["list"]
    assert sorted(e["uid"] for e in got) == ["good-1", "good-2"]
    assert next(e for e in got if e["uid"] == "good-2")["showWithoutTime"] is True  # VALUE=DATE is all-day
    again = _cli(config, "import", str(broken), "--user", client.user, "--calendar", "Imported")
    assert "0 created, 2 updated" in again.stderr, again.stderr
    assert len(ok(client, "CalendarEvent/query", {"filter": {"inCalendar": imported}})["ids"]) == 2
    google = _cli(config, "import", str(DATA / "google_recurring.ics"), "--user", client.user)
    assert google.returncode == 0 and "1 created, 0 updated, 0 failed" in google.stderr, google.stderr
    out = subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "calendars", "export",
                          "--user", client.user, "--calendar", "Imported"], capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}, timeout=120)
    assert out.returncode == 0 and "2 events exported" in out.stderr, out.stderr
    assert out.stdout.count("BEGIN:VEVENT") == 2 and "UID:good-1" in out.stdout and "abc123" not in out.stdout
