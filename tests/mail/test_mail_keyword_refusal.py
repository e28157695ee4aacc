"""A refused keyword-only update leaves nothing of itself, though the engine
runs such updates without a savepoint (EmailType.update_needs_savepoint):
every refusal comes before the one UPDATE, and the rest of the /set stands."""

from __future__ import annotations

from jmapd_mail.counts import COUNTS, count_by_scanning


def _state(client, ids):
    emails = {e["id"]: e["keywords"] for e in client.ok("Email/get", {"ids": ids, "properties": ["keywords"]})["list"]}
    boxes = {m["id"]: {k: m[k] for k in COUNTS} for m in client.ok("Mailbox/get", {"ids": None})["list"]}
    return emails, boxes


def test_refused_keyword_updates_leave_nothing(client, mail, make_message):
    inbox = mail.mailboxes()["inbox"]["id"]
    ids = [mail.import_(make_message(f"refusal {n}", message_id=f"r{n}@refusal"), mailbox=inbox)["id"] for n in range(4)]
    kept, refused_bad, refused_false, refused_many = ids
    before_emails, before_boxes = _state(client, ids)
    out = client.ok("Email/set", {"update": {
        kept: {"keywords/$seen": True, "keywords/kept": True},
        refused_bad: {"keywords/$seen": True, "keywords/bad(word": True},  # not a keyword (RFC 8621 §4.1.1)
        refused_false: {"keywords": {"$seen": True, "off": False}},  # a keyword's value must be true
        refused_many: {"keywords": {f"k{n}": True for n in range(10_000)}},  # past the keyword bound
    }})
    assert list(out["updated"]) == [kept]
    assert set(out["notUpdated"]) == {refused_bad, refused_false, refused_many}
    after_emails, after_boxes = _state(client, ids)
    assert after_emails[kept] == {"$seen": True, "kept": True}
    for refused in (refused_bad, refused_false, refused_many):
        assert after_emails[refused] == before_emails[refused] == {}
    seen = set(client.ok("Email/query", {"filter": {"hasKeyword": "$seen"}})["ids"])
    assert seen == {kept}
    assert after_boxes[inbox]["unreadEmails"] == before_boxes[inbox]["unreadEmails"] - 1
    scanned = count_by_scanning(client.account_id)
    assert {m: c for m, c in after_boxes.items() if m in scanned} == scanned
