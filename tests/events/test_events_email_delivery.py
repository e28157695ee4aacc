"""The push-only EmailDelivery type (RFC 8621 §1.5, issue #9.2).

Its state MUST change whenever a new Email is added to the store and SHOULD
NOT change on any other change to Emails (marked read, moved, destroyed).
"""

from __future__ import annotations

from jmapd_mail.api import deliver

URL = "/jmap/eventsource?types=EmailDelivery&closeafter=no&ping=0"
RAW = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\nMessage-ID: <%d@x>\r\n\r\nhello\r\n"


def test_only_new_email_moves_email_delivery(fast_server, sse):
    client = fast_server.client()
    first = deliver(fast_server.services, client.account_id, RAW % 1)
    stream = sse(client.http, URL)
    everything = sse(client.http, "/jmap/eventsource?types=*&closeafter=no&ping=0")
    stream.wait_id()
    # changes to an existing Email: Email and Mailbox move, EmailDelivery does not
    client.ok("Email/set", {"update": {first: {"keywords/$seen": True}}})
    assert "Email" in everything.next()["changed"][client.account_id]
    client.ok("Email/set", {"destroy": [first]})
    # the positive control: the delivery is the first event this stream hears
    second = deliver(fast_server.services, client.account_id, RAW % 2)
    change = stream.next()["changed"][client.account_id]
    assert set(change) == {"EmailDelivery"}
    # ...and it carries the delivery's state: had the keyword change or the
    # destroy moved EmailDelivery, this stream's first event would be older.
    while "EmailDelivery" not in (seen := everything.next()["changed"][client.account_id]):
        pass
    assert seen["EmailDelivery"] == change["EmailDelivery"]
    # an import and a created draft add Emails to the store too
    blob = client.upload(RAW % 3, "message/rfc822")["blobId"]
    inbox = next(m["id"] for m in client.ok("Mailbox/get", {"ids": None})["list"] if m["role"] == "inbox")
    client.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": {inbox: True}}}})
    nxt = stream.next()["changed"][client.account_id]
    assert nxt["EmailDelivery"] != change["EmailDelivery"]
    assert second


def test_a_local_submission_moves_the_recipients_email_delivery(fast_server, sse):
    """Alice's EmailSubmission to bob on the same server is delivered into bob's
    account (#9.9): bob's EmailDelivery stream hears of it."""
    alice, bob = fast_server.client(), fast_server.client()
    stream = sse(bob.http, URL)
    stream.wait_id()
    raw = (
        f"From: <{alice.user}@localhost>\r\nTo: <{bob.user}@localhost>\r\nSubject: local\r\n"
        "Message-ID: <local-1@x>\r\n\r\nhello\r\n"
    ).encode()
    draft = deliver(fast_server.services, alice.account_id, raw, mailbox_role="drafts")
    identity = alice.ok("Identity/get")["list"][0]["id"]
    alice.ok("EmailSubmission/set", {"create": {"k": {"identityId": identity, "emailId": draft}}})
    change = stream.next()["changed"]
    assert "EmailDelivery" in change[bob.account_id]
    assert bob.ok("Email/query", {"filter": {"subject": "local"}})["ids"]
