"""Outbound relay against real aiosmtpd servers on 127.0.0.1."""

from __future__ import annotations

import random
import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
from jmapd_submission.domain.envelope import Address, Envelope, strip_bcc
from jmapd_submission.domain.relay import (
    Outcome,
    RecipientResult,
    RelayConfig,
    RetryPolicy,
    Security,
    backoff,
    flatten_reply,
    send,
)

MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.net\r\n"
    b"Bcc: secret@example.org\r\n"
    b"Subject: Test\r\n"
    b"\r\n"
    b"Hello.\r\n"
    b".leading dot must survive dot-stuffing\r\n"
    b"..two dots\r\n"
    b".\r\n"
    b"Bye.\r\n"
)


def envelope(*rcpts: str, sender: str = "alice@example.com", **mail_params) -> Envelope:
    return Envelope(Address(sender, mail_params or None), tuple(Address(r) for r in rcpts))


def plain(port: int, **kw) -> RelayConfig:
    return RelayConfig("127.0.0.1", port, security=Security.NONE, timeout=5, **kw)


def test_delivers_bytes_exactly(smtp_peer):
    server, handler = smtp_peer()
    raw = strip_bcc(MESSAGE)
    result = send(plain(server.port), envelope("bob@example.net", "carol@example.net"), raw)

    assert result.accepted == ["bob@example.net", "carol@example.net"]
    assert not result.needs_retry
    [got] = handler.received
    assert got.content == raw
    assert b"Bcc" not in got.content and b"secret@" not in got.content
    assert got.mail_from == "alice@example.com"
    assert got.rcpt_tos == ["bob@example.net", "carol@example.net"]
    assert f"SIZE={len(raw)}" in got.mail_options
    status = result.delivery_status()
    assert status["bob@example.net"] == {
        "smtpReply": "250 2.1.5 Recipient OK",
        "delivered": "unknown",
        "displayed": "unknown",
    }


def test_bare_lf_is_sent_as_crlf(smtp_peer):
    server, handler = smtp_peer()
    send(plain(server.port), envelope("bob@example.net"), b"Subject: x\n\nline\n")
    assert handler.received[0].content == b"Subject: x\r\n\r\nline\r\n"


def test_mail_parameters_and_null_sender(smtp_peer):
    server, handler = smtp_peer()
    result = send(
        plain(server.port, accepted_status="queued"),
        envelope("bob@example.net", sender="", BODY="8BITMIME"),
        b"Subject: caf\xc3\xa9\r\n\r\n\xc3\xa9\r\n",
    )
    assert result.accepted == ["bob@example.net"]
    assert result.delivery_status()["bob@example.net"]["delivered"] == "queued"
    got = handler.received[0]
    assert got.mail_from == "<>"
    assert "BODY=8BITMIME" in got.mail_options


def test_mixed_accepted_and_refused_recipients(smtp_peer):
    server, handler = smtp_peer()
    handler.rcpt_replies = {
        "nobody@example.net": "550 5.1.1 No such user",
        "busy@example.net": "452 4.2.2 Mailbox full",
    }
    env = envelope("bob@example.net", "nobody@example.net", "busy@example.net")
    result = send(plain(server.port), env, MESSAGE)

    assert result.accepted == ["bob@example.net"]
    assert result.permanent == ["nobody@example.net"]
    assert result.temporary == ["busy@example.net"]
    assert handler.received[0].rcpt_tos == ["bob@example.net"]
    status = result.delivery_status()
    assert status["nobody@example.net"] == {
        "smtpReply": "550 5.1.1 No such user",
        "delivered": "no",
        "displayed": "unknown",
    }
    assert status["busy@example.net"]["delivered"] == "queued"
    assert status["busy@example.net"]["smtpReply"] == "452 4.2.2 Mailbox full"
    retry = result.retry_envelope(env)
    assert retry is not None and retry.recipients == ["busy@example.net"]


def test_all_refused_sends_no_data(smtp_peer):
    server, handler = smtp_peer()
    handler.rcpt_replies = {"x@example.net": "550 5.1.1 Nope"}
    result = send(plain(server.port), envelope("x@example.net"), MESSAGE)
    assert result.permanent == ["x@example.net"]
    assert handler.received == []
    assert result.retry_envelope(envelope("x@example.net")) is None


def test_relay_answering_451_is_temporary(smtp_peer):
    server, handler = smtp_peer()
    handler.mail_reply = "451 4.3.2 System not accepting network messages"
    result = send(plain(server.port), envelope("bob@example.net", "carol@example.net"), MESSAGE)
    assert result.temporary == ["bob@example.net", "carol@example.net"]
    assert result.needs_retry
    assert result.delivery_status()["bob@example.net"] == {
        "smtpReply": "451 4.3.2 System not accepting network messages",
        "delivered": "queued",
        "displayed": "unknown",
    }
    assert handler.received == []


def test_data_rejection_applies_to_accepted_recipients(smtp_peer):
    server, handler = smtp_peer()
    handler.rcpt_replies = {"nobody@example.net": "550 5.1.1 No such user"}
    handler.data_reply = (
        "550-5.7.1 Our system has detected that this message is\r\n550 5.7.1 likely spam."
    )
    result = send(plain(server.port), envelope("bob@example.net", "nobody@example.net"), MESSAGE)
    assert result.permanent == ["bob@example.net", "nobody@example.net"]
    status = result.delivery_status()
    assert status["bob@example.net"]["smtpReply"] == (
        "550 5.7.1 Our system has detected that this message is likely spam."
    )
    assert status["nobody@example.net"]["smtpReply"] == "550 5.1.1 No such user"


def test_data_temporary_failure(smtp_peer):
    server, handler = smtp_peer()
    handler.data_reply = "451 4.7.1 Greylisted, try later"
    result = send(plain(server.port), envelope("bob@example.net"), MESSAGE)
    assert result.temporary == ["bob@example.net"]


def test_mail_from_permanent_failure(smtp_peer):
    server, handler = smtp_peer()
    handler.mail_reply = "553 5.7.1 Sender address rejected"
    result = send(plain(server.port), envelope("bob@example.net"), MESSAGE)
    assert result.permanent == ["bob@example.net"]


def test_connection_refused_is_temporary(free_port):
    result = send(plain(free_port), envelope("bob@example.net", "carol@example.net"), MESSAGE)
    assert result.temporary == ["bob@example.net", "carol@example.net"]
    reply = result.delivery_status()["bob@example.net"]["smtpReply"]
    assert reply.startswith("421 4.4.1 ")
    assert result.recipients[0].code == 421


def test_silent_server_times_out_as_temporary(silent_port):
    config = RelayConfig("127.0.0.1", silent_port, security="none", timeout=0.5)
    result = send(config, envelope("bob@example.net"), MESSAGE)
    assert result.temporary == ["bob@example.net"]


def test_session_refusal_at_helo_is_temporary(smtp_peer):
    # Session-level refusals describe our relay set-up, not the message.
    class Refusing:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            return ["554 5.7.1 Not allowed"]

        async def handle_HELO(self, server, session, envelope, hostname):
            return "554 5.7.1 Not allowed"

    server, _ = smtp_peer(handler=Refusing())
    result = send(plain(server.port), envelope("bob@example.net"), MESSAGE)
    assert result.temporary == ["bob@example.net"]
    assert result.recipients[0].reply == "554 5.7.1 Not allowed"


def test_size_limit_advertised_by_relay_is_permanent(smtp_peer):
    server, handler = smtp_peer(data_size_limit=100)
    result = send(plain(server.port), envelope("bob@example.net"), MESSAGE + b"x" * 200)
    assert result.permanent == ["bob@example.net"]
    assert result.recipients[0].reply.startswith("552 5.3.4")
    assert handler.received == []


def test_smtputf8_address_requires_extension(smtp_peer):
    server, handler = smtp_peer()
    env = envelope("jörg@example.net")
    result = send(plain(server.port), env, MESSAGE)
    assert result.permanent == ["jörg@example.net"]
    assert result.recipients[0].reply.startswith("553 5.6.7")

    server2, handler2 = smtp_peer(enable_SMTPUTF8=True)
    result = send(plain(server2.port), env, MESSAGE)
    assert result.accepted == ["jörg@example.net"]
    assert handler2.received[0].rcpt_tos == ["jörg@example.net"]


def test_starttls_with_auth(smtp_peer, tls, authenticator):
    server, handler = smtp_peer(
        tls_context=tls.server_context,
        require_starttls=True,
        authenticator=authenticator("relayuser", "s3cret"),
        auth_required=True,
    )
    config = RelayConfig(
        "127.0.0.1",
        server.port,
        security=Security.STARTTLS,
        username="relayuser",
        password="s3cret",
        ssl_context=tls.client_context,
        timeout=5,
    )
    result = send(config, envelope("bob@example.net"), MESSAGE)
    assert result.accepted == ["bob@example.net"]
    assert handler.received[0].content == MESSAGE

    bad = RelayConfig(
        "127.0.0.1",
        server.port,
        security="starttls",
        username="relayuser",
        password="wrong",
        ssl_context=tls.client_context,
        timeout=5,
    )
    result = send(bad, envelope("bob@example.net"), MESSAGE)
    assert result.temporary == ["bob@example.net"]
    assert result.recipients[0].reply.startswith("535")


def test_starttls_not_offered_is_not_downgraded(smtp_peer):
    server, handler = smtp_peer()
    config = RelayConfig("127.0.0.1", server.port, security="starttls", timeout=5)
    result = send(config, envelope("bob@example.net"), MESSAGE)
    assert result.temporary == ["bob@example.net"]
    assert "STARTTLS" in result.recipients[0].reply
    assert handler.received == []


def test_implicit_tls(smtp_peer, tls):
    server, handler = smtp_peer(ssl_context=tls.server_context)
    config = RelayConfig(
        "127.0.0.1", server.port, security="tls", ssl_context=tls.client_context, timeout=5
    )
    result = send(config, envelope("bob@example.net"), MESSAGE)
    assert result.accepted == ["bob@example.net"]
    assert handler.received[0].content == MESSAGE


def test_untrusted_certificate_is_temporary(smtp_peer, tls):
    server, _ = smtp_peer(ssl_context=tls.server_context)
    config = RelayConfig("127.0.0.1", server.port, security="tls", timeout=5)
    result = send(config, envelope("bob@example.net"), MESSAGE)
    assert result.temporary == ["bob@example.net"]


def test_config_requires_both_credentials():
    with pytest.raises(ValueError):
        RelayConfig("h", username="u")
    with pytest.raises(ValueError):
        RelayConfig("h", security="ssl")


def test_given_up_is_final():
    server_reply = flatten_reply(451, b"4.3.0 later")
    r = RecipientResult("a@b.c", 451, server_reply, Outcome.TEMPORARY)
    assert r.given_up().delivery_status() == {
        "smtpReply": "451 4.3.0 later",
        "delivered": "no",
        "displayed": "unknown",
    }


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (250, b"OK", "250 OK"),
        (250, b"", "250"),
        (550, b"5.7.1 first line\n5.7.1 second line", "550 5.7.1 first line second line"),
        (550, b"first line\nsecond line", "550 first line second line"),
        (451, b"4.3.0 Oops\nOh no", "451 4.3.0 Oops Oh no"),
    ],
)
def test_flatten_reply(code, text, expected):
    assert flatten_reply(code, text) == expected


def test_backoff_grows_caps_and_jitters():
    policy = RetryPolicy(base=60, factor=2, cap=3600, jitter=0.25)
    rng = random.Random(1)
    delays = [backoff(n, policy=policy, rng=rng) for n in range(1, 12)]
    assert 45 <= delays[0] <= 60
    assert 90 <= delays[1] <= 120
    assert all(d <= 3600 for d in delays)
    assert delays[-1] >= 3600 * 0.75
    assert backoff(10_000, policy=policy, rng=rng) <= 3600
    no_jitter = RetryPolicy(base=10, factor=3, cap=1000, jitter=0)
    assert [no_jitter.delay(n) for n in (1, 2, 3, 4, 5)] == [10, 30, 90, 270, 810]
    assert len({backoff(3) for _ in range(20)}) > 1  # default jitter spreads retries
    with pytest.raises(ValueError):
        backoff(0)


def test_retry_policy_expiry():
    policy = RetryPolicy(max_age=timedelta(days=5))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert not policy.expired(start, start + timedelta(days=4, hours=23))
    assert policy.expired(start, start + timedelta(days=5))


def test_connection_lost_during_data():
    """A peer that hangs up at DATA: accepted recipients become temporary,
    recipients already refused keep their permanent RCPT reply."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 scripted.test ESMTP\r\n")
            for line in lines:
                verb = line[:4].upper()
                if verb == b"EHLO":
                    conn.sendall(b"250 scripted.test\r\n")
                elif verb == b"MAIL":
                    conn.sendall(b"250 2.1.0 OK\r\n")
                elif verb == b"RCPT":
                    refused = b"nobody@" in line
                    conn.sendall(b"550 5.1.1 Unknown\r\n" if refused else b"250 2.1.5 OK\r\n")
                else:  # DATA: drop the connection
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        result = send(plain(port), envelope("bob@example.net", "nobody@example.net"), MESSAGE)
    finally:
        thread.join(5)
        listener.close()
    assert result.temporary == ["bob@example.net"]
    assert result.permanent == ["nobody@example.net"]
    assert result.recipients[0].reply.startswith("421 4.4.2")
