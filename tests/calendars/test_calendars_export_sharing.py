"""Export blobs for a sharee of single calendars (over real HTTP): only
events and calendars they may read items of, as they see them."""

from __future__ import annotations

from typing import Any

from jmapd_calendars.testing import USING, ok, principal_id

ALERT = {"@type": "Alert", "trigger": {"@type": "OffsetTrigger", "offset": "-PT15M"}, "action": "display"}


def fetch(client: Any, account_id: str, blob_id: str) -> Any:
    url = (client.session["downloadUrl"].replace("{accountId}", account_id).replace("{blobId}", blob_id)
           .replace("{name}", "cal.ics").replace("{type}", "text/calendar"))
    return client.http.get(url)


def make(owner: Any, cals: list[str], title: str, **extra: Any) -> str:
    made = ok(owner, "CalendarEvent/set", {"create": {"e": {
        "calendarIds": dict.fromkeys(cals, True), "title": title, "start": "2031-04-01T14:00:00",
        "timeZone": "Europe/London", "duration": "PT1H", **extra}}})
    return str(made["created"]["e"]["id"])


def test_sharee_exports_only_what_they_may_read(jmap_server):
    owner, sharee = jmap_server.client(), jmap_server.client()
    made = ok(owner, "Calendar/set", {"create": {"t": {"name": "Team"}, "p": {"name": "Private"},
                                                 "f": {"name": "Busy only"}}})["created"]
    team, private, busy = made["t"]["id"], made["p"]["id"], made["f"]["id"]
    pid = principal_id(sharee)
    ok(owner, "Calendar/set", {"update": {
        team: {f"shareWith/{pid}": {"mayReadItems": True, "mayReadFreeBusy": True, "mayUpdatePrivate": True}},
        busy: {f"shareWith/{pid}": {"mayReadFreeBusy": True}}}})
    shared = make(owner, [team], "Standup", alerts={"a1": ALERT}, keywords={"owner-only": True})
    secret = make(owner, [private], "Salary talk")
    both = make(owner, [team, private], "Offsite")
    hidden = make(owner, [busy], "Doctor")
    stored = owner.upload(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")["blobId"]
    sharee._session = None
    home = owner.account_id
    assert fetch(owner, home, "I" + secret).status_code == 200  # the owner gets everything

    got = fetch(sharee, home, "I" + team)
    assert got.status_code == 200, got.text
    assert "SUMMARY:Standup" in got.text and "SUMMARY:Offsite" in got.text
    assert "Salary talk" not in got.text and "Doctor" not in got.text
    # the owner's per-user values (alerts, keywords) are theirs alone
    assert "BEGIN:VALARM" not in got.text and "owner-only" not in got.text
    one = fetch(sharee, home, "I" + shared)
    assert one.status_code == 200 and "SUMMARY:Standup" in one.text
    assert "BEGIN:VALARM" not in one.text
    assert fetch(sharee, home, "I" + both).status_code == 200  # readable through one of its calendars
    for refused in ("I" + secret, "I" + private, "I" + hidden, "I" + busy, stored, "Inothing"):
        response = fetch(sharee, home, refused)
        assert response.status_code == 404, (refused, response.text)

    # the sharee's own per-user values are in their export
    done = sharee.ok("CalendarEvent/set", {"accountId": home, "update": {shared: {"alerts": {"mine": ALERT}}}}, USING)
    assert shared in done["updated"], done
    mine = fetch(sharee, home, "I" + shared)
    assert mine.text.count("BEGIN:VALARM") == 1
    assert "BEGIN:VALARM" in fetch(owner, home, "I" + shared).text

    # unshared: nothing any more
    ok(owner, "Calendar/set", {"update": {team: {f"shareWith/{pid}": None}}})
    sharee._session = None
    assert fetch(sharee, home, "I" + shared).status_code == 404


def test_calendar_writer_uploads_nothing_into_the_account(jmap_server):
    """Calendars declare no upload right (no calendar object holds a blob
    yet: Link.blobId is not supported), so even mayWriteAll lets a sharee
    of calendars alone upload nothing: 403 ``forbidden``, nothing stored."""
    owner, sharee = jmap_server.client(), jmap_server.client()
    team = ok(owner, "Calendar/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
    ok(owner, "Calendar/set", {"update": {team: {f"shareWith/{principal_id(sharee)}": {
        "mayReadItems": True, "mayReadFreeBusy": True, "mayWriteAll": True, "mayWriteOwn": True}}}})
    sharee._session = None
    assert owner.account_id in sharee.session["accounts"]
    resp = sharee.http.post(f"/jmap/upload/{owner.account_id}", content=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                            headers={"Content-Type": "text/calendar"})
    assert resp.status_code == 403 and resp.json()["type"] == "urn:ietf:params:jmap:error:forbidden"
