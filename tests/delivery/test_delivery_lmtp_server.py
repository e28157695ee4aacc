"""The LMTP server driven by smtplib.LMTP over 127.0.0.1."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import threading

import pytest
from jmapd_delivery.lmtp import (
    DeliveryResult,
    LMTPServer,
    PermanentDeliveryError,
    TransientDeliveryError,
)

USERS = {
    "alice@example.com",
    "bob@example.com",
    "flaky@example.com",
    "broken@example.com",
    "bounce@example.com",
    "slow@example.com",
    "weird@example.com",
}


class Store:
    """Delivery callback double that records calls and fails on request."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str, bytes]] = []
        self.threads: set[str] = set()
        self.release_slow = threading.Event()
        self.slow_entered = threading.Event()
        self.lock = threading.Lock()

    def deliver(self, recipient: str, mail_from: str, raw: bytes) -> DeliveryResult:
        self.threads.add(threading.current_thread().name)
        if recipient == "flaky@example.com":
            raise TransientDeliveryError("database is locked")
        if recipient == "broken@example.com":
            raise RuntimeError("bug in the store")
        if recipient == "bounce@example.com":
            raise PermanentDeliveryError("mailbox deleted")
        if recipient == "weird@example.com":
            return DeliveryResult(452, "4.2.2 Over quota\r\n250 injected")
        if recipient == "slow@example.com":
            self.slow_entered.set()
            assert self.release_slow.wait(10)
        with self.lock:
            self.delivered.append((recipient, mail_from, raw))
        return DeliveryResult.delivered(f"2.0.0 Delivered to {recipient}")

    @staticmethod
    def check(address: str) -> tuple[int, str]:
        if address == "explode@example.com":
            raise OSError("directory unavailable")
        if address.lower() in USERS:
            return 250, "2.1.5 OK"
        return 550, "5.1.1 No such user here"


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def server(store):
    srv = LMTPServer(
        store.deliver,
        check_recipient=store.check,
        port=0,
        max_message_size=4096,
        max_recipients=5,
        hostname="lmtp.test",
    )
    srv.start()
    yield srv
    store.release_slow.set()
    srv.stop()


def transaction(port: int, mail_from: str, rcpts: list[str], data: bytes):
    """One LMTP transaction; returns (MAIL reply, RCPT replies, DATA replies).

    smtplib.LMTP.sendmail reads a single reply after DATA, which is the SMTP
    contract, so the LMTP part is driven by hand.
    """
    client = smtplib.LMTP("127.0.0.1", port)
    try:
        client.ehlo("client.test")
        mail = client.docmd(f"MAIL FROM:<{mail_from}>")
        rcpt_replies = [client.docmd(f"RCPT TO:<{r}>") for r in rcpts]
        accepted = sum(1 for code, _ in rcpt_replies if code == 250)
        code, _ = client.docmd("DATA")
        if code != 354:
            return mail, rcpt_replies, [(code, b"")]
        payload = data.replace(b"\r\n.", b"\r\n..")
        if payload.startswith(b"."):
            payload = b"." + payload
        client.send(payload + b".\r\n")
        data_replies = [client.getreply() for _ in range(max(accepted, 1))]
        assert client.noop()[0] == 250  # stream is still in sync
        return mail, rcpt_replies, data_replies
    finally:
        client.close()


MESSAGE = b"From: x@example.net\r\nSubject: hi\r\n\r\n.starts with a dot\r\nbody\r\n"


def test_per_recipient_replies(server, store):
    mail, rcpts, data = transaction(
        server.port,
        "sender@example.net",
        ["alice@example.com", "nobody@example.com", "flaky@example.com", "bob@example.com"],
        MESSAGE,
    )
    assert mail[0] == 250
    assert [c for c, _ in rcpts] == [250, 550, 250, 250]
    assert rcpts[1] == (550, b"5.1.1 No such user here")
    assert data == [
        (250, b"2.0.0 Delivered to alice@example.com"),
        (451, b"4.3.0 Temporary local delivery failure, try again later"),
        (250, b"2.0.0 Delivered to bob@example.com"),
    ]
    assert store.delivered == [
        ("alice@example.com", "sender@example.net", MESSAGE),
        ("bob@example.com", "sender@example.net", MESSAGE),
    ]


def test_delivery_runs_off_the_event_loop(server, store):
    transaction(server.port, "s@example.net", ["alice@example.com"], MESSAGE)
    assert store.threads and all(name.startswith("lmtp-deliver") for name in store.threads)


def test_unknown_user_rejected_at_rcpt(server, store):
    _, rcpts, data = transaction(server.port, "s@example.net", ["ghost@example.com"], MESSAGE)
    assert rcpts == [(550, b"5.1.1 No such user here")]
    assert data[0][0] == 503  # no valid recipients, DATA refused
    assert store.delivered == []


def test_null_sender_is_empty_string(server, store):
    transaction(server.port, "", ["alice@example.com"], MESSAGE)
    assert store.delivered[0][1] == ""


def test_failure_kinds(server, store):
    _, _, data = transaction(
        server.port,
        "s@example.net",
        ["broken@example.com", "bounce@example.com", "weird@example.com"],
        MESSAGE,
    )
    assert data[0] == (451, b"4.3.0 Internal error during delivery, try again later")
    assert data[1] == (554, b"5.3.0 Local delivery failed")
    # CR/LF from the callback cannot inject an extra reply line.
    assert data[2] == (452, b"4.2.2 Over quota 250 injected")


def test_recipient_check_error_is_temporary(server):
    _, rcpts, _ = transaction(server.port, "s@example.net", ["explode@example.com"], MESSAGE)
    assert rcpts[0][0] == 451


def test_too_many_recipients(server):
    rcpts = ["alice@example.com"] * 6
    _, replies, data = transaction(server.port, "s@example.net", rcpts, MESSAGE)
    assert [c for c, _ in replies] == [250] * 5 + [452]
    assert [c for c, _ in data] == [250] * 5


def test_declared_size_over_limit_552_at_mail(server):
    client = smtplib.LMTP("127.0.0.1", server.port)
    try:
        client.ehlo("c")
        assert client.has_extn("size")
        code, _ = client.docmd("MAIL FROM:<s@example.net> SIZE=999999")
        assert code == 552
    finally:
        client.close()


def test_oversized_data_gets_552_per_recipient(server, store):
    big = MESSAGE + (b"x" * 70 + b"\r\n") * 80
    _, rcpts, data = transaction(
        server.port, "s@example.net", ["alice@example.com", "bob@example.com"], big
    )
    assert [c for c, _ in rcpts] == [250, 250]
    assert [c for c, _ in data] == [552, 552]
    assert store.delivered == []


def test_overlong_line_gets_reply_per_recipient(server, store):
    long_line = MESSAGE + b"x" * 2000 + b"\r\n"
    _, _, data = transaction(
        server.port, "s@example.net", ["alice@example.com", "bob@example.com"], long_line
    )
    assert [c for c, _ in data] == [500, 500]
    assert store.delivered == []


def test_helo_is_not_lmtp(server):
    client = smtplib.SMTP("127.0.0.1", server.port)
    try:
        assert client.docmd("HELO", "x")[0] == 500
        assert client.docmd("LHLO", "x")[0] == 250
    finally:
        client.close()


def test_slow_delivery_does_not_block_other_sessions(server, store):
    results = {}

    def slow_session():
        results["slow"] = transaction(server.port, "s@example.net", ["slow@example.com"], MESSAGE)

    t = threading.Thread(target=slow_session)
    t.start()
    assert store.slow_entered.wait(10)  # the slow session is inside DATA, blocked in the store
    _, _, data = transaction(server.port, "s@example.net", ["alice@example.com"], MESSAGE)
    # Answered while the slow session is still blocked: it was not in the way.
    assert data[0][0] == 250
    assert "slow" not in results and not store.release_slow.is_set()
    store.release_slow.set()
    t.join(10)
    assert results["slow"][2][0][0] == 250


def test_bind_failure_raised_from_start(store):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        srv = LMTPServer(store.deliver, port=busy.getsockname()[1])
        with pytest.raises(OSError):
            srv.start()


def test_start_async_on_existing_loop(store):
    async def main():
        srv = LMTPServer(store.deliver, port=0, hostname="lmtp.test")
        await srv.start_async()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            None, transaction, srv.port, "s@example.net", ["anyone@example.org"], MESSAGE
        )
        await srv.stop_async()
        return result

    _, rcpts, data = asyncio.run(main())
    assert rcpts == [(250, b"2.1.5 OK")]  # no check_recipient: accept all
    assert data[0][0] == 250
    assert store.delivered[0][0] == "anyone@example.org"


def test_context_manager_stops(store):
    with LMTPServer(store.deliver, port=0) as srv:
        port = srv.port
        transaction(port, "s@example.net", ["a@example.org"], MESSAGE)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
