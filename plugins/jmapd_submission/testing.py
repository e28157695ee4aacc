"""A real SMTP relay on loopback for tests of the submission path.

Tests of this plugin (and of plugins that send through it, such as
vacation) point ``submission.smarthost`` at a :class:`RecordingRelay`
and assert on exactly what arrived, the way a real smarthost sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, syntax

from jmapd.testing import wait_for


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    content: bytes
    #: Whether the transaction ran over TLS (after STARTTLS).
    tls: bool = False


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    #: address → list of replies to give at RCPT, consumed one per attempt.
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        if getattr(server, "dsn", False):
            responses.insert(len(responses) - 1, "250-DSN")
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]) -> str:
        envelope.mail_from = address
        # DSN parameters as sent (aiosmtpd upper-cases the others).
        envelope.mail_options.extend([*mail_options, *getattr(server, "dsn_options", [])])
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        with self.lock:
            replies = self.rcpt_replies.get(address)
            if replies:
                return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    list(envelope.mail_options),
                    envelope.original_content,
                    tls=session.ssl is not None,
                )
            )
        return "250 2.0.0 Queued as T1"


_DSN_MAIL_PARAM = re.compile(r"\s+((?:ENVID|RET)=\S*)", re.IGNORECASE)


class _SMTP(SMTP):
    """aiosmtpd's server, optionally offering DSN (RFC 3461): aiosmtpd itself
    refuses MAIL parameters it does not know, so ENVID and RET are taken out
    of the command here and handed to the handler as ``dsn_options``."""

    def __init__(self, handler: Any, *, dsn: bool = False, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.dsn = dsn
        self.dsn_options: list[str] = []

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        self.dsn_options = []
        if self.dsn and arg:
            self.dsn_options = _DSN_MAIL_PARAM.findall(arg)
            arg = _DSN_MAIL_PARAM.sub("", arg)
        await super().smtp_MAIL(arg)


class RecordingRelay:
    """An aiosmtpd SMTP server on 127.0.0.1 (random port) that records messages.

    With ``tls_context`` it offers (and requires) STARTTLS; with ``dsn`` it
    advertises DSN and accepts ENVID/RET.
    """

    def __init__(self, *, tls_context: ssl.SSLContext | None = None, dsn: bool = False, port: int = 0) -> None:
        self.tls_context = tls_context
        self.dsn = dsn
        self.handler = _Handler()
        self.loop = asyncio.new_event_loop()
        #: 0: a random free port; a given one lets a test start the relay where a server already points
        self.port = port
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: Any = None

    def start(self) -> RecordingRelay:
        self._thread.start()

        async def bind() -> Any:
            return await self.loop.create_server(
                lambda: _SMTP(
                    self.handler,
                    hostname="relay.test",
                    loop=self.loop,
                    dsn=self.dsn,
                    tls_context=self.tls_context,
                    require_starttls=self.tls_context is not None,
                ),
                "127.0.0.1",
                self.port,
            )

        self._server = asyncio.run_coroutine_threadsafe(bind(), self.loop).result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def refuse(self, address: str, *replies: str) -> None:
        """Answer the next RCPT TO for ``address`` with these replies, in turn."""
        with self.handler.lock:
            self.handler.rcpt_replies.setdefault(address, []).extend(replies)

    def messages(self, predicate: Callable[[Received], bool] = lambda r: True) -> list[Received]:
        with self.handler.lock:
            return [r for r in self.handler.received if predicate(r)]

    def wait(self, predicate: Callable[[Received], bool] = lambda r: True, count: int = 1, timeout: float = 15) -> list[Received]:
        """Block until ``count`` matching messages arrived; returns them."""
        found: list[Received] = wait_for(lambda: self.messages(predicate), lambda m: len(m) >= count, timeout)
        return found

    def config(self, **extra: Any) -> dict[str, Any]:
        """A ``submission:`` section pointing at this relay, with a fast queue."""
        section: dict[str, Any] = {
            "smarthost": {"host": "127.0.0.1", "port": self.port, "security": "none", "timeout": 5},
            "poll_interval": 0.2,
            "retry_base": 0.3,
            "retry_cap": 1.0,
        }
        section.update(extra)
        return section


@contextlib.contextmanager
def running_relay() -> Iterator[RecordingRelay]:
    """A started :class:`RecordingRelay`, stopped on leaving."""
    server = RecordingRelay().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def relay() -> Iterator[RecordingRelay]:
    """The relay of one test. A test module or conftest that wants it imports
    it (``from jmapd_submission.testing import relay``), so the submission,
    vacation and calendars tests share one definition."""
    with running_relay() as server:
        yield server
