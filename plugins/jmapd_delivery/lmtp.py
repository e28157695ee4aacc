"""Inbound delivery: an LMTP server (RFC 2033) on aiosmtpd.

The MTA (Postfix, Exim, ...) hands mail for local users to us over LMTP.
LMTP instead of SMTP because after DATA it answers *once per accepted
recipient*, so one recipient's full mailbox or database hiccup does not
make the MTA re-deliver the message to everybody else.

The storage side is a plain synchronous callback (the mail store is
Peewee-based and blocking); it runs in a thread pool so one slow delivery
never stalls the event loop that serves other LMTP sessions.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from aiosmtpd.smtp import Session

from jmapd import metrics

__all__ = [
    "DeliveryResult",
    "TransientDeliveryError",
    "PermanentDeliveryError",
    "DeliverFn",
    "CheckRecipientFn",
    "LMTPHandler",
    "LMTPServer",
]

log = logging.getLogger(__name__)

RECIPIENTS = metrics.counter(
    "jmapd_delivery_lmtp_recipients",
    "LMTP recipients by result: delivered, temporary (4xx after DATA), permanent (5xx after DATA), rejected (at RCPT).",
    ["result"],
)


def _result(reply: str) -> str:
    return {"2": "delivered", "4": "temporary"}.get(reply[:1], "permanent")


#: A Message-ID header line with its folded continuation lines.
_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:((?:[^\r\n]|\r?\n[ \t])*)", re.IGNORECASE | re.MULTILINE)


def _message_id(raw: bytes) -> str:
    """The Message-ID header of ``raw`` for the log (first 16 KB only: headers).

    NOTE(perf): a search of the header block, not the email package's
    parser, which cost a delivery more CPU than storing its change log
    (issue #17); only the first such header counts, as the parser's get()."""
    head = raw[:16384].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = _MESSAGE_ID.search(head)
    value = " ".join(found.group(1).decode("utf-8", "replace").split()) if found else ""
    return value[:200] or "-"


def _reply(code: int, text: str) -> str:
    """Format one reply line, refusing anything that could break framing.

    Callback-provided text must not be able to inject extra reply lines
    (which would desynchronise the per-recipient LMTP replies).
    """
    if not 200 <= int(code) <= 599:
        raise ValueError(f"invalid SMTP reply code {code}")
    clean = " ".join(str(text).split())[:400]
    return f"{int(code)} {clean}" if clean else str(int(code))


@dataclass(frozen=True)
class DeliveryResult:
    """What the delivery callback reports for one recipient.

    ``code`` is the LMTP reply code: 2xx delivered, 4xx try again later,
    5xx bounce.  ``text`` should start with an RFC 3463 enhanced code.
    """

    code: int = 250
    text: str = "2.0.0 Delivered"

    @classmethod
    def delivered(cls, text: str = "2.0.0 Delivered") -> DeliveryResult:
        return cls(250, text)

    @classmethod
    def temporary(
        cls, text: str = "4.3.0 Temporary local delivery failure", code: int = 451
    ) -> DeliveryResult:
        return cls(code, text)

    @classmethod
    def permanent(
        cls, text: str = "5.3.0 Local delivery failed", code: int = 554
    ) -> DeliveryResult:
        return cls(code, text)

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    def reply(self) -> str:
        return _reply(self.code, self.text)


class TransientDeliveryError(Exception):
    """Raise from the delivery callback for failures worth retrying (-> 451).

    The message is *not* sent to the peer (it may contain internals); pass
    ``reply_text`` to control what the MTA logs.
    """

    def __init__(
        self,
        message: str = "",
        reply_text: str = "4.3.0 Temporary local delivery failure, try again later",
    ) -> None:
        super().__init__(message or reply_text)
        self.reply_text = reply_text


class PermanentDeliveryError(Exception):
    """Raise from the delivery callback to bounce the message (-> 554)."""

    def __init__(self, message: str = "", reply_text: str = "5.3.0 Local delivery failed") -> None:
        super().__init__(message or reply_text)
        self.reply_text = reply_text


DeliverFn = Callable[..., DeliveryResult]
"""deliver(recipient, mail_from, raw[, found]) -> DeliveryResult; mail_from "" is the null sender;
``found`` is what the recipient check found for the recipient, when it said (see CheckRecipientFn)."""

CheckRecipientFn = Callable[[str], tuple[Any, ...]]
"""check_recipient(address) -> (code, text) or (code, text, found), e.g. (550, "5.1.1 No such user").
A ``found`` (not None) of an accepted recipient is handed to deliver for it in the same
transaction, so what RCPT looked up is not looked up again at DATA."""


class LMTPHandler:
    """aiosmtpd handler: recipient checks at RCPT, per-recipient delivery at DATA."""

    def __init__(
        self,
        deliver: DeliverFn,
        *,
        check_recipient: CheckRecipientFn | None = None,
        executor: ThreadPoolExecutor | None = None,
        max_recipients: int = 1000,
    ) -> None:
        self._deliver = deliver
        self._check = check_recipient
        self._executor = executor
        self.max_recipients = max_recipients

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def handle_RCPT(
        self,
        server: LMTP,
        session: Session,
        envelope: SmtpEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return "452 4.5.3 Too many recipients"
        found: list[Any] = []
        if self._check is not None:
            try:
                code, text, *found = await self._in_thread(self._check, address)
                reply = _reply(code, text)
            except Exception:
                log.exception("recipient check failed for %r", address)
                return "451 4.3.0 Temporary failure checking recipient"
            if not 200 <= code < 300:
                RECIPIENTS.labels("rejected").inc()
                log.info("LMTP RCPT %s refused: %s", address, reply)
                return reply
        else:
            reply = "250 2.1.5 OK"
            if found and found[0] is not None:
                # aiosmtpd makes a new Envelope for each transaction (MAIL, RSET)
                envelope.__dict__.setdefault("rcpt_found", {})[address] = found[0]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return reply

    def _deliver_one(self, recipient: str, mail_from: str, raw: bytes, found: Any = None) -> str:
        """Runs in the pool; converts every outcome into one reply line."""
        try:
            if found is None:
                result = self._deliver(recipient, mail_from, raw)
            else:
                result = self._deliver(recipient, mail_from, raw, found)
            return result.reply()
        except TransientDeliveryError as exc:
            log.warning("transient delivery failure for %r: %s", recipient, exc)
            return _reply(451, exc.reply_text)
        except PermanentDeliveryError as exc:
            log.warning("permanent delivery failure for %r: %s", recipient, exc)
            return _reply(554, exc.reply_text)
        except Exception:
            # Unknown failure: make the MTA keep the message and retry rather
            # than lose it.
            log.exception("delivery callback crashed for %r", recipient)
            return "451 4.3.0 Internal error during delivery, try again later"

    async def handle_DATA(self, server: LMTP, session: Session, envelope: SmtpEnvelope) -> str:
        raw = envelope.original_content or b""
        sender = envelope.mail_from or ""
        if sender == "<>":
            sender = ""
        replies = []
        found = envelope.__dict__.get("rcpt_found", {})
        for rcpt in envelope.rcpt_tos:
            reply = await self._in_thread(self._deliver_one, rcpt, sender, raw, found.get(rcpt))
            RECIPIENTS.labels(_result(reply)).inc()
            replies.append(reply)
        log.info(
            "LMTP from=<%s> to=%s size=%d message-id=%s result=%s",
            sender, ",".join(f"<{r}>" for r in envelope.rcpt_tos), len(raw), _message_id(raw),
            ",".join(reply[:3] for reply in replies),
        )
        return "\r\n".join(replies)


class _LMTPProtocol(LMTP):
    """aiosmtpd's LMTP with per-recipient replies for *all* post-DATA errors.

    aiosmtpd answers an oversized message (552) or an over-long line (500)
    with a single reply even in LMTP mode, which leaves a multi-recipient
    client waiting for more replies.  Any single-line reply to the end of
    DATA is therefore repeated once per accepted recipient here.
    """

    _rcpt_count = 0
    _awaiting_data_reply = False

    async def smtp_DATA(self, arg: str) -> None:
        self._rcpt_count = len(self.envelope.rcpt_tos) if self.envelope else 0
        self._awaiting_data_reply = False
        await super().smtp_DATA(arg)

    async def push(self, status: Any) -> None:
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        if self._awaiting_data_reply:
            self._awaiting_data_reply = False
            if "\r\n" not in text and self._rcpt_count > 1:
                text = "\r\n".join([text] * self._rcpt_count)
        elif text.startswith("354"):
            self._awaiting_data_reply = True
        await super().push(text)


class LMTPServer:
    """Runs the LMTP listener, either on its own thread or on a given loop.

    ``start()``/``stop()`` spin up a private event loop in a daemon thread
    (for a sync server process and for tests); ``start_async()``/
    ``stop_async()`` attach to the caller's running loop instead.  ``port=0``
    binds a free port; the real one is in ``self.port`` after starting.
    """

    def __init__(
        self,
        deliver: DeliverFn,
        *,
        check_recipient: CheckRecipientFn | None = None,
        host: str = "127.0.0.1",
        port: int = 24,
        max_message_size: int | None = 50 * 1024 * 1024,
        max_recipients: int = 1000,
        hostname: str | None = None,
        max_workers: int = 8,
        timeout: float = 300.0,
    ) -> None:
        self.host = host
        self.port = port
        self.max_message_size = max_message_size
        self.hostname = hostname or socket.gethostname()
        self.timeout = timeout
        self._max_workers = max_workers
        self._deliver = deliver
        self._check = check_recipient
        self._max_recipients = max_recipients
        self._executor: ThreadPoolExecutor | None = None
        self._handler: LMTPHandler | None = None
        self._server: asyncio.AbstractServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sessions: weakref.WeakSet[_LMTPProtocol] = weakref.WeakSet()

    def _factory(self) -> _LMTPProtocol:
        assert self._handler is not None and self._loop is not None
        proto = _LMTPProtocol(
            self._handler,
            data_size_limit=self.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self.hostname,
            ident="LMTP",  # the greeting names no library or version (aiosmtpd's default does)
            timeout=self.timeout,
            loop=self._loop,
        )
        self._sessions.add(proto)
        return proto

    async def start_async(self) -> None:
        """Bind and start serving on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="lmtp-deliver")
        self._handler = LMTPHandler(
            self._deliver,
            check_recipient=self._check,
            executor=self._executor,
            max_recipients=self._max_recipients,
        )
        self._server = await self._loop.create_server(self._factory, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("LMTP listening on %s:%s", self.host, self.port)

    async def stop_async(self) -> None:
        """Stop listening, drop open sessions, finish running deliveries."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for proto in list(self._sessions):
            if proto.transport is not None:
                proto.transport.close()
        await asyncio.sleep(0)
        if self._executor is not None:
            executor, self._executor = self._executor, None
            # Deliveries already running are allowed to complete so no
            # message is half-stored; queued ones are dropped (their
            # sessions are gone and the MTA will retry).
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: executor.shutdown(wait=True, cancel_futures=True)
            )

    def start(self) -> None:
        """Start on a private loop in a daemon thread; returns once bound."""
        if self._thread is not None:
            raise RuntimeError("already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:  # report bind errors to start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="lmtp-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop a server started with :meth:`start`."""
        if self._thread is None or self._loop is None:
            return
        loop = self._loop
        future = asyncio.run_coroutine_threadsafe(self.stop_async(), loop)
        try:
            future.result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> LMTPServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
