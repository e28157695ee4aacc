"""Push delivery (RFC 8620 §7.2): the worker that POSTs StateChanges, and the
expiry of subscriptions whose credential was revoked.

Delivery is done by the process that committed the change (its
``jmapd_changes_committed`` hook finds the verified subscriptions of every
user who can see the account), so a change is pushed once however many
workers and hosts there are, without a queue table: JMAP push tolerates a
lost notification, the client resyncs on the next one. Pending changes are
coalesced per subscription while a delivery is in flight or waiting to be
retried, so a slow or rate-limiting endpoint gets fewer, fuller pushes.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx
import peewee as pw

from jmapd.models import Account, AccountAccess, Token, User, now

from .config import EventsConfig
from .domain.ssrf import PushURLRejected, check_push_url_async
from .domain.statechange import (
    Action,
    DeliveryPolicy,
    coalesce,
    encode,
    filter_types,
    push_verification,
    state_change,
)
from .domain.vapid import VapidKey
from .domain.webpush import encrypt, push_headers
from .metrics import DELIVERIES
from .models import PushSubscription
from .pushsub import password_fingerprint, ssrf_policy

log = logging.getLogger("jmapd.events.push")


# -- credentials ---------------------------------------------------------------
def credential_live(
    credential: str,
    token_id: int | None,
    token_expires: datetime.datetime | None,
    password_hash: str | None,
    at: datetime.datetime,
) -> bool:
    """Whether the credential a subscription was created with is still valid
    (a deleted token takes its subscriptions with it through the foreign key)."""
    if credential.startswith("token:"):
        return token_id is not None and (token_expires is None or token_expires > at)
    if credential.startswith("basic:"):
        return credential == "basic:" + password_fingerprint(password_hash)
    return credential == "user"


def _with_credentials(query: Any) -> Any:
    """Adds what :func:`credential_live` needs: the token's expiry, the password."""
    return query.join(User, on=(PushSubscription.user == User.id)).switch(PushSubscription).join(
        Token, pw.JOIN.LEFT_OUTER, on=(PushSubscription.token == Token.id)
    )


def destroy_revoked(ids: list[str] | None = None) -> int:
    """Destroys subscriptions whose credential expired or was revoked (all, or
    those of ``ids``), erasing their URL and keys; how many (blocking)."""
    query = _with_credentials(
        PushSubscription.select(
            PushSubscription.id,
            PushSubscription.credential,
            PushSubscription.token,
            Token.expires,
            User.password_hash,
        )
    )
    if ids is not None:
        if not ids:
            return 0
        query = query.where(PushSubscription.id.in_(ids))
    at = now()
    dead = [
        sub_id
        for sub_id, credential, token_id, token_expires, password_hash in query.tuples()
        if not credential_live(credential, token_id, token_expires, password_hash, at)
    ]
    removed = 0
    for i in range(0, len(dead), 500):
        removed += PushSubscription.delete().where(PushSubscription.id.in_(dead[i : i + 500])).execute()
    if removed:
        log.info("events: destroyed %d push subscription(s) of revoked credentials", removed)
    return removed




# -- delivery ------------------------------------------------------------------
@dataclass
class Job:
    """What is owed to one subscription: a verification and/or a StateChange."""

    sub_id: str
    verify: bool = False
    change: dict[str, Any] | None = None
    attempts: int = 0
    due: float = 0.0
    running: bool = False


def subscribers_of(account_id: str, changed: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """Verified, unexpired subscriptions of the (enabled) users who can see the
    account, each with the StateChange filtered to its types (blocking; a DB
    thread). Subscriptions whose credential expired or was revoked are
    destroyed instead (RFC 8620 §7.2 MUST)."""
    owner = Account.select(Account.owner).where(Account.id == account_id)
    shared = AccountAccess.select(AccountAccess.user).where(AccountAccess.account == account_id)
    at = now()
    rows = (
        _with_credentials(
            PushSubscription.select(
                PushSubscription.id,
                PushSubscription.types,
                PushSubscription.credential,
                PushSubscription.token,
                Token.expires,
                User.password_hash,
            )
        )
        .where(
            (PushSubscription.user.in_(owner) | PushSubscription.user.in_(shared))
            & (PushSubscription.verified == True)  # noqa: E712
            & (PushSubscription.expires > at)
            & (User.disabled == False)  # noqa: E712
        )
        .tuples()
    )
    change = state_change({account_id: changed})
    out = []
    revoked = []
    for sub_id, types, credential, token_id, token_expires, password_hash in rows:
        if not credential_live(credential, token_id, token_expires, password_hash, at):
            revoked.append(sub_id)
            continue
        filtered = filter_types(change, types)
        if filtered is not None:
            out.append((sub_id, filtered))
    if revoked:
        try:
            destroy_revoked(revoked)
        except Exception:  # the sweep will get them; never lose the others' pushes
            log.exception("events: destroying push subscriptions of revoked credentials failed")
    return out


def live_subscription(sub_id: str) -> PushSubscription | None:
    """The subscription if it may be pushed to now: unexpired, its user enabled
    and its credential valid (else destroyed); None otherwise (blocking)."""
    sub = PushSubscription.get_or_none(PushSubscription.id == sub_id)
    if sub is None or sub.expires <= now():
        return None
    if destroy_revoked([sub_id]):
        return None
    if User.select().where((User.id == sub.user_id) & (User.disabled == True)).exists():  # noqa: E712
        return None
    return sub


class Deliverer:
    """The push POSTs of one worker: coalescing, retry with backoff, give-up."""

    CLEANUP_EVERY = 600.0

    def __init__(self, services: Any, vapid: VapidKey) -> None:
        self.services = services
        self.section = services.config.section(EventsConfig)
        self.vapid = vapid
        self.policy = DeliveryPolicy(
            max_attempts=self.section.max_attempts,
            base_delay=self.section.retry_base_delay,
            max_delay=max(self.section.retry_max_delay, self.section.retry_base_delay),
        )
        self.jobs: dict[str, Job] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._own_loop_lock = threading.Lock()
        self._http: httpx.AsyncClient | None = None
        self._sem: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: (subscription id, what) of every attempt, newest last; tests read it.
        self.log: deque[tuple[str, str]] = deque(maxlen=1000)

    # -- entry points ----------------------------------------------------------
    def submit(self, items: list[tuple[str, dict[str, Any] | None]]) -> None:
        """Queue verifications (change None) or StateChanges, from any thread."""
        if not items:
            return
        loop = self.loop or self._start_own_loop()
        try:
            loop.call_soon_threadsafe(self._merge, items)
        except RuntimeError:
            log.warning("events: push dropped, event loop closed")

    def committed(self, account_id: str, changed: dict[str, str]) -> None:
        """From the commit hook (a DB thread): push to whoever subscribed."""
        self.submit(list(subscribers_of(account_id, changed)))

    async def run(self) -> None:
        """The worker's delivery loop (a task on its event loop)."""
        self.loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._sem = asyncio.Semaphore(32)
        self._http = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=self.section.push_timeout
        )
        next_cleanup = time.monotonic() + 5.0
        try:
            while True:
                now_m = time.monotonic()
                if now_m >= next_cleanup:
                    next_cleanup = now_m + self.CLEANUP_EVERY
                    self._spawn(self._cleanup())
                for job in list(self.jobs.values()):
                    if not job.running and job.due <= now_m:
                        job.running = True
                        self._spawn(self._deliver(job))
                dues = [j.due for j in self.jobs.values() if not j.running]
                timeout = min([next_cleanup, *dues]) - time.monotonic()
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), max(0.0, timeout))
                except TimeoutError:
                    pass
        finally:
            for task in list(self._tasks):
                task.cancel()
            await self._http.aclose()

    # -- internals (event loop) ------------------------------------------------
    def _start_own_loop(self) -> asyncio.AbstractEventLoop:
        """Processes without an ASGI loop (LMTP, CLI) deliver from a thread of their own."""
        with self._own_loop_lock:
            if self.loop is not None:
                return self.loop
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def main() -> None:
                asyncio.set_event_loop(loop)
                task = loop.create_task(self.run())
                loop.call_soon(ready.set)
                loop.run_until_complete(task)

            threading.Thread(target=main, name="jmapd-push", daemon=True).start()
            ready.wait(5)
            self.loop = loop
            return loop

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _merge(self, items: list[tuple[str, dict[str, Any] | None]]) -> None:
        for sub_id, change in items:
            job = self.jobs.get(sub_id)
            if job is None:
                job = self.jobs[sub_id] = Job(sub_id, due=time.monotonic())
            if change is None:
                job.verify = True
                job.due = min(job.due, time.monotonic())
            else:
                job.change = coalesce([c for c in (job.change, change) if c])
        if self._wake is not None:
            self._wake.set()

    async def _deliver(self, job: Job) -> None:
        verify, change = job.verify, job.change
        job.verify, job.change = False, None
        job.attempts += 1
        requeue_verify, requeue_change = False, None
        try:
            sub = await self.services.run(live_subscription, job.sub_id)
            if sub is None:
                return
            body: dict[str, Any] | None
            if verify:
                body = push_verification(sub.id, sub.expected_code)
            elif sub.verified and change is not None:
                body = filter_types(change, sub.types)
            else:
                body = None  # RFC 8620: nothing but the verification before it is verified
            if body is None:
                return
            status, retry_after = await self._post(sub, body)
            outcome = self.policy.decide(status, job.attempts, retry_after=retry_after)
            DELIVERIES.labels(outcome.action.value).inc()
            self.log.append((sub.id, f"{body['@type']}:{outcome.action.value}"))
            if outcome.action is Action.RETRY:
                log.info(
                    "push to %s failed (%s); retry in %.1fs", sub.id, outcome.reason, outcome.delay
                )
                requeue_verify, requeue_change = verify, change
                job.due = time.monotonic() + (outcome.delay or 0.0)
                return
            job.attempts = 0
            if outcome.action is Action.DROP:
                log.info("push to %s dropped: %s", sub.id, outcome.reason)
            elif outcome.action is Action.DESTROY:
                log.info("push subscription %s destroyed: %s", sub.id, outcome.reason)
                await self.services.run(
                    lambda: PushSubscription.delete().where(PushSubscription.id == sub.id).execute()
                )
                job.change = None
        except Exception:
            log.exception("push delivery to %s failed", job.sub_id)
        finally:
            job.running = False
            job.verify = job.verify or requeue_verify
            if requeue_change is not None:
                job.change = coalesce([c for c in (requeue_change, job.change) if c])
            if not job.verify and job.change is None:
                if self.jobs.get(job.sub_id) is job:
                    del self.jobs[job.sub_id]
            elif job.attempts == 0:
                job.due = time.monotonic()
            if self._wake is not None:
                self._wake.set()

    async def _post(
        self, sub: PushSubscription, body: dict[str, Any]
    ) -> tuple[int | None, str | None]:
        """One POST to the vetted addresses of the URL; (status or None, Retry-After)."""
        try:
            target = await check_push_url_async(sub.url, ssrf_policy(self.section))
        except PushURLRejected as exc:
            log.warning("push to %s refused: %s", sub.id, exc)
            return (None if exc.transient else 403), None
        payload = encode(body)
        if sub.p256dh and sub.auth:
            payload = encrypt(payload, sub.p256dh, sub.auth)
        try:
            authorization = self.vapid.authorization_header(sub.url, self.section.vapid_subject)
        except ValueError:
            authorization = None
        headers = dict(
            push_headers(
                ttl=self.section.push_ttl,
                encrypted=bool(sub.p256dh),
                urgency="normal",
                authorization=authorization,
            )
        )
        headers["Host"] = target.host_header
        assert self._http is not None and self._sem is not None
        async with self._sem:
            for address in target.addresses:
                try:
                    resp = await self._http.post(
                        target.connect_url(address),
                        content=payload,
                        headers=headers,
                        extensions={"sni_hostname": target.host}
                        if target.scheme == "https"
                        else {},
                    )
                except httpx.HTTPError as exc:
                    log.info("push to %s via %s: %s", sub.id, address, exc)
                    continue
                return resp.status_code, resp.headers.get("Retry-After")
        return None, None

    async def _cleanup(self) -> None:
        """Expired subscriptions, and those whose credential expired or was
        revoked, are deleted, erasing their URL and keys."""
        try:
            removed = await self.services.run(
                lambda: PushSubscription.delete().where(PushSubscription.expires <= now()).execute()
            )
            if removed:
                log.info("events: removed %d expired push subscription(s)", removed)
            await self.services.run(destroy_revoked)
        except Exception:
            log.exception("events: expiry cleanup failed")
