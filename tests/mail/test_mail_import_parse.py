"""Email/import, Email/parse and robustness against malformed MIME (RFC 8621 §4.8, §4.9)."""

from __future__ import annotations

ATTACHED = (
    b"From: outer@example.com\r\nTo: me@example.com\r\nSubject: Fwd: inner\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
    b"--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    b"--B\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=inner.eml\r\n\r\n"
    b"From: Inner <inner@example.com>\r\nSubject: inner\r\nMessage-ID: <inner@x>\r\n\r\ninner body\r\n"
    b"--B--\r\n"
)


def test_import_errors_and_state(client, mail, make_message):
    inbox = mail.role("inbox")
    good = client.upload(make_message("imported", message_id="imp@x"), "message/rfc822")["blobId"]
    empty = client.upload(b"   \r\n", "message/rfc822")["blobId"]
    state = client.ok("Email/get", {"ids": []})["state"]
    name, err = client.call("Email/import", {"ifInState": "999999", "emails": {}})
    assert (name, err["type"]) == ("error", "stateMismatch")
    resp = client.ok("Email/import", {"ifInState": state, "emails": {
        "ok": {"blobId": good, "mailboxIds": {inbox: True}, "keywords": {"$seen": True}, "receivedAt": "2020-05-05T05:05:05Z"},
        "noblob": {"blobId": "B" + "0" * 64, "mailboxIds": {inbox: True}},
        "nobox": {"blobId": good, "mailboxIds": {}},
        "badbox": {"blobId": good, "mailboxIds": {"mnope": True}},
        "badkw": {"blobId": good, "mailboxIds": {inbox: True}, "keywords": {"a b": True}},
        "empty": {"blobId": empty, "mailboxIds": {inbox: True}},
        "extra": {"blobId": good, "mailboxIds": {inbox: True}, "subject": "x"},
        "allbad": {"blobId": "Bnothere", "mailboxIds": {"mnope": True, inbox: "yes"},
                   "keywords": {"a b": True}, "receivedAt": "yesterday", "subject": "x"},
    }})
    assert set(resp["created"]) == {"ok"} and resp["oldState"] == state and resp["newState"] != state
    errors = resp["notCreated"]
    # RFC 8621 §4.8: an unknown blobId is invalidProperties (issue #9.4) ...
    assert errors["noblob"]["type"] == "invalidProperties" and errors["noblob"]["properties"] == ["blobId"]
    # ... and every invalid property is named at once (issue #9.5, RFC 8620 §5.3)
    assert errors["allbad"]["type"] == "invalidProperties"
    assert sorted(errors["allbad"]["properties"]) == sorted(
        ["blobId", f"mailboxIds/{inbox}", "mailboxIds/mnope", "keywords/a b", "receivedAt", "subject"]
    )
    assert errors["nobox"]["properties"] == ["mailboxIds"]
    assert errors["badbox"]["properties"] == ["mailboxIds/mnope"]
    assert errors["badkw"]["type"] == "invalidProperties" and errors["badkw"]["properties"] == ["keywords/a b"]
    assert errors["empty"]["type"] == "invalidEmail"
    assert errors["extra"]["properties"] == ["subject"]
    email = client.ok("Email/get", {"ids": [resp["created"]["ok"]["id"]], "properties": ["receivedAt", "subject"]})["list"][0]
    assert email["receivedAt"] == "2020-05-05T05:05:05Z" and email["subject"] == "imported"
    changes = client.ok("Email/changes", {"sinceState": state})
    assert changes["created"] == [resp["created"]["ok"]["id"]]


def test_import_uses_received_header_date(client, mail, make_message):
    raw = make_message("dated", extra="").replace(
        b"From:", b"Received: from mx.example.com by mail.example.org; Fri, 3 Sep 2021 12:00:00 +0200\r\nFrom:", 1
    )
    created = mail.import_(raw)
    got = client.ok("Email/get", {"ids": [created["id"]], "properties": ["receivedAt"]})["list"][0]
    assert got["receivedAt"] == "2021-09-03T10:00:00Z"


def test_parse_uploaded_and_attached_message(client, mail):
    blob = client.upload(ATTACHED, "message/rfc822")["blobId"]
    resp = client.ok("Email/parse", {"blobIds": [blob, "B" + "1" * 64], "fetchTextBodyValues": True})
    parsed = resp["parsed"][blob]
    assert parsed["subject"] == "Fwd: inner" and resp["notFound"] == ["B" + "1" * 64]
    assert parsed["attachments"][0]["type"] == "message/rfc822"
    created = mail.import_(ATTACHED)
    email = client.ok("Email/get", {"ids": [created["id"]], "properties": ["attachments"]})["list"][0]
    part_blob = email["attachments"][0]["blobId"]
    resp = client.ok("Email/parse", {"blobIds": [part_blob], "properties": ["subject", "from", "messageId", "id", "blobId", "size"]})
    inner = resp["parsed"][part_blob]
    assert inner["subject"] == "inner" and inner["messageId"] == ["inner@x"]
    assert inner["id"] is None and inner["blobId"] == part_blob
    assert inner["from"] == [{"name": "Inner", "email": "inner@example.com"}]
    name, err = client.call("Email/parse", {"blobIds": [blob], "properties": ["header:Subject:asAddresses"]})
    assert (name, err["type"]) == ("error", "invalidArguments")
    resp = client.ok("Email/parse", {"blobIds": [client.upload(b"\x00\x01binary", "application/octet-stream")["blobId"]]})
    assert resp["notParsable"] and resp["parsed"] is None
    # a part blob can also be imported as an Email of its own
    inbox = mail.role("inbox")
    imported = client.ok("Email/import", {"emails": {"p": {"blobId": part_blob, "mailboxIds": {inbox: True}}}})
    assert imported["created"]["p"]["size"] > 0


def test_malformed_mime_never_breaks(client, mail):
    nasty = [
        b"Content-Type: multipart/mixed; boundary=\"\r\n\r\n--\r\n--\r\n",
        b"Subject: deep\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 2000,
        b"Subject: " + b"=?utf-8?b?" + b"A" * 200_000 + b"?=\r\n\r\nbody",
        b"From: <<<@@@>>>\r\nTo: ,,,;;;:::\r\nDate: not a date\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!====",
        b"Subject: x\r\nContent-Type: text/plain; charset=x-unknown-charset\r\n\r\n\xff\xfe\xfd",
        b"X:" + b" " * 100_000 + b"\r\n\r\n",
    ]
    for raw in nasty:
        created = mail.import_(raw)
        got = client.ok("Email/get", {"ids": [created["id"]], "fetchAllBodyValues": True,
                                      "properties": ["subject", "from", "to", "sentAt", "bodyStructure", "bodyValues", "preview"]})
        assert got["list"][0]["id"] == created["id"]
    assert client.ok("Email/query", {"filter": {"text": "anything"}})["ids"] == []
