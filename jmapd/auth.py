"""Who is calling: users, passwords (argon2), bearer tokens, throttling.

Argon2 is deliberately slow, so a verified password is remembered in the
worker for a few minutes (keyed by a hash of the credentials, never the
password itself, and valid only while the stored hash it was verified
against is unchanged). Failed attempts are counted per user and per client
address in the database, shared by every worker, and past a threshold every
attempt is refused before the hash.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import argon2
import peewee

from .accounts import AccountInfo
from .db import database, plain_rows
from .hashslot import HostSlots, SlotBusy, default_slots
from .models import Account, LoginFailure, Token, User, new_id

_hasher = argon2.PasswordHasher()
_dummy: list[str] = []


#: Every app password starts with this, so a Basic password that does not
#: is never looked up as one.
TOKEN_PREFIX = "jmapd_"


def set_password_hasher(hasher: argon2.PasswordHasher) -> None:
    """Use ``hasher``'s cost for new password hashes in this process.

    Stored hashes carry their own parameters, so they keep verifying. The
    pytest plugin lowers the cost: a default argon2 hash and its first
    verification take about a third of a second, which otherwise dominates
    every test that makes a user. Never lower it for a real server.
    """
    global _hasher
    _hasher = hasher
    _dummy.clear()


def _dummy_hash() -> str:
    """Verifying against this keeps unknown users as slow as wrong passwords
    (made on first use, so importing jmapd costs no hash)."""
    if not _dummy:
        _dummy.append(_hasher.hash("not a password"))
    return _dummy[0]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Principal:
    """An authenticated user and the accounts they may use."""

    user_id: int
    name: str
    accounts: dict[str, AccountInfo] = field(default_factory=dict)
    primary_account: str | None = None
    #: Set when authenticated by a token limited to a purpose (e.g. "eventsource").
    scope: str = "api"
    #: The credential this request authenticated with: ``"basic"`` or
    #: ``"token:<sha256>"`` (the stored digest), None if a plugin authenticated
    #: it. RFC 8620 §7.2 ties push subscriptions to it.
    credential: str | None = None
    #: The user's Principal and every group it is in (jmapd.sharing).
    principal_id: str | None = None
    principal_ids: tuple[str, ...] = ()


def address_keys(address: str) -> list[str]:
    """Throttle keys for a client address: IPv6 counts per /64 network.

    One IPv6 host usually owns a whole /64, so counting single addresses
    would let it rotate through 2**64 of them.
    """
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return [f"ip:{address}"]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return [f"ip:{ip.ipv4_mapped}"]
        return [f"net:{ipaddress.ip_network(f'{ip}/64', strict=False)}"]
    return [f"ip:{ip}"]


class Throttle:
    """Counts failures per key and locks a key out, shared by every worker and host.

    Past ``threshold`` failures within ``window`` seconds a key is locked for
    a doubling period (up to ``max_delay``). While locked, every attempt is
    refused *before* the password hash is computed, right or wrong, so
    guessing inside the lock gains nothing and costs the server nothing.

    NOTE(hostile): the counts live in the database (``jmap_login_failure``),
    not in the worker: with per-worker counts, N gunicorn workers on M hosts
    gave a guesser N*M times the budget. The window is fixed (it restarts at
    the first failure after it ran out), so at most about twice
    ``threshold`` guesses fit around a window edge before the lock; one
    upsert per failure and one indexed read per unremembered login are the
    whole cost. Must run off the event loop (it does database work).
    """

    #: Prune rows that ran out after this many failures in this process.
    PRUNE_EVERY = 256

    def __init__(self, threshold: int, window: int, max_delay: float) -> None:
        self.threshold = threshold
        self.window = window
        self.max_delay = max_delay
        self._since_prune = 0

    @staticmethod
    def _key(key: str) -> str:
        """Keys fit the column: a very long user name is counted by its digest."""
        return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()

    def _lock_for(self, count: int) -> float:
        return min(self.max_delay, 0.25 * 2.0 ** (count - self.threshold))

    def retry_after(self, *keys: str) -> float:
        """Seconds until these keys may try again (0: not locked)."""
        if not keys:
            return 0.0
        until = (
            LoginFailure.select(peewee.fn.MAX(LoginFailure.locked_until))
            .where(LoginFailure.key.in_([self._key(k) for k in keys]))
            .scalar()
        )
        return max(0.0, (until or 0.0) - time.time())

    def delay(self, *keys: str) -> float:
        """The lock the latest failure set (0 below the threshold)."""
        now = time.time()
        rows = LoginFailure.select().where(
            LoginFailure.key.in_([self._key(k) for k in keys]) & (LoginFailure.window_start > now - self.window)
        )
        count = max((row.failures for row in rows), default=0)
        return self._lock_for(count) if count >= self.threshold else 0.0

    def fail(self, *keys: str) -> list[str]:
        """Count a failure; the keys that this failure newly locked (log those once)."""
        now = time.time()
        started: list[str] = []
        expired = LoginFailure.window_start <= now - self.window
        with database.obj.atomic():
            for key in keys:
                stored = self._key(key)
                # one atomic upsert: parallel failures on any worker all count
                LoginFailure.insert(key=stored, failures=1, window_start=now, locked_until=0.0).on_conflict(
                    conflict_target=[LoginFailure.key],
                    update={
                        LoginFailure.failures: peewee.Case(None, [(expired, 1)], LoginFailure.failures + 1),
                        LoginFailure.window_start: peewee.Case(None, [(expired, now)], LoginFailure.window_start),
                    },
                ).execute()
                row = LoginFailure.get_by_id(stored)
                if row.failures < self.threshold:
                    continue
                until = now + self._lock_for(row.failures)
                if row.locked_until + self.window < now:  # no lock within the window: a new episode
                    started.append(key)
                if until > row.locked_until:
                    LoginFailure.update(locked_until=until).where(
                        (LoginFailure.key == stored) & (LoginFailure.locked_until < until)
                    ).execute()
        self._since_prune += 1
        if self._since_prune >= self.PRUNE_EVERY:
            self._since_prune = 0
            self.prune(now)
        return started

    def prune(self, now: float | None = None) -> int:
        """Drop keys whose window and lock both ran out (bounds the table under a spray)."""
        cutoff = (now if now is not None else time.time()) - self.window
        return int(
            LoginFailure.delete()
            .where((LoginFailure.window_start <= cutoff) & (LoginFailure.locked_until <= cutoff))
            .execute()
        )

    def lift(self, *keys: str) -> None:
        """End the lock and the count of these keys (an operator forgave them)."""
        LoginFailure.delete().where(LoginFailure.key.in_([self._key(k) for k in keys])).execute()


#: Argon2 verifications running at once per worker: each holds ~64 MiB and a
#: core, so unbounded parallel guesses would starve everyone else.
VERIFY_SLOTS = 2


class VerifyBusy(Exception):
    """Every verification slot stayed taken; answer 503 rather than queue."""


class Authenticator:
    def __init__(self, config: Any, account_capabilities: Any) -> None:
        self.config = config
        #: ``digest of (name, password) -> (when, user id, stored hash verified against)``
        self._cache: dict[str, tuple[float, int, str | None]] = {}
        self._lock = threading.Lock()
        self.throttle = Throttle(config.auth.failure_threshold, config.auth.failure_window, config.auth.max_delay)
        self._verify_slots = threading.BoundedSemaphore(VERIFY_SLOTS)
        #: ... and one of the host's slots, shared with the other workers (jmapd.hashslot).
        self.host_slots = HostSlots(
            config.data_dir / "run", config.auth.verify_slots or default_slots(), config.auth.verify_rest
        )
        #: Logins that need the hash wait *here*, on the event loop, for one
        #: of the slots: waiting inside the thread pool let 32 guessers hold
        #: every pool thread, so remembered users queued behind them.
        self.verify_gate = asyncio.Semaphore(VERIFY_SLOTS)
        #: ``account_id -> {urn: account capability value}``, built by the app.
        self.account_capabilities = account_capabilities
        #: Capabilities with a shareable type, and blobs: all a sharee of single objects gets.
        self.shareable_capabilities: set[str] = set()

    # -- credentials ------------------------------------------------------
    @staticmethod
    def parse_basic(header: str) -> tuple[str, str] | None:
        """``(user, password)`` from a Basic header, None if malformed."""
        try:
            decoded = base64.b64decode(header.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        user, sep, password = decoded.partition(":")
        if not sep or not user or not password:
            return None
        if "\x00" in user:  # no stored name holds one; PostgreSQL cannot even look it up
            return None
        return user, password

    @classmethod
    def needs_hash(cls, header: str | None) -> bool:
        """True if checking this header may compute the password hash (Basic, not an app password)."""
        creds = cls.basic_credentials(header)
        return creds is not None and not creds[1].startswith(TOKEN_PREFIX)

    @classmethod
    def basic_credentials(cls, header: str | None) -> tuple[str, str] | None:
        """``(user, password)`` of an ``Authorization: Basic`` header, else None."""
        kind, _, value = (header or "").partition(" ")
        return cls.parse_basic(value) if kind.lower() == "basic" else None

    @staticmethod
    def _cache_key(name: str, password: str) -> str:
        return hashlib.sha256(f"{name}\0{password}".encode()).hexdigest()

    def forget(self, header: str | None) -> bool:
        """Drop a remembered password (its user changed); True if one was."""
        creds = self.basic_credentials(header)
        if creds is None:
            return False
        with self._lock:
            return self._cache.pop(self._cache_key(*creds), None) is not None

    def remembered(self, header: str | None) -> bool:
        """True if this Basic header was verified recently (no hash needed)."""
        creds = self.basic_credentials(header)
        if creds is None:
            return False
        with self._lock:
            hit = self._cache.get(self._cache_key(*creds))
        return bool(hit and time.monotonic() - hit[0] < self.config.auth.cache_seconds)

    def check_password(self, name: str, password: str) -> int | None:
        """The user id if the credentials are right (see :meth:`password_user`)."""
        user = self.password_user(name, password)
        return None if user is None else int(user.id)

    def password_user(self, name: str, password: str) -> User | None:
        """The user's row if the credentials are right.

        NOTE(operator): a remembered verification also holds the stored hash
        it was made against, and the user's row is read on every call (one
        indexed lookup), so ``jmapd user passwd``, ``user disable`` and
        ``user delete`` refuse the old password on the very next request on
        every worker and host, while a right password still costs no Argon2
        run for ``auth.cache_seconds``.
        """
        key = self._cache_key(name, password)
        now = time.monotonic()
        user = _user_named(name)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            fresh = now - hit[0] < self.config.auth.cache_seconds
            if fresh and user is not None and not user.disabled and (user.id, user.password_hash) == hit[1:]:
                return user
            with self._lock:
                self._cache.pop(key, None)
        deadline = time.monotonic() + self.config.auth.verify_wait
        if not self._verify_slots.acquire(timeout=self.config.auth.verify_wait):
            raise VerifyBusy()
        try:
            with self.host_slots.hold(max(0.0, deadline - time.monotonic())) as outcome:
                ok = verify_password(user.password_hash if user else None, password)
                outcome.failed = not ok
        except SlotBusy:
            raise VerifyBusy() from None
        finally:
            self._verify_slots.release()
        if not ok or user is None or user.disabled:  # a disabled user costs the hash too: no timing tell
            return None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now, user.id, user.password_hash)
        return user

    def check_token(self, token: str, scope: str = "api") -> int | None:
        user = self.token_user(token, scope)
        return None if user is None else int(user.id)

    def token_user(self, token: str, scope: str = "api") -> User | None:
        """The row of the user ``token`` is valid for (read with the token, one query)."""
        row = (
            Token.select(Token, User)
            .join(User)
            .where(Token.token_hash == token_digest(token))
            .first()
        )
        if row is None or row.user.disabled:
            return None
        if row.expires is not None:
            from .models import now

            if row.expires < now():
                return None
        if row.scope != "api" and row.scope != scope:
            return None
        user: User = row.user
        return user

    @staticmethod
    def credential_of(header: str | None) -> str | None:
        """Names the credential in an Authorization header (see Principal.credential)."""
        kind, _, value = (header or "").partition(" ")
        kind = kind.lower()
        if kind == "basic":
            creds = Authenticator.basic_credentials(header)
            if creds and creds[1].startswith(TOKEN_PREFIX):
                digest = token_digest(creds[1])
                if Token.select().where(Token.token_hash == digest).exists():
                    return "token:" + digest  # an app password used as a Basic password
            return "basic"
        if kind == "bearer" and value.strip():
            return "token:" + token_digest(value.strip())
        return None

    def authenticate_header(self, header: str | None, scope: str = "api") -> tuple[int | None, str | None]:
        """``(user id, user name tried)`` from an Authorization header."""
        user, tried = self.authenticate_user(header, scope)
        return (None if user is None else int(user.id)), tried

    def authenticate_user(self, header: str | None, scope: str = "api") -> tuple[User | None, str | None]:
        """``(user row, user name tried)`` from an Authorization header; pass
        the row on to :meth:`principal`, which then need not read it again."""
        if not header:
            return None, None
        kind, _, value = header.partition(" ")
        kind = kind.lower()
        if kind == "basic":
            creds = self.parse_basic(value)
            if creds is None:
                return None, None
            # Most mail clients and MTAs only speak Basic, so an app password
            # is also accepted as its user's Basic password, with the token's
            # scope and expiry. The digest lookup is cheap: try it before the
            # password hash.
            if creds[1].startswith(TOKEN_PREFIX):
                user = self.token_user(creds[1], scope)
                if user is not None and user.name == creds[0]:
                    return user, creds[0]
            return self.password_user(*creds), creds[0]
        if kind == "bearer" and value.strip():
            return self.token_user(value.strip(), scope), None
        return None, None

    # -- principals -------------------------------------------------------
    def principal(self, user_id: int, user: User | None = None) -> Principal | None:
        """The user and every account they may use.

        ``user``: the user's row as authentication just read it (it is not
        read again; a disabled one yields None as if it were).
        """
        if user is None or user.id != user_id:
            user = User.get_or_none((User.id == user_id) & (User.disabled == False))  # noqa: E712
        elif user.disabled:
            user = None
        if user is None:
            return None
        from . import sharing

        principal = Principal(user_id=user.id, name=user.name)
        principal.principal_id = sharing.principal_of_user(user.id)
        groups, rows = _principal_rows(user.id, principal.principal_id)
        if principal.principal_id:
            principal.principal_ids = (principal.principal_id, *groups)
        for account_id, name, owner_id, is_personal, read_only, may_submit, delegate in rows:
            owned = owner_id == user.id
            if owned:
                level = "owner"
            elif delegate is not None:
                level = "read" if read_only else "write"
            else:
                level = "shared"
            principal.accounts[account_id] = AccountInfo(
                account_id,
                name,
                bool(is_personal) and owned,
                level == "read",
                self.account_capabilities(account_id),
                level=level,
                may_submit=owned or bool(may_submit),
            )
            if owned and is_personal and principal.primary_account is None:
                principal.primary_account = account_id
        sharing.viewer_capabilities(principal, self.shareable_capabilities)
        return principal


def _user_named(name: str) -> User | None:
    """The user's row by name, read with a plain statement (:func:`jmapd.db.plain_rows`).

    NOTE(perf): every Basic-authenticated request reads it, and Peewee's
    query building and row conversion cost an upload a fifth of its CPU
    (issue #14); the fields are converted as Peewee's would be."""
    found = plain_rows("SELECT id, name, password_hash, created, disabled FROM jmap_user WHERE name = ?", (name,))
    if not found:
        return None
    user_id, user_name, password_hash, created, disabled = found[0]
    return User(id=user_id, name=user_name, password_hash=password_hash,
                created=User.created.python_value(created),  # type: ignore[no-untyped-call]
                disabled=bool(disabled))


def _principal_rows(user_id: int, principal_id: str | None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """``(groups, account rows)`` of a user in one statement: every group
    its Principal is in (directly or through other groups, sorted) and each
    account it may use (owned, delegated, or with an object shared with it
    or one of its groups), as ``(id, name, owner_id, is_personal,
    read_only, may_submit, delegate)`` ordered by id.

    NOTE(perf): built on every authenticated request, and on a loaded
    PostgreSQL every statement is a round trip that waits for a backend:
    this was three (four with nested groups) before the method ran (issue
    #17). Read fresh each time, never cached, so a revoked share, a group
    change or a deleted account takes effect on the next request on every
    worker and host. The candidate accounts are gathered by index (owner,
    access row, grants) before the join, so the account table is not scanned.
    """
    db = database.obj
    p = getattr(db, "param", "?")
    groups = (
        f"WITH RECURSIVE g(id) AS (SELECT CAST({p} AS TEXT) UNION"
        " SELECT CAST(m.group_id AS TEXT) FROM jmap_group_member m JOIN g ON m.member_id = g.id) "
    )
    grants = " UNION SELECT s.account_id FROM jmap_share_grant s WHERE s.principal_id IN (SELECT id FROM g)"
    accounts = (
        "SELECT 'a', a.id, a.name, a.owner_id, a.is_personal, x.read_only, x.may_submit, x.user_id"
        f" FROM jmap_account a LEFT JOIN jmap_account_access x ON x.account_id = a.id AND x.user_id = {p}"
        f" WHERE a.id IN (SELECT o.id FROM jmap_account o WHERE o.owner_id = {p}"
        f" UNION SELECT y.account_id FROM jmap_account_access y WHERE y.user_id = {p}"
    )
    params: list[Any]
    if principal_id is None:
        sql, params = accounts + ") ORDER BY 2", [user_id] * 3
    else:
        sql = (
            groups
            + f"SELECT 'g', id, NULL, NULL, NULL, NULL, NULL, NULL FROM g WHERE id <> {p}"
            + " UNION ALL " + accounts + grants + ") ORDER BY 1, 2"
        )
        params = [principal_id, principal_id, *[user_id] * 3]
    found = db.execute_sql(sql, params).fetchall()
    return sorted(r[1] for r in found if r[0] == "g"), [tuple(r[1:]) for r in found if r[0] == "a"]


def create_user(name: str, password: str | None) -> tuple[User, Account]:
    """A user and their personal account (the caller fires account_created)."""
    from .sharing import create_principal

    user = User.create(name=name, password_hash=hash_password(password) if password else None)
    account = Account.create(id=new_id("a"), name=name, owner=user, is_personal=True)
    create_principal("individual", name, user=user.id, email=name if "@" in name else None)
    return user, account


def create_token(user: User, name: str, scope: str = "api", ttl: int | None = None) -> str:
    """A new random token; only its digest is stored, so show it once."""
    import datetime

    from .models import now

    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = now() + datetime.timedelta(seconds=ttl) if ttl else None
    Token.create(user=user, name=name, token_hash=token_digest(token), scope=scope, expires=expires)
    return token


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
