"""MDN/send and MDN/parse (RFC 9007) over HTTP, with the RFC's samples:
the report goes out through the queue with a null envelope sender, the
Email gets $mdnsent through the implicit Email/set, a second MDN is
mdnAlreadySent, and a received report parses back into an MDN object."""

from __future__ import annotations

import re
import uuid

from jmapd.testing import wait_for

MDN = "urn:ietf:params:jmap:mdn"
USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:submission", MDN]
DISPOSITION = {"actionMode": "manual-action", "sendingMode": "mdn-sent-manually", "type": "displayed"}


def receive(client, dnt: str | None = "joe@example.com", message_id: str | None = None) -> tuple[str, str]:
    """An Email in the client's inbox asking for a receipt; (email id, Message-ID)."""
    message_id = message_id or f"{uuid.uuid4().hex}@example.org"
    head = f"Disposition-Notification-To: {dnt}\r\n" if dnt else ""
    raw = (f"From: Joe Bloggs <joe@example.com>\r\nTo: {client.user}@localhost\r\nSubject: World domination\r\n"
           f"Message-ID: <{message_id}>\r\n{head}\r\nThe plan.\r\n").encode()
    blob = client.upload(raw, "message/rfc822")["blobId"]
    inbox = next(m["id"] for m in client.ok("Mailbox/get")["list"] if m["role"] == "inbox")
    created = client.ok("Email/import", {"emails": {"e": {"blobId": blob, "mailboxIds": {inbox: True}}}})["created"]
    return str(created["e"]["id"]), message_id


def identity(client) -> dict:
    return dict(client.ok("Identity/get", {}, USING)["list"][0])


def send(client, args):
    return client.request([["MDN/send", {"accountId": client.account_id, **args}, "0"]], USING)["methodResponses"]


def test_capability(client):
    assert client.session["capabilities"][MDN] == {}
    assert client.session["accounts"][client.account_id]["accountCapabilities"][MDN] == {}


def test_send_the_rfc_sample(relay, make_server):
    server = make_server({"submission": relay.config()})
    client = server.client()
    email_id, message_id = receive(client)
    me = identity(client)
    responses = send(client, {
        "identityId": me["id"],
        "send": {"k1546": {
            "forEmailId": email_id,
            "subject": "Read receipt for: World domination",
            "textBody": "This receipt shows that the email has been displayed on your recipient's computer.",
            "reportingUA": "joes-pc.cs.example.com; Foomail 97.1",
            "disposition": DISPOSITION,
            "extensionFields": {"EXTENSION-EXAMPLE": "example.com"},
        }},
        "onSuccessUpdateEmail": {email_id: {"keywords/$mdnsent": True}},
    })
    (name, result, _), (set_name, email_set, _) = responses
    assert name == "MDN/send" and result["notSent"] is None
    sent = result["sent"]["k1546"]
    assert sent["finalRecipient"] == f"rfc822; {me['email']}"
    assert sent["originalMessageId"] == f"<{message_id}>"
    assert set_name == "Email/set" and list(email_set["updated"]) == [email_id]
    got = client.ok("Email/get", {"ids": [email_id], "properties": ["keywords"]})["list"][0]
    assert got["keywords"].get("$mdnsent") is True
    [report] = relay.wait(lambda r: r.rcpt_tos == ["joe@example.com"])
    assert report.mail_from in ("<>", "")  # RFC 8098: nothing may answer an MDN
    # #9.8: the identity is at localhost; the MDN's own Message-ID names no localhost
    own_id = re.search(rb"^Message-ID: *<[^>]*@([^>]*)>", report.content, re.M | re.I)
    assert own_id and own_id.group(1).lower() != b"localhost", report.content[:400]
    assert b"report-type=\"disposition-notification\"" in report.content or \
        b"report-type=disposition-notification" in report.content
    assert b"Disposition: manual-action/mdn-sent-manually; displayed" in report.content
    assert f"Original-Message-ID: <{message_id}>".encode() in report.content
    assert b"Reporting-UA: joes-pc.cs.example.com; Foomail 97.1" in report.content
    assert b"EXTENSION-EXAMPLE: example.com" in report.content
    # the RFC's third sample: $mdnsent already set
    (name, again, _), = send(client, {"identityId": me["id"], "send": {"k1546": {"forEmailId": email_id,
                                                                                 "disposition": DISPOSITION}},
                                      "onSuccessUpdateEmail": {email_id: {"keywords/$mdnsent": True}}})
    assert again["sent"] is None and again["notSent"]["k1546"]["type"] == "mdnAlreadySent"
    assert len(relay.messages()) == 1

    # the report the relay got parses back (RFC 9007 §3.4 sample)
    blob = client.upload(report.content, "message/rfc822")["blobId"]
    parsed = client.ok("MDN/parse", {"blobIds": [blob, "Gmissing"]}, USING)
    mdn = parsed["parsed"][blob]
    assert mdn["forEmailId"] == email_id  # the account has the original message
    assert mdn["subject"] == "Read receipt for: World domination"
    assert mdn["textBody"].startswith("This receipt shows")
    assert mdn["reportingUA"] == "joes-pc.cs.example.com; Foomail 97.1"
    assert mdn["disposition"] == DISPOSITION
    assert mdn["finalRecipient"] == f"rfc822; {me['email']}"
    assert mdn["originalMessageId"] == f"<{message_id}>"
    assert mdn["extensionFields"] == {"EXTENSION-EXAMPLE": "example.com"}
    assert mdn["includeOriginalMessage"] is False
    assert parsed["notFound"] == ["Gmissing"] and parsed["notParsable"] is None


def test_send_errors(relay, make_server):
    server = make_server({"submission": relay.config()})
    client = server.client()
    email_id, _ = receive(client)
    plain_id, _ = receive(client, dnt=None)
    me = identity(client)

    def one(mdn, update=None):
        update = update if update is not None else {mdn.get("forEmailId", email_id): {"keywords/$mdnsent": True}}
        return send(client, {"identityId": me["id"], "send": {"m": mdn}, "onSuccessUpdateEmail": update})

    # no $mdnsent in onSuccessUpdateEmail: the whole call is refused
    [(name, error, _)] = one({"forEmailId": email_id, "disposition": DISPOSITION}, update={})
    assert (name, error["type"]) == ("error", "invalidArguments")
    [(name, error, _)] = send(client, {"identityId": "Inope", "send": {}})
    assert (name, error["type"]) == ("error", "invalidArguments")
    [(_, result, _)] = one({"forEmailId": plain_id, "disposition": DISPOSITION})
    assert result["notSent"]["m"]["type"] == "notFound"
    [(_, result, _)] = one({"forEmailId": "Mnope", "disposition": DISPOSITION})
    assert result["notSent"]["m"]["type"] == "notFound"
    [(_, result, _)] = one({"forEmailId": email_id, "disposition": {**DISPOSITION, "type": "read"},
                            "originalMessageId": "<x@y>"})
    assert result["notSent"]["m"]["type"] == "invalidProperties"
    assert set(result["notSent"]["m"]["properties"]) == {"disposition/type", "originalMessageId"}
    [(_, result, _)] = one({"forEmailId": email_id, "disposition": DISPOSITION,
                            "finalRecipient": "rfc822; ceo@example.com"})
    assert result["notSent"]["m"]["type"] == "forbiddenFrom"
    name, error = client.call("MDN/send", {"identityId": me["id"], "send": {}},
                              ["urn:ietf:params:jmap:core", MDN])
    assert (name, error["type"]) == ("error", "unknownMethod")
    # nothing was sent and no keyword set by any of these
    assert relay.messages() == []
    got = client.ok("Email/get", {"ids": [email_id], "properties": ["keywords"]})["list"][0]
    assert "$mdnsent" not in got["keywords"]
    # positive control: the same call done right is sent
    [(_, result, _), _] = one({"forEmailId": email_id, "disposition": DISPOSITION})
    assert "m" in result["sent"]
    assert wait_for(lambda: relay.messages(), lambda m: len(m) == 1)


def test_parse_not_parsable_and_unknown_original(client):
    note = client.upload(b"Subject: hello\r\n\r\nnot a report\r\n", "message/rfc822")["blobId"]
    report = (b"From: a@example.net\r\nSubject: receipt\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n\r\n"
              b"--b\r\nContent-Type: text/plain\r\n\r\nShown.\r\n"
              b"--b\r\nContent-Type: message/disposition-notification\r\n\r\n"
              b"Final-Recipient: rfc822; a@example.net\r\nOriginal-Message-ID: <nowhere@example.net>\r\n"
              b"Disposition: Automatic-Action/MDN-sent-automatically; Deleted\r\nError: disk full\r\n"
              b"--b--\r\n")
    blob = client.upload(report, "message/rfc822")["blobId"]
    parsed = client.ok("MDN/parse", {"blobIds": [note, blob]}, USING)
    assert parsed["notParsable"] == [note]
    mdn = parsed["parsed"][blob]
    assert mdn["disposition"] == {"actionMode": "automatic-action", "sendingMode": "mdn-sent-automatically",
                                  "type": "deleted"}  # lowercased, RFC 9007 §2
    assert mdn["forEmailId"] is None and mdn["error"] == ["disk full"] and mdn["textBody"] == "Shown."
    name, error = client.call("MDN/parse", {"accountId": "nobody", "blobIds": []}, USING)
    assert (name, error["type"]) == ("error", "invalidArguments")


def test_a_report_is_read_whatever_its_line_endings_and_folding_and_other_mail_is_not():
    """The byte scan that spares ordinary deliveries the MIME parse turns away no report."""
    from jmapd_mdn.domain.dsn import read

    report = (b"From: MAILER-DAEMON@example.org\nTo: a@example.com\nMIME-Version: 1.0\n"
              b"Content-Type: MULTIPART/Report;\n\treport-type=delivery-status; boundary=b\n\n"
              b"--b\nContent-Type: text/plain\n\nNo.\n--b\nContent-Type: message/delivery-status\n\n"
              b"Original-Envelope-Id: S1\nReporting-MTA: dns; mx.example.org\n\n"
              b"Final-Recipient: rfc822; bob@example.net\nAction: failed\nStatus: 5.1.1\n\n--b--\n")
    outcome = read(report)
    assert outcome is not None and outcome.envelope_id == "S1"
    assert outcome.statuses == {"bob@example.net": {"delivered": "no"}}
    # "report" in the body only: plain mail, not a report
    assert read(b"From: a@example.com\r\nSubject: hi\r\n\r\nthe multipart/report you asked for\r\n") is None
