"""Every EmailSubmission/set error RFC 8621 §7.5 names, where it applies."""

from __future__ import annotations


def not_created(me, raw=None, **create):
    _, result = me.submit(raw, **create)
    assert not result.get("created"), result
    return result["notCreated"]["k"]


def test_no_relay_is_forbidden_to_send(mailer_for, jmap_server):
    me = mailer_for(jmap_server)
    assert not_created(me)["type"] == "forbiddenToSend"


def test_forbidden_user_and_rate_limit(relay, make_server, mailer_for):
    server = make_server({"submission": relay.config(forbidden_users=["blocked"], max_submissions_per_hour=1)})
    blocked = mailer_for(server, server.client(*server.make_user("blocked")))
    assert not_created(blocked)["type"] == "forbiddenToSend"
    me = mailer_for(server)
    assert me.submit()[1]["created"]
    error = not_created(me)
    assert error["type"] == "forbiddenToSend" and "hour" in error["description"]


def test_unknown_identity_or_email(relay, sending, mailer_for):
    me = mailer_for(sending())
    assert not_created(me, identityId="Inope")["properties"] == ["identityId"]
    assert not_created(me, emailId="Mnope")["properties"] == ["emailId"]
    other = mailer_for(me.server)
    foreign = other.store(other.message())
    assert not_created(me, emailId=foreign)["properties"] == ["emailId"]


def test_forbidden_from_and_mail_from(relay, sending, mailer_for):
    me = mailer_for(sending())
    assert not_created(me, me.message(sender="boss@example.com"))["type"] == "forbiddenFrom"
    envelope = {"mailFrom": {"email": "boss@example.com"}, "rcptTo": [{"email": "x@example.net"}]}
    assert not_created(me, envelope=envelope)["type"] == "forbiddenMailFrom"
    # the null reverse-path is allowed
    envelope["mailFrom"]["email"] = ""
    assert me.submit(envelope=envelope)[1]["created"]


def test_sender_header_not_allowed_falls_back_to_identity(relay, sending, mailer_for):
    me = mailer_for(sending())
    _, result = me.submit(me.message(extra="Sender: someone@else.example\r\n"))
    assert result["created"]["k"]["envelope"]["mailFrom"]["email"] == me.address


def test_invalid_email(relay, sending, mailer_for):
    me = mailer_for(sending())
    raw = b"To: x@example.net\r\nSubject: no from\r\n\r\nbody\r\n"
    error = not_created(me, raw)
    assert error["type"] == "invalidEmail" and error["properties"] == ["from"]
    two_froms = me.message(extra=f"From: {me.address}\r\n")
    assert not_created(me, two_froms)["type"] == "invalidEmail"
    garbage_to = me.message(to="a@b> SIZE=1")
    assert not_created(me, garbage_to)["type"] == "invalidEmail"


def test_recipient_errors(relay, sending, mailer_for):
    me = mailer_for(sending(max_recipients=2))
    assert not_created(me, me.message(to="undisclosed-recipients:;"))["type"] == "noRecipients"
    error = not_created(me, me.message(to="a@example.net, b@example.net, c@example.net"))
    assert error == {**error, "type": "tooManyRecipients", "maxRecipients": 2}
    envelope = {"mailFrom": {"email": me.address}, "rcptTo": []}
    assert not_created(me, envelope=envelope)["type"] == "noRecipients"


def test_too_large(relay, sending, mailer_for):
    me = mailer_for(sending(max_message_size=200))
    error = not_created(me, me.message(extra="X-Padding: " + "x" * 300 + "\r\n"))
    assert error == {**error, "type": "tooLarge", "maxSize": 200}


def test_smtp_injection_is_refused(relay, sending, mailer_for):
    me = mailer_for(sending())

    def envelope(mail_from=None, rcpt="x@example.net", mail_params=None, rcpt_params=None):
        return {
            "mailFrom": {"email": mail_from or me.address, "parameters": mail_params},
            "rcptTo": [{"email": rcpt, "parameters": rcpt_params}],
        }

    for bad in (f"{me.address}> SIZE=1", f"{me.address}\r\nRCPT TO:<evil@example.net>", f"<{me.address}>"):
        error = not_created(me, envelope=envelope(mail_from=bad))
        assert error["type"] == "invalidProperties" and error["properties"] == ["envelope/mailFrom/email"], bad
    for bad in ("x@example.net> NOTIFY=NEVER", "x@example.net\r\nDATA", "x@example.net SIZE=1"):
        error = not_created(me, envelope=envelope(rcpt=bad))
        assert error == {**error, "type": "invalidRecipients", "invalidRecipients": [bad]}, bad
    for params in ({"SIZE": "1 BODY=8BITMIME"}, {"BODY": "8BITMIME\r\nRSET"}, {"X-A=B": None}, {"NOTIFY": "NEVER"}):
        error = not_created(me, envelope=envelope(mail_params=params))
        assert error["type"] == "invalidProperties", params
        assert [p.rpartition("/")[0] for p in error["properties"]] == ["envelope/mailFrom/parameters"], error
    error = not_created(me, envelope=envelope(rcpt_params={"NOTIFY": "NEVER DATA"}))
    assert error["type"] == "invalidProperties"
    error = not_created(me, envelope={"mailFrom": {"email": me.address}, "rcptTo": "x@example.net"})
    assert error["type"] == "invalidProperties"
    # The positive control: a clean submission after them is sent, and it is
    # the only one that reached the relay.
    me.submit(me.message(subject="control " + me.tag))
    assert relay.wait(lambda r: b"Subject: control " + me.tag.encode() in r.content)
    sent = relay.messages(lambda r: me.tag.encode() in r.content)
    assert [r.rcpt_tos for r in sent] == [["bob@example.net"]] and b"control" in sent[0].content


def test_server_set_and_bad_arguments(relay, sending, mailer_for):
    me = mailer_for(sending())
    for prop, value in (("undoStatus", "final"), ("sendAt", "2030-01-01T00:00:00Z"), ("threadId", "T1")):
        error = not_created(me, **{prop: value})
        assert error["type"] == "invalidProperties" and error["properties"] == [prop]
    name, error = me.client.call("EmailSubmission/set", {"onSuccessDestroyEmail": "x"})
    assert (name, error["type"]) == ("error", "invalidArguments")
    name, error = me.client.call("EmailSubmission/set", {"onSuccessUpdateEmail": {"#k": True}})
    assert (name, error["type"]) == ("error", "invalidArguments")


def test_bad_relay_settings_stop_start_up(make_server):
    import pytest

    from jmapd.config import ConfigError

    with pytest.raises(ConfigError, match="submission.smarthost.security"):
        make_server({"submission": {"smarthost": {"host": "127.0.0.1", "security": "ssl"}}})
    with pytest.raises(ConfigError, match="user and password"):
        make_server({"submission": {"smarthost": {"host": "127.0.0.1", "user": "x"}}})


def test_every_invalid_property_is_named(relay, sending, mailer_for):
    """#9.5: identityId, emailId, undoStatus and each bad envelope path in one
    SetError, with an unknown property from the generic checks; Identity/set
    names every bad address member; nothing is queued or created."""
    me = mailer_for(sending())
    envelope = {"mailFrom": {"email": 5}, "rcptTo": "x@example.net", "extra": 1}
    error = not_created(me, identityId="Inope", emailId="Mnope", undoStatus="final", envelope=envelope, nosuch=1)
    assert sorted(error["properties"]) == sorted([
        "identityId", "emailId", "undoStatus", "nosuch",
        "envelope/mailFrom/email", "envelope/rcptTo", "envelope/extra",
    ]), error
    assert me.client.ok("EmailSubmission/query", {})["ids"] == []
    before = me.client.ok("Identity/get")["list"]
    resp = me.client.ok("Identity/set", {"create": {"i": {
        "email": me.address, "name": 7, "bcc": "no",
        "replyTo": [{"email": "not an address"}, {"email": "ok@example.com"}, {"name": 5, "email": "b@example.com", "x": 1}],
    }}})
    err = resp["notCreated"]["i"]
    assert err["type"] == "invalidProperties"
    assert sorted(err["properties"]) == ["bcc", "name", "replyTo/0/email", "replyTo/2/name", "replyTo/2/x"], err
    assert me.client.ok("Identity/get")["list"] == before
