"""Per-worker change fan-out: one watcher per worker, however many streams.

Every EventSource stream and WebSocket push channel of a worker is a
:class:`Subscriber` registered with the worker's :class:`Notifier`. Changes
reach the notifier three ways:

- in-process: ``jmapd_changes_committed`` in this worker (lowest latency);
- PostgreSQL: ``LISTEN jmapd_events`` on one dedicated connection per worker,
  fed by a ``NOTIFY`` sent from the same hook in whichever worker or host
  committed (after reconnecting, the watched accounts are re-read, since
  notifications sent meanwhile are lost);
- SQLite: a thread polls ``PRAGMA data_version`` every ``poll_interval`` and
  only when another connection committed reads ``jmap_type_state`` for the
  watched accounts (primary-key lookups).

So there is one database query per interval per worker at most, never one per
connection. States only grow (they are modseqs), so whichever path reports a
change first wins and the others are recognised as duplicates.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from jmapd.db import database, ensure_connected, is_postgres, listen, tuples
from jmapd.models import TypeState
from jmapd.services import on_draining
from jmapd.sharing import NOTIFICATION_TYPE
from jmapd.state import decode_state, encode_state

from .config import EventsConfig
from .domain.statechange import state_change

log = logging.getLogger("jmapd.events")

CHANNEL = "jmapd_events"
#: accountId -> type name -> modseq
Modseqs = dict[str, dict[str, int]]
#: log account -> type name -> the caller's accounts that type is seen from
Aliases = dict[str, dict[str, frozenset[str]]]


def encode_push_state(seen: Mapping[str, Mapping[str, int]]) -> str:
    """An opaque string naming every state the client has been told of.

    Used as the EventSource event id and the WebSocket ``pushState``: sent
    back on reconnect, it tells exactly which types changed meanwhile. Compact
    JSON never contains CR/LF, as an event id must not.
    """
    return orjson.dumps({a: dict(t) for a, t in seen.items() if t}).decode()


def decode_push_state(value: str | None) -> Modseqs | None:
    """The modseqs in a push state, or None if it is not one of ours."""
    if not value:
        return None
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    out: Modseqs = {}
    for account_id, types in data.items():
        if not isinstance(types, dict):
            return None
        for modseq in types.values():
            if not isinstance(modseq, int) or isinstance(modseq, bool) or modseq < 0:
                return None
        out[account_id] = dict(types)
    return out


def read_modseqs(account_ids: Iterable[str]) -> Modseqs:
    """Current modseq of every type of the given accounts (blocking; a DB thread)."""
    ids = list(account_ids)
    out: Modseqs = {a: {} for a in ids}
    for i in range(0, len(ids), 500):
        rows = TypeState.select(TypeState.account_id, TypeState.type_name, TypeState.modseq).where(
            TypeState.account_id.in_(ids[i : i + 500])
        )
        for account_id, type_name, modseq in tuples(rows):
            out[account_id][type_name] = modseq
    return out


def log_aliases(registry: Any, accounts: Mapping[str, Any]) -> Aliases:
    """Where the states of types kept in another account's log come from.

    A type whose ``log_account`` is not the account itself (Principal: one
    directory log read from every account) changes in that other account,
    which is none of the caller's; the channel watches it too and reports
    its changes as changes of each of the caller's accounts the type is
    used in (the account has the type's capability)."""
    out: dict[str, dict[str, set[str]]] = {}
    for data_type in registry.data_types.values():
        for account_id, info in accounts.items():
            if data_type.capability not in info.capabilities:
                continue
            log_account = data_type.log_account(account_id)
            if log_account != account_id:
                out.setdefault(log_account, {}).setdefault(data_type.name, set()).add(account_id)
    return {log: {t: frozenset(a) for t, a in types.items()} for log, types in out.items()}


class Subscriber:
    """One client channel: what it may see, what it has seen, what is pending."""

    __slots__ = ("accounts", "aliases", "types", "seen", "pending", "wake", "shares_moved")

    def __init__(
        self, accounts: Iterable[str], types: frozenset[str] | None, aliases: Aliases | None = None
    ) -> None:
        self.accounts = frozenset(accounts)
        self.aliases: Aliases = aliases or {}
        #: None: every type.
        self.types = types
        #: Newest modseq per account and type this channel knows of (all types).
        self.seen: Modseqs = {}
        #: Coalesced states not yet sent (subscribed types only).
        self.pending: dict[str, dict[str, str]] = {}
        self.wake = asyncio.Event()
        #: A ShareNotification arrived: the accounts the user may use may have
        #: changed, so the channel re-reads them (:func:`follow_shares`).
        self.shares_moved = False

    @property
    def watched(self) -> frozenset[str]:
        """The accounts whose changes reach this channel (its own and the logs it aliases)."""
        return self.accounts | frozenset(self.aliases)

    def view(self, current: Modseqs, account_id: str) -> dict[str, int]:
        """``account_id``'s states in ``current``, with those of its aliased types."""
        now = dict(current.get(account_id, {}))
        for log_account, types in self.aliases.items():
            for type_name, targets in types.items():
                modseq = current.get(log_account, {}).get(type_name)
                if modseq is not None and account_id in targets:
                    now[type_name] = modseq
        return now

    def offer(self, account_id: str, changed: Mapping[str, int]) -> None:
        """Merge a change; a later state of the same type replaces an earlier one."""
        for type_name, targets in self.aliases.get(account_id, {}).items():
            modseq = changed.get(type_name)
            if modseq is not None:
                for target in targets:
                    self._offer(target, {type_name: modseq})
        if account_id in self.accounts:
            self._offer(account_id, changed)

    def _offer(self, account_id: str, changed: Mapping[str, int]) -> None:
        seen = self.seen.setdefault(account_id, {})
        for type_name, modseq in changed.items():
            if modseq > seen.get(type_name, 0):
                seen[type_name] = modseq
                if type_name == NOTIFICATION_TYPE:
                    self.shares_moved = True
                if self.types is None or type_name in self.types:
                    self.pending.setdefault(account_id, {})[type_name] = encode_state(modseq)
        if self.pending or self.shares_moved:
            self.wake.set()

    def move_to(self, accounts: frozenset[str], current: Modseqs, aliases: Aliases | None = None) -> None:
        """Watch ``accounts`` from now on (``current``: the new ones' states).

        An account shared since is announced with its current states, so the
        client knows there is something to fetch; one no longer shared is
        forgotten, and nothing of it is sent again."""
        for gone in self.accounts - accounts:
            self.seen.pop(gone, None)
            self.pending.pop(gone, None)
        self.aliases = aliases or {}
        for added in accounts - self.accounts:
            now = self.view(current, added)
            self.seen[added] = dict(now)
            wanted = {t: encode_state(m) for t, m in now.items() if self.types is None or t in self.types}
            if wanted:
                self.pending[added] = wanted
        self.accounts = accounts
        if self.pending:
            self.wake.set()

    def catch_up(self, since: Modseqs | None, current: Modseqs) -> None:
        """Start from ``since`` (a client's push state) and queue what changed
        after it; without one, start from ``current`` with nothing pending."""
        for account_id in self.accounts:
            now = self.view(current, account_id)
            if since is None:
                self.seen[account_id] = dict(now)
                continue
            before = since.get(account_id, {})
            self.seen[account_id] = {t: m for t, m in before.items() if t in now}
            self._offer(account_id, now)

    def take(self) -> dict[str, Any] | None:
        """The pending StateChange (and forget it), or None."""
        self.wake.clear()
        if not self.pending:
            return None
        change = state_change(self.pending)
        self.pending = {}
        return change

    def push_state(self) -> str:
        return encode_push_state(self.seen)


class Notifier:
    """Fan-out of state changes to this worker's subscribers."""

    def __init__(self, services: Any) -> None:
        self.services = services
        #: Names this worker in stream comments (tests tell workers apart).
        self.instance = uuid.uuid4().hex[:12]
        self.loop: asyncio.AbstractEventLoop | None = None
        self.by_account: dict[str, set[Subscriber]] = defaultdict(set)
        #: Newest modseqs the fan-out has dispatched, per watched account.
        self.known: Modseqs = {}
        #: Snapshot of watched account ids for the watcher thread.
        self._watched: frozenset[str] = frozenset()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Set when the worker shuts down: every stream ends at once (the client reconnects elsewhere).
        self.draining = False
        self._drain_registered = False

    # -- lifecycle -------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._thread is not None:
            return
        if not self._drain_registered:
            on_draining(self.drain)
            self._drain_registered = True
        self.loop = loop
        self._stop.clear()
        target = self._listen_postgres if is_postgres() else self._poll_sqlite
        self._thread = threading.Thread(target=target, name="jmapd-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread = None

    def drain(self) -> None:
        """The worker is stopping (event loop): wake every stream to end."""
        self.draining = True
        for subs in list(self.by_account.values()):
            for sub in list(subs):
                sub.wake.set()

    @property
    def connections(self) -> int:
        return len({s for subs in self.by_account.values() for s in subs})

    # -- subscribers (event loop only) ---------------------------------------
    def add(self, sub: Subscriber, current: Modseqs) -> None:
        """Register ``sub`` whose state was read as ``current`` just before.

        Changes the fan-out already dispatched after that read are handed to
        it at once; changes after it the fan-out has not seen yet arrive
        later like for everyone (``sub.seen`` drops the duplicates).
        """
        for account_id in sub.watched:
            self.by_account[account_id].add(sub)
            known = self.known.get(account_id)
            if known is None:
                self.known[account_id] = dict(current.get(account_id, {}))
            else:
                sub.offer(account_id, known)
        self._watched = frozenset(self.by_account)

    def remove(self, sub: Subscriber) -> None:
        for account_id in sub.watched:
            subs = self.by_account.get(account_id)
            if subs is None:
                continue
            subs.discard(sub)
            if not subs:
                del self.by_account[account_id]
                self.known.pop(account_id, None)
        self._watched = frozenset(self.by_account)

    def apply(self, batch: Mapping[str, Mapping[str, int]]) -> None:
        """Dispatch whatever in ``batch`` is newer than what was dispatched."""
        for account_id, types in batch.items():
            known = self.known.get(account_id)
            if known is None:
                continue
            newer = {t: m for t, m in types.items() if m > known.get(t, 0)}
            if not newer:
                continue
            known.update(newer)
            for sub in self.by_account.get(account_id, ()):
                sub.offer(account_id, newer)

    # -- producers (any thread) ---------------------------------------------
    def post(self, batch: Modseqs) -> None:
        """Hand a batch to the event loop from any thread."""
        loop = self.loop
        if loop is None or loop.is_closed() or not batch:
            return
        try:
            loop.call_soon_threadsafe(self.apply, batch)
        except RuntimeError:  # loop closed between the check and the call
            pass

    def committed(self, account_id: str, changed: Mapping[str, str]) -> None:
        """This process committed ``changed``: tell local subscribers and,
        on PostgreSQL, every other worker and host."""
        modseqs = {t: m for t, s in changed.items() if (m := decode_state(s)) is not None}
        if not modseqs:
            return
        self.post({account_id: modseqs})
        if is_postgres():
            payload = orjson.dumps({"a": account_id, "c": modseqs}).decode()
            if len(payload) < 7900:  # NOTIFY payloads are limited to 8000 bytes
                database.obj.execute_sql("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
            else:
                database.obj.execute_sql(
                    "SELECT pg_notify(%s, %s)",
                    (CHANNEL, orjson.dumps({"a": account_id, "resync": True}).decode()),
                )

    # -- watchers (own thread) -------------------------------------------------
    def _poll_sqlite(self) -> None:
        """Poll for commits by other connections; query only when there were some."""
        interval = self.services.config.section(EventsConfig).poll_interval
        last_version: int | None = None
        queried: frozenset[str] = frozenset()
        while not self._stop.wait(interval):
            try:
                ensure_connected()
                watched = self._watched
                version = database.obj.execute_sql("PRAGMA data_version").fetchone()[0]
                if not watched:
                    last_version, queried = version, watched
                    continue
                if version == last_version and watched <= queried:
                    continue
                last_version, queried = version, watched
                self.post(read_modseqs(watched))
            except Exception:
                log.exception("events: polling for changes failed")
                try:
                    database.obj.close()
                except Exception:
                    pass
                self._stop.wait(1.0)

    def _listen_postgres(self) -> None:
        """LISTEN on a dedicated connection; re-read watched accounts after a gap."""
        listen(CHANNEL, self._stop, self._resync, self._notified, "events")

    def _notified(self, conn: Any, notes: list[Any]) -> None:
        batch: Modseqs = {}
        resync = False
        for note in notes:
            try:
                data = orjson.loads(note.payload)
                if data.get("resync"):
                    resync = True
                    continue
                into = batch.setdefault(data["a"], {})
                for t, m in data["c"].items():
                    into[t] = max(m, into.get(t, 0))
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
                log.warning("events: ignoring malformed notification %r", note.payload[:200])
        self.post(batch)
        if resync:
            self._resync(conn)

    def _resync(self, conn: Any) -> None:
        watched = list(self._watched)
        if not watched:
            return
        batch: Modseqs = {}
        with conn.cursor() as cur:
            for i in range(0, len(watched), 500):
                cur.execute(
                    "SELECT account_id, type_name, modseq FROM jmap_type_state WHERE account_id = ANY(%s)",
                    (watched[i : i + 500],),
                )
                for account_id, type_name, modseq in cur.fetchall():
                    batch.setdefault(account_id, {})[type_name] = modseq
        self.post(batch)


async def follow_shares(services: Any, notifier: Notifier, sub: Subscriber, user_id: int) -> None:
    """Move ``sub`` to the accounts its user may use now.

    A share granted or revoked while a push channel is open (every such
    change records a ShareNotification for the sharee) changes the accounts
    it must carry: the channel follows without the client reconnecting, and
    a revoked share's changes stop reaching it."""
    sub.shares_moved = False
    principal = await services.run(services.auth.principal, user_id)
    accounts = frozenset(principal.accounts) if principal is not None else frozenset()
    if accounts == sub.accounts:
        return
    aliases = log_aliases(services.registry, principal.accounts) if principal is not None else {}
    current = await services.run(read_modseqs, (accounts - sub.accounts) | frozenset(aliases))
    notifier.remove(sub)
    sub.move_to(accounts, current, aliases)
    notifier.add(sub, current)
