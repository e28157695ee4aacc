"""The durable outbound queue and the worker that drains it.

Every message to relay (an EmailSubmission, a vacation auto-reply) is a
row of ``submission_queue``. Any number of workers, in any number of
processes or hosts, scan for due rows and *claim* one with
``UPDATE ... WHERE state='queued'``: the database lets exactly one of them
win, so no item is sent twice by two workers. A claim older than the
lease is taken to belong to a worker that died and is released again —
delivery is at-least-once, never at-most-once, because losing mail is
worse than a rare duplicate.

Canceling a pending EmailSubmission uses the same guard in the other
direction (``queued`` → ``canceled``), so a cancel and a claim can never
both succeed.

Recipients marked ``local`` are delivered into their accounts by the
worker itself (:mod:`.local`); a row with no remote recipient needs no
relay, and a worker on a server without one claims only such rows.

Final rows (``done``, ``canceled``) stay for ``finished_retention`` seconds
(the hourly sending limit counts them) and are then deleted by the worker
loop, with their copy of the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import email.parser
import email.policy
import logging
import ssl
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from peewee import fn

from jmapd.db import ensure_connected, tuples, write_transaction
from jmapd.models import Document, now
from jmapd.services import ExtensionKey
from jmapd.state import UPDATED, ChangeLog

from .domain.envelope import Address, Envelope
from .domain.relay import Outcome, RecipientResult, RelayConfig, RelayResult, RetryPolicy, send
from .local import LeaseLost, deliver_one, result_of, result_row
from .metrics import RELAYED
from .models import CANCELED, DONE, QUEUED, SENDING, QueueItem
from .wakeup import Listener, announce, signal_host

log = logging.getLogger("jmapd.submission.queue")

#: Seconds before a scan that failed (the database away) is tried again.
SCAN_RETRY = 5.0
WAKE_KEY: ExtensionKey[Callable[[], Any]] = ExtensionKey("submission.wake")


def utc_date(value: datetime.datetime) -> str:
    """A naive-UTC datetime as a JMAP UTCDate."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def enqueue(
    account_id: str,
    envelope: Envelope,
    message: bytes,
    *,
    due: datetime.datetime | None = None,
    submission_id: str | None = None,
    kind: str = "submission",
    local: frozenset[str] = frozenset(),
) -> QueueItem:
    """Add a message to the queue (inside the caller's transaction, so it
    exists exactly when the object that asked for it does).

    Recipients in ``local`` (see :func:`.local.local_recipients`) are
    delivered into their accounts here; the rest go to the relay.
    """
    rcpt_to = [{**a.to_jmap(), "local": True} if a.email in local else a.to_jmap() for a in envelope.rcpt_to]
    announce()
    return QueueItem.create(
        account_id=account_id,
        submission_id=submission_id,
        kind=kind,
        state=QUEUED,
        due=due or now(),
        mail_from=envelope.mail_from.email,
        mail_params=dict(envelope.mail_from.parameters) if envelope.mail_from.parameters else None,
        rcpt_to=rcpt_to,
        needs_relay=any(not r.get("local") for r in rcpt_to),
        message=message,
    )


def cancel(account_id: str, submission_id: str) -> bool:
    """Cancel a submission not yet claimed by a worker; False if too late."""
    return bool(
        QueueItem.update(state=CANCELED, finished_at=now())
        .where(
            (QueueItem.account_id == account_id)
            & (QueueItem.submission_id == submission_id)
            & (QueueItem.state == QUEUED)
        )
        .execute()
    )


def message_id(raw: bytes) -> str:
    """The Message-ID of ``raw`` for the log (headers only: the first 16 KB)."""
    head = raw[:16384].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    value = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head).get("Message-ID")
    return str(value).strip()[:200] if value else "-"


def wake(services: Any) -> None:
    """After the commit that queued a row: tell this process's runner (if
    any) and, on SQLite, those of the host's other processes to scan now
    (on PostgreSQL the commit itself told every runner, see :mod:`.wakeup`)."""
    waker = services.extensions.get(WAKE_KEY)
    if waker is not None:
        waker()
    signal_host(services.config)


def relay_config(section: Any) -> RelayConfig:
    """The relay settings of the YAML; a bad combination names its key."""
    from jmapd.config import ConfigError

    host = section.smarthost
    if host.security not in ("none", "starttls", "tls"):
        raise ConfigError(f"submission.smarthost.security: expected none, starttls or tls, got {host.security!r}")
    if host.accepted_status not in ("unknown", "queued"):
        raise ConfigError("submission.smarthost.accepted_status: expected unknown or queued")
    if (host.user is None) != (host.password is None):
        raise ConfigError("submission.smarthost: user and password must be given together")
    context = None
    if host.ca_file is not None:
        if host.security == "none":
            raise ConfigError("submission.smarthost.ca_file: only used with security starttls or tls")
        try:
            context = ssl.create_default_context(cafile=host.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"submission.smarthost.ca_file: cannot load {host.ca_file!r}: {exc}") from exc
    return RelayConfig(
        host=host.host or "",
        port=host.port,
        security=host.security,
        username=host.user,
        password=host.password,
        timeout=host.timeout,
        local_hostname=host.local_hostname,
        ssl_context=context,
        accepted_status=host.accepted_status,
    )


def retry_policy(section: Any) -> RetryPolicy:
    return RetryPolicy(
        base=section.retry_base,
        cap=max(section.retry_cap, section.retry_base),
        max_age=datetime.timedelta(seconds=section.give_up_after),
    )


def _envelope(item: QueueItem, rows: list[dict[str, Any]] | None = None) -> Envelope:
    return Envelope(
        Address(item.mail_from, item.mail_params or None),
        tuple(Address(r["email"], r.get("parameters")) for r in (item.rcpt_to if rows is None else rows)),
    )


class QueueWorker:
    """Scans for due items, relays them in a thread pool, records outcomes."""

    def __init__(
        self,
        services: Any,
        sender: Callable[..., RelayResult] = send,
    ) -> None:
        section = services.config.section("submission")
        self.services = services
        self.section = section
        self.relay = relay_config(section)
        self.policy = retry_policy(section)
        self.sender = sender
        self.token = uuid.uuid4().hex[:16]
        self.executor = ThreadPoolExecutor(max(1, section.concurrency), thread_name_prefix="jmapd-submit")
        self._event: asyncio.Event | None = None
        self._listener: Listener | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Set by :meth:`claim`: when the next row it could not claim yet
        #: becomes claimable (comes due, or its lease runs out); None: no such row.
        self.next_due: datetime.datetime | None = None
        #: monotonic time of the next pruning of final rows (0: at the first scan)
        self._next_prune = 0.0
        self.prune_every = min(3600.0, max(section.poll_interval, section.finished_retention / 10))

    # -- scheduling ----------------------------------------------------------
    async def run(self) -> None:
        """The background task: scan, relay what is due, sleep until the next
        row comes due or something wakes it (at most ``poll_interval``), repeat."""
        loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        event = self._event
        self._loop = loop

        def waker() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(event.set)

        self.services.extensions[WAKE_KEY] = waker
        if self._listener is None:
            self._listener = Listener(self.services.config, self.token, waker)
            self._listener.start(loop)
        if self.relay.host:
            log.info("outbound queue worker %s started (relay %s:%s)", self.token, self.relay.host, self.relay.port)
        else:
            log.info("outbound queue worker %s started (no relay: local recipients only)", self.token)
        try:
            await self._loop_forever(loop, event)
        finally:
            if self._listener is not None:
                self._listener.stop(loop)
                self._listener = None

    async def _loop_forever(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        while True:
            claimed: list[int] = []
            try:
                event.clear()
                if time.monotonic() >= self._next_prune:
                    self._next_prune = time.monotonic() + self.prune_every
                    pruned = await loop.run_in_executor(self.executor, self._threaded, self.prune)
                    if pruned:
                        log.info("pruned %d finished queue row(s)", pruned)
                claimed = await loop.run_in_executor(self.executor, self._threaded, self.claim)
                if claimed:
                    await asyncio.gather(
                        *(loop.run_in_executor(self.executor, self._threaded, self.process, i) for i in claimed)
                    )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbound queue scan failed")
                self.next_due = now() + datetime.timedelta(seconds=SCAN_RETRY)
            if claimed:
                continue  # more may be due
            try:
                await asyncio.wait_for(event.wait(), self.sleep_for())
            except TimeoutError:
                pass

    def sleep_for(self) -> float:
        """Seconds until the next row comes due, the next pruning, or the
        safety poll, whichever is first."""
        timeout: float = min(float(self.section.poll_interval), max(0.0, self._next_prune - time.monotonic()))
        if self.next_due is not None:
            # a little late rather than early: an early scan finds nothing and sleeps again
            timeout = min(timeout, (self.next_due - now()).total_seconds() + 0.01)
        return max(0.0, timeout)

    def stop(self) -> None:
        """Let relays in flight finish and record their outcome."""
        if self.services.extensions.get(WAKE_KEY) is not None:
            self.services.extensions.pop(WAKE_KEY)
        if self._listener is not None:
            self._listener.stop(self._loop)
            self._listener = None
        self.executor.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _threaded(fn: Callable[..., Any], *args: Any) -> Any:
        ensure_connected()
        return fn(*args)

    def claim(self, limit: int | None = None) -> list[int]:
        """Claim due items for this worker; each claim is won by one worker only.

        Also notes in :attr:`next_due` when the first row not claimable yet
        becomes so, for the runner to sleep until then. An idle queue costs
        two reads and no write (no write lock on SQLite)."""
        current = now()
        lease = datetime.timedelta(seconds=self.section.lease)
        oldest_claim = QueueItem.select(fn.MIN(QueueItem.claimed_at)).where(QueueItem.state == SENDING).scalar()
        lease_end = oldest_claim + lease if oldest_claim is not None else None
        if lease_end is not None and lease_end <= current:
            QueueItem.update(state=QUEUED, claimed_by=None).where(
                (QueueItem.state == SENDING) & (QueueItem.claimed_at < current - lease)
            ).execute()
            lease_end = None  # the next claims are newer; found at the next scan
        waiting = QueueItem.state == QUEUED
        if not self.relay.host:
            waiting &= QueueItem.needs_relay == False  # noqa: E712
        # Due rows and, past them, the first one not due yet: its due time.
        candidates = (
            QueueItem.select(QueueItem.id, QueueItem.due)
            .where(waiting)
            .order_by(QueueItem.due, QueueItem.id)
            .limit((limit or max(1, self.section.concurrency)) + 1)
        )
        rows = list(tuples(candidates))
        due_ids = [item_id for item_id, due in rows if due <= current][: limit or max(1, self.section.concurrency)]
        later = [due for _, due in rows if due > current]
        self.next_due = min([t for t in (later[0] if later else None, lease_end) if t is not None], default=None)
        claimed: list[int] = []
        for item_id in due_ids:
            won = (
                QueueItem.update(state=SENDING, claimed_by=self.token, claimed_at=current)
                .where((QueueItem.id == item_id) & (QueueItem.state == QUEUED))
                .execute()
            )
            if won == 1:
                claimed.append(item_id)
        return claimed

    def prune(self) -> int:
        """Delete final rows older than ``finished_retention``; returns how many."""
        current = now()
        old = (
            QueueItem.state.in_([DONE, CANCELED])
            & (QueueItem.finished_at < current - datetime.timedelta(seconds=self.section.finished_retention))
        )
        if self.section.max_submissions_per_hour:
            old &= QueueItem.created < current - datetime.timedelta(hours=1)
        return int(QueueItem.delete().where(old).execute())

    # -- one attempt -----------------------------------------------------------
    def process(self, item_id: int) -> None:
        """Deliver the local recipients of one claimed item, relay the rest,
        and record the result (blocking)."""
        item = QueueItem.get_or_none((QueueItem.id == item_id) & (QueueItem.claimed_by == self.token))
        if item is None or item.state != SENDING:
            return
        try:
            done, remaining = self.deliver_local(item)
        except LeaseLost:
            log.warning("queue item %s was taken over while delivering locally", item_id)
            return
        remote = [r for r in remaining if not r.get("local")]
        envelope = _envelope(item, remaining)
        relayed: tuple[RecipientResult, ...] = ()
        data_reply: str | None = None
        if remote and not self.relay.host:
            relayed = tuple(
                RecipientResult(r["email"], 451, "451 4.3.5 No relay configured for remote recipients",
                                Outcome.TEMPORARY)
                for r in remote
            )
        elif remote:
            remote_envelope = _envelope(item, remote)
            try:
                # The EmailSubmission id as ENVID (RFC 3461) when the relay offers DSN.
                outcome = self.sender(self.relay, remote_envelope, item.message, envid=item.submission_id)
                relayed, data_reply = outcome.recipients, outcome.data_reply
            except Exception as exc:  # never lose the item to a bug in a relay path
                log.exception("relay of queue item %s failed", item_id)
                relayed = tuple(
                    RecipientResult(a.email, 451, f"451 4.3.0 Local error: {exc}", Outcome.TEMPORARY)
                    for a in remote_envelope.rcpt_to
                )
        self.record(item, envelope, RelayResult(tuple(done) + relayed, data_reply))

    def deliver_local(self, item: QueueItem) -> tuple[list[RecipientResult], list[dict[str, Any]]]:
        """Deliver every ``local`` recipient still in the row, each marked
        done in the row inside its own delivery's transaction; returns all
        local results so far (earlier attempts' too) and the recipients
        left (remote ones, and local ones that failed temporarily)."""
        done_rows: list[dict[str, Any]] = list(item.local_results or [])
        remaining: list[dict[str, Any]] = list(item.rcpt_to)
        results = [result_of(row) for row in done_rows]
        mine = (QueueItem.id == item.id) & (QueueItem.claimed_by == self.token) & (QueueItem.state == SENDING)
        for rcpt in [r for r in item.rcpt_to if r.get("local")]:

            def mark(result: RecipientResult, rcpt: dict[str, Any] = rcpt) -> None:
                rest = [r for r in remaining if r is not rcpt]
                rows = [*done_rows, result_row(result)]
                if not QueueItem.update(rcpt_to=rest, local_results=rows).where(mine).execute():
                    raise LeaseLost(item.id)
                remaining[:] = rest
                done_rows[:] = rows

            results.append(deliver_one(self.services, rcpt["email"], item.mail_from, item.message, mark))
        return results, remaining

    def record(self, item: QueueItem, envelope: Envelope, result: RelayResult) -> None:
        """Write the attempt's outcome: the queue row, then the submission's
        deliveryStatus/undoStatus, in one write transaction of its account."""
        current = now()
        first = item.first_attempt or current
        attempts = item.attempts + 1
        results = list(result.recipients)
        retry = result.retry_envelope(envelope)
        if retry is not None and self.policy.expired(first, current):
            results = [r.given_up() if r.outcome is Outcome.TEMPORARY else r for r in results]
            retry = None
        last_reply = "; ".join(r.reply for r in results)[:2000]
        rows = {r["email"]: r for r in item.rcpt_to}  # keeps each recipient's ``local`` mark
        changes = ChangeLog()
        with write_transaction(item.account_id):
            mine = (QueueItem.id == item.id) & (QueueItem.claimed_by == self.token) & (QueueItem.state == SENDING)
            if retry is None:
                owned = QueueItem.update(
                    state=DONE,
                    attempts=attempts,
                    first_attempt=first,
                    last_reply=last_reply,
                    claimed_by=None,
                    finished_at=current,
                ).where(mine).execute()
            else:
                owned = QueueItem.update(
                    state=QUEUED,
                    attempts=attempts,
                    first_attempt=first,
                    last_reply=last_reply,
                    claimed_by=None,
                    due=current + datetime.timedelta(seconds=self.policy.delay(attempts)),
                    rcpt_to=[rows.get(a.email, a.to_jmap()) for a in retry.rcpt_to],
                ).where(mine).execute()
            if not owned:
                # Our lease ran out and another worker took the item over;
                # its outcome, not ours, is the one to record.
                log.warning("queue item %s was taken over while relaying; outcome not recorded", item.id)
                return
            if item.submission_id:
                self._update_submission(item, item.submission_id, results, retry is None, changes)
            changes.flush()
        for r in results:
            RELAYED.labels(r.outcome.value).inc()
        # one line per attempt, with what the relay answered each recipient (its queue id included)
        log.info("relay attempt %d of queue item %s message-id=%s from=<%s> %s%s", attempts, item.id,
                 message_id(bytes(item.message)), item.mail_from,
                 "; ".join(f"to=<{r.email}> {r.reply}" for r in results) or "no recipients",
                 f"; data: {result.data_reply}" if result.data_reply else "")
        if changes.committed:
            self.services.changes_committed(changes.committed)

    def _update_submission(
        self,
        item: QueueItem,
        submission_id: str,
        results: list[RecipientResult],
        finished: bool,
        changes: ChangeLog,
    ) -> None:
        row = Document.get_or_none(
            (Document.account_id == item.account_id)
            & (Document.type_name == "EmailSubmission")
            & (Document.object_id == submission_id)
        )
        if row is None:
            return  # the record was destroyed; the delivery goes on regardless
        data = dict(row.data)
        status = dict(data.get("deliveryStatus") or {})
        for r in results:
            status[r.email] = r.delivery_status()
        data["deliveryStatus"] = status
        relayed = any(r.outcome is Outcome.ACCEPTED for r in results)
        if data.get("undoStatus") == "pending" and (relayed or finished):
            data["undoStatus"] = "final"
        Document.update(data=data).where(Document.id == row.id).execute()
        changes.record(item.account_id, "EmailSubmission", submission_id, UPDATED, ["deliveryStatus", "undoStatus"])
