"""Quota state is pushed (RFC 9425 §3: Quota is a data type with a state):
a delivery, an upload and a destroy move it; a keyword change does not."""

from __future__ import annotations

from jmapd_mail.api import deliver

URL = "/jmap/eventsource?types=Quota&closeafter=no&ping=0"
RAW = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\nMessage-ID: <%d@x>\r\n\r\nhello\r\n"


def limit(account_id: str, octets: int) -> None:
    from jmapd import quota
    from jmapd.db import ensure_connected, write_transaction
    from jmapd.state import ChangeLog

    ensure_connected()
    log = ChangeLog()
    with write_transaction(account_id):
        quota.set_limit(log, account_id, "octets", "", octets)
        log.flush()


def test_quota_state_is_pushed_on_every_charge(fast_server, sse):
    client = fast_server.client()
    limit(client.account_id, 100_000)
    first = deliver(fast_server.services, client.account_id, RAW % 1)
    stream = sse(client.http, URL)
    stream.wait_id()
    state = client.ok("Quota/get", {"ids": []}, ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:quota"])["state"]
    deliver(fast_server.services, client.account_id, RAW % 2)
    pushed = stream.next()["changed"][client.account_id]
    assert set(pushed) == {"Quota"} and pushed["Quota"] != state
    client.upload(b"pending upload", "text/plain")
    after_upload = stream.next()["changed"][client.account_id]["Quota"]
    assert after_upload != pushed["Quota"]
    # a keyword change uses no storage: the next push is the destroy's, not the keyword's
    client.ok("Email/set", {"update": {first: {"keywords/$seen": True}}})
    client.ok("Email/set", {"destroy": [first]})
    destroyed = stream.next()["changed"][client.account_id]["Quota"]
    assert destroyed != after_upload
    now = client.ok("Quota/get", {"ids": []}, ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:quota"])["state"]
    assert destroyed == now
    changes = client.ok("Quota/changes", {"sinceState": after_upload},
                        ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:quota"])
    assert changes["updated"] == ["storage"] and changes["newState"] == now
