"""The in-process API for delivery/submission (plugins/jmapd_mail/api.py)."""

from __future__ import annotations

import datetime

import pytest
from jmapd_mail import api


def test_deliver_then_read_back(client, jmap_server, make_message):
    services = jmap_server.services
    account = client.account_id
    inbox = api.find_mailbox(account, role="inbox")
    assert inbox and api.find_mailbox(account, name="Inbox") == inbox
    assert api.find_mailbox(account, role="nope") is None
    raw = make_message("Delivered", message_id="d1@example.com", to="Bob <bob@example.org>, c@example.net")
    when = datetime.datetime(2022, 3, 4, 5, 6, 7, tzinfo=datetime.UTC)
    email_id = api.deliver(services, account, raw, keywords=["$Seen"], received_at=when)
    assert api.email_raw(services, account, email_id) == raw
    headers = api.email_headers(account, email_id)
    assert headers["subject"] == "Delivered"
    assert headers["messageId"] == ["d1@example.com"]
    assert headers["from"] == [{"name": "Alice", "email": "alice@example.com"}]
    assert [a["email"] for a in headers["to"]] == ["bob@example.org", "c@example.net"]
    assert headers["cc"] is None and headers["bcc"] is None and headers["sender"] is None
    # another account cannot see it
    other = jmap_server.client()
    assert api.email_raw(services, other.account_id, email_id) is None
    assert api.email_headers(other.account_id, email_id) == {}


def test_deliver_to_named_mailbox_and_missing(client, jmap_server, make_message):
    services = jmap_server.services
    account = client.account_id
    junk = api.find_mailbox(account, role="junk")
    email_id = api.deliver(services, account, make_message("spam"), mailbox_id=junk)
    assert email_id
    with pytest.raises(api.MailboxNotFound):
        api.deliver(services, account, make_message("x"), mailbox_id="mNOPE")
    with pytest.raises(api.MailboxNotFound):
        api.deliver(services, account, make_message("x"), mailbox_role="nonexistent")
    assert api.email_raw(services, account, "Mnope") is None


def test_deliver_advances_states_and_notifies(client, jmap_server, make_message, monkeypatch):
    services = jmap_server.services
    seen: list[dict] = []
    monkeypatch.setattr(services, "changes_committed", lambda committed: seen.append(committed))
    before = {t: client.ok(f"{t}/get", {"ids": []})["state"] for t in ("Email", "Mailbox", "Thread")}
    email_id = api.deliver(services, client.account_id, make_message("notify me"))
    after = {t: client.ok(f"{t}/get", {"ids": []})["state"] for t in ("Email", "Mailbox", "Thread")}
    assert all(before[t] != after[t] for t in before)
    mine = [c[client.account_id] for c in seen if client.account_id in c]
    assert len(mine) == 1 and set(mine[0]) == {"Email", "Mailbox", "Thread", "EmailDelivery"}
    got = client.ok("Email/get", {"ids": [email_id], "properties": ["subject", "mailboxIds"]})["list"][0]
    assert got["subject"] == "notify me"
    assert got["mailboxIds"] == {api.find_mailbox(client.account_id, role="inbox"): True}
    with pytest.raises(ValueError):
        api.deliver(services, client.account_id, make_message("x"), keywords=["bad keyword"])
