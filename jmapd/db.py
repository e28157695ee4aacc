"""The database: one deferred Peewee database, opened per worker after fork.

SQLite (the embedded default) runs in WAL mode with a busy timeout so
readers never wait for the single writer; PostgreSQL is the scale-out
backend. Write transactions take a per-account lock first, so concurrent
writers to one account queue instead of deadlocking, on either backend.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import math
import os
import select
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import peewee

from . import metrics

CONNECTIONS = metrics.gauge("jmapd_db_connections", "Database connections open, summed over worker processes.")


class _Counted:
    """Counts the connections this process holds open (one per thread that
    touched the database, at most ``server.threads`` + the event loop's)."""

    def _connect(self) -> Any:
        conn = super()._connect()  # type: ignore[misc]
        CONNECTIONS.inc()
        return conn

    def _close(self, conn: Any) -> None:
        try:
            super()._close(conn)  # type: ignore[misc]
        finally:
            CONNECTIONS.dec()


class SqliteDatabase(_Counted, peewee.SqliteDatabase):
    # Each statement gets the whole of a statement_limit, from its start to
    # its last row. BEGIN, COMMIT and ROLLBACK (run past _execute_cursor)
    # are never cut: a transaction's statements are not, and an interrupted
    # COMMIT or ROLLBACK would leave the transaction's fate to chance.
    def _execute_cursor(self, sql: str, params: Any, **cursor_options: Any) -> Any:
        _restart_limit(0.0)
        return super()._execute_cursor(sql, params, **cursor_options)  # type: ignore[misc]

    def begin(self, lock_type: str | None = None) -> None:
        _restart_limit(math.inf)
        super().begin(lock_type)

    def commit(self) -> None:
        _restart_limit(math.inf)
        super().commit()

    def rollback(self) -> None:
        _restart_limit(math.inf)
        super().rollback()


def _restart_limit(extra: float) -> None:
    limit = getattr(_local, "limit", None)
    if limit is not None:
        limit.deadline = time.monotonic() + limit.seconds + extra


class PostgresqlDatabase(_Counted, peewee.PostgresqlDatabase):
    # NOTE(perf): statement_timeout is applied lazily, before the first
    # statement that wants a different one than the connection has, rather
    # than SET before and RESET after every request: a worker thread serving
    # one API request after another sends neither (two round trips a request
    # on a loaded machine were ~2 of its ~15 ms, issue #17). What the
    # connection has is tracked per thread (a connection belongs to one);
    # a ROLLBACK (whole or to a savepoint) may undo a SET made inside the
    # transaction, so it makes the setting unknown and the next statement
    # sets it again. Statements outside any statement_limit still run with
    # the server's default (RESET), exactly as before.
    #
    # NOTE(perf): statements whose result nobody reads (BEGIN, the account's
    # lock, inserts of fresh rows: :func:`later`) wait in a per-thread queue
    # and go to the server in one string with the next statement, or with the
    # COMMIT: psycopg2 sends a multi-statement string as one simple query, so
    # a delivery's transaction costs a dozen round trips fewer, each a wait for
    # a backend on a loaded machine (issue #17). The server runs them in order,
    # so nothing changes but where an error is raised (at the next statement).
    # ROLLBACK TO SAVEPOINT drops what waits: the SAVEPOINT went out with all
    # that was queued before it, so what still waits came after it.
    def _queue(self) -> list[tuple[str, tuple[Any, ...]]]:
        conn = self._state.conn  # type: ignore[attr-defined]
        held = getattr(_local, "pg_queue", None)
        if held is None or held[0] is not conn:  # a new connection: nothing of the old one waits
            held = (conn, [])
            _local.pg_queue = held
        queue: list[tuple[str, tuple[Any, ...]]] = held[1]
        return queue

    def later(self, sql: str, params: Any) -> None:
        """Queue ``sql`` to go out with the next statement (inside a transaction)."""
        self._queue().append((sql.rstrip().rstrip(";"), tuple(params or ())))

    def begin(self, isolation_level: Any = None) -> None:
        if isolation_level or self._isolation_level:  # type: ignore[attr-defined]
            super().begin(isolation_level)
            return
        self.later("BEGIN", ())

    def commit(self) -> None:
        queue = self._queue()
        if queue and queue[0][0] == "BEGIN":
            if len(queue) == 1:  # the transaction never reached the server: nothing to commit
                queue.clear()
                return
        if not queue:
            super().commit()
            return
        self.later("COMMIT", ())
        statements = list(queue)
        queue.clear()
        sql = "; ".join(s for s, _ in statements)
        params = tuple(p for _, ps in statements for p in ps)
        super()._execute_cursor(sql, params)  # type: ignore[misc]

    def _execute_cursor(self, sql: str, params: Any, **cursor_options: Any) -> Any:
        conn = self._state.conn  # type: ignore[attr-defined]  # peewee's per-thread state
        queue = self._queue()
        if sql.startswith("ROLLBACK"):
            _local.pg_timeout = (conn, _UNKNOWN)
            queue.clear()
        else:
            limit = getattr(_local, "limit", None)
            wanted = None if limit is None else max(1, round(limit.seconds * 1000))
            applied = getattr(_local, "pg_timeout", None)
            has = applied[1] if applied is not None and applied[0] is conn else None  # a new connection: the default
            if has != wanted:
                super()._execute_cursor(  # type: ignore[misc]
                    "RESET statement_timeout" if wanted is None else f"SET statement_timeout = {wanted}", None
                )
                _local.pg_timeout = (conn, wanted)
        if queue:
            statements = [*queue, (sql, tuple(params or ()))]
            queue.clear()
            sql = "; ".join(s for s, _ in statements)
            params = tuple(p for _, ps in statements for p in ps)
        return super()._execute_cursor(sql, params, **cursor_options)  # type: ignore[misc]

    def rollback(self) -> None:
        _local.pg_timeout = (self._state.conn, _UNKNOWN)  # type: ignore[attr-defined]
        queue = self._queue()
        unsent = bool(queue) and queue[0][0] == "BEGIN"
        queue.clear()
        if not unsent:  # else the server never saw the transaction
            super().rollback()


#: What a connection's statement_timeout is after a ROLLBACK that may have undone a SET.
_UNKNOWN: Any = object()


#: Every model binds to this proxy; :func:`open_database` initialises it.
database = peewee.DatabaseProxy()
log = logging.getLogger(__name__)


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


class JSONField(peewee.TextField):
    """JSON stored as text on both backends, encoded with orjson."""

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        import orjson

        return orjson.dumps(value).decode()

    def python_value(self, value: Any) -> Any:
        if value is None:
            return None
        import orjson

        return orjson.loads(value)


class BlobField(peewee.BlobField):
    """Bytes on both backends (bytea on PostgreSQL)."""

    def python_value(self, value: Any) -> Any:
        if isinstance(value, memoryview):
            return value.tobytes()
        return value


def is_postgres(db: Any = None) -> bool:
    db = db or database.obj
    return isinstance(db, peewee.PostgresqlDatabase)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be opened or reached: one line naming which
    database (host, name, role; never the password) and why, for the
    operator instead of a driver's traceback."""


def describe(url: str) -> str:
    """``url`` as an operator recognises it, without its password."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return f"SQLite database {sqlite_path(url)}"
    name = unquote(parsed.path.lstrip("/")) or "postgres"
    role = f" as role {unquote(parsed.username)!r}" if parsed.username else ""
    return f"PostgreSQL database {name!r} on {parsed.hostname or 'localhost'}:{parsed.port or 5432}{role}"


def _cause(exc: BaseException) -> str:
    """A driver's message on one line (psycopg2's spans several)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.replace("FATAL: ", "")


def sqlite_path(url: str) -> Path:
    parsed = urlparse(url)
    if url.startswith("sqlite:////"):
        return Path("/" + unquote(parsed.path).lstrip("/"))
    return Path(unquote(url[len("sqlite:///") :]))


def probe_database(url: str) -> None:
    """Connect once (and let go again if this thread was not connected), so
    an unreachable server or a refused role stops a command at its start.

    :raises DatabaseUnavailable: naming the database and the cause.
    """
    db = database.obj
    was_closed = db.is_closed()
    try:
        db.connect(reuse_if_open=True)
        db.execute_sql("SELECT 1")
    except (peewee.PeeweeException, OSError) as exc:
        raise DatabaseUnavailable(f"cannot reach {describe(url)}: {_cause(exc)}") from None
    finally:
        if was_closed and not db.is_closed():
            db.close()


#: Page cache of each SQLite connection, in KiB (``PRAGMA cache_size`` negative).
SQLITE_CACHE_KIB = 2000


def open_database(url: str) -> peewee.Database:
    """Create the database for ``url`` and bind the proxy to it."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = sqlite_path(url)
        # NOTE(operator): private to the server user whatever the umask: the
        # file holds password hashes and mail. SQLite gives its -wal and -shm
        # files the database file's permissions.
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise DatabaseUnavailable(f"cannot open {describe(url)}: {exc.strerror}") from None
        db: peewee.Database = SqliteDatabase(
            str(path),
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                "busy_timeout": 30000,
                "synchronous": "full",
                # NOTE(operator): SQLite's page cache is per connection, and a worker
                # holds up to server.threads + 2 of them: at 16 MB each a large
                # mailbox filled 2 x 18 x 16 MB of private memory (issue #17). 2 MB
                # (SQLite's default) bounds that to 36 MB a worker; the file's pages
                # stay in the kernel's page cache, shared by every process.
                "cache_size": -SQLITE_CACHE_KIB,
            },
            check_same_thread=False,
            timeout=30,
        )
    elif parsed.scheme in ("postgresql", "postgres"):
        options: dict[str, Any] = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        db = PostgresqlDatabase(
            unquote(parsed.path.lstrip("/")) or "postgres",
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or None,
            port=parsed.port or 5432,
            autoconnect=True,
            **options,
        )
    else:
        raise ValueError(f"unsupported database URL: {url}")
    database.initialize(db)
    return db


def ensure_connected() -> None:
    """Connect this thread, replacing a connection the server dropped."""
    db = database.obj
    if db.is_closed():
        db.connect()
        return
    if is_postgres(db):
        conn = db.connection()
        if getattr(conn, "closed", 0):
            db.close()
            db.connect()


_local = threading.local()


@contextlib.contextmanager
def write_transaction(lock_key: str) -> Iterator[None]:
    """A transaction that first serialises writers to one account.

    SQLite: ``BEGIN IMMEDIATE`` takes the database write lock up front, so a
    reader never has to upgrade (the classic SQLITE_BUSY deadlock).
    PostgreSQL: a transaction-scoped advisory lock keyed by the account.
    Nested calls join the outer transaction.
    """
    db = database.obj
    depth = getattr(_local, "depth", 0)
    if depth:
        _local.depth = depth + 1
        try:
            yield
        finally:
            _local.depth = depth
        return
    _local.depth = 1
    try:
        if is_postgres(db):
            with db.atomic():
                key = int.from_bytes(hashlib.blake2b(lock_key.encode(), digest_size=8).digest(), "big", signed=True)
                db.later("SELECT pg_advisory_xact_lock(%s)", (key,))  # taken with the first statement
                yield
        else:
            with db.atomic(lock_type="IMMEDIATE"):
                yield
    finally:
        _local.depth = 0


class _Limit:
    """The running statement's deadline under :func:`statement_limit` (SQLite)."""

    __slots__ = ("seconds", "deadline", "conn")

    def __init__(self, seconds: float, conn: Any) -> None:
        self.seconds, self.deadline, self.conn = seconds, time.monotonic() + seconds, conn

    def expired(self) -> int:
        # SQLite rolls back a whole transaction when a statement in it is
        # interrupted, and the writer's savepoints then fail; statements in a
        # write transaction are short and bounded by their objects, so only
        # the others (every query and read) are cut.
        return int(time.monotonic() > self.deadline and not self.conn.in_transaction)


#: SQLite calls the progress handler every this many virtual machine steps
#: (well under a millisecond; a Python call per step would cost more).
PROGRESS_STEPS = 10_000


@contextlib.contextmanager
def statement_limit(seconds: float) -> Iterator[None]:
    """Database statements run inside take at most ``seconds`` each (0: no limit).

    So one expensive query cannot hold a worker thread: PostgreSQL cancels it
    (``statement_timeout``, which :class:`PostgresqlDatabase` sets on the
    connection before the block's first statement when it differs, and
    resets before the first statement outside one), SQLite's progress
    handler interrupts it. The statement then raises an error
    :func:`statement_timed_out` recognises.
    """
    if seconds <= 0 or getattr(_local, "limit", None) is not None:
        yield
        return
    ensure_connected()
    db = database.obj
    conn = db.connection()
    if is_postgres(db):
        _local.limit = _Limit(seconds, conn)  # marks the block (nested blocks join it)
        try:
            yield
        finally:
            _local.limit = None
        return
    limit = _Limit(seconds, conn)
    conn.set_progress_handler(limit.expired, PROGRESS_STEPS)
    _local.limit = limit
    try:
        yield
    finally:
        _local.limit = None
        conn.set_progress_handler(None, PROGRESS_STEPS)


def statement_timed_out(exc: BaseException) -> bool:
    """True if ``exc`` (or what it was raised while handling) is a statement
    cut by :func:`statement_limit` (or cancelled by an operator on PostgreSQL)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        orig = getattr(seen, "orig", seen)
        if isinstance(orig, sqlite3.OperationalError) and getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT:
            return True
        if getattr(orig, "pgcode", None) == "57014":  # query_canceled
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def in_transaction() -> bool:
    return bool(getattr(_local, "depth", 0))


def tuples(query: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of ``query`` as tuples.

    NOTE(contract): Peewee's stubs type ``.tuples()`` as returning the model
    query itself, so its rows would be typed as model instances; this one
    place says what they are instead of an ignore at every loop.
    """
    return iter(query.tuples())


def insert_rows(
    model: Any, rows: list[dict[str, Any]], *, returning: tuple[str, ...] = (), conflict: str = "", later: bool = False,
) -> list[tuple[Any, ...]]:
    """One multi-row INSERT of ``rows`` (each with the same fields); the
    ``returning`` columns of the inserted rows, in no particular order.

    NOTE(perf): the SQL is written here rather than by ``insert_many``,
    whose query tree costs Peewee some 20 us per value to render (0.3 ms
    a card); the values still go through each field's ``db_value``.
    ``conflict`` is an ``ON CONFLICT ...`` clause both engines understand.
    Keep a statement under SQLite's 32,766 bound variables (callers chunk).
    ``later``: the statement may wait for the next one (:func:`later`).
    """
    if not rows:
        return []
    names = list(rows[0])
    if any(list(row) != names for row in rows):
        if returning or conflict:
            raise ValueError("insert_rows: rows with different fields")
        model.insert_many(rows).execute()
        return []
    fields = [model._meta.fields[name] for name in names]
    db = model._meta.database
    param = getattr(getattr(db, "obj", db), "param", "?")
    group = "(" + ", ".join([param] * len(fields)) + ")"
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    values = [f.db_value(row[name]) for row in rows for name, f in zip(names, fields, strict=True)]
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ' + ", ".join([group] * len(rows))
    if conflict:
        sql += " " + conflict
    if returning:
        sql += " RETURNING " + ", ".join(f'"{model._meta.fields[name].column_name}"' for name in returning)
        return [tuple(row) for row in db.execute_sql(sql, values).fetchall()]
    real = getattr(db, "obj", db)
    if later and is_postgres(real) and real.in_transaction():
        real.later(sql, values)
    else:
        db.execute_sql(sql, values)
    return []


def listen(
    channel: str,
    stop: threading.Event,
    on_connect: Callable[[Any], None],
    on_notify: Callable[[Any, list[Any]], None],
    what: str,
    wait: float = 1.0,
) -> None:
    """LISTEN on ``channel`` over a dedicated PostgreSQL connection until ``stop`` is set.

    Runs in a thread of its own. NOTIFYs sent while no connection listens are
    lost, so after every (re)connect ``on_connect(conn)`` lets the caller
    catch up on what it may have missed; ``on_notify(conn, notifies)`` gets
    each batch the connection delivers. A failed connection is retried with a
    doubling back-off (0.5 s up to 30 s); ``wait`` bounds how long ``stop``
    goes unnoticed.
    """
    import psycopg2

    backoff = 0.5
    while not stop.is_set():
        conn = None
        try:
            db = database.obj
            conn = psycopg2.connect(dbname=db.database, **db.connect_params)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"LISTEN {channel}")
            backoff = 0.5
            on_connect(conn)
            while not stop.is_set():
                ready, _, _ = select.select([conn], [], [], wait)
                if not ready:
                    continue
                conn.poll()
                if conn.notifies:
                    notes = list(conn.notifies)
                    conn.notifies.clear()
                    on_notify(conn, notes)
        except Exception as exc:
            if not stop.is_set():
                log.warning("%s: LISTEN connection failed (%s); retrying in %.1fs", what, exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()


# -- plain SQL for hot paths ----------------------------------------------------
# NOTE(perf): Peewee renders a query's tree anew on each call, 100-300 us a
# statement, which on an upload or a delivery cost more CPU than the database
# spent running them (issues #14, #17). These take statements written once
# with ``?`` placeholders, turned into the backend's (``%s`` on PostgreSQL)
# once per text, and return plain tuples. No literal ``?`` may appear in them.
# Values go to the driver as they are: ``datetime`` and ``bytes`` are adapted
# by sqlite3 and psycopg2 as Peewee's fields hand them over.


def marks(count: int) -> str:
    """``?, ?, ...`` for an ``IN (...)`` of ``count`` values."""
    return ", ".join(["?"] * count)


@functools.lru_cache(maxsize=1024)
def _plain_text(sql: str, param: str) -> str:
    return sql if param == "?" else sql.replace("?", param)


def plain_rows(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (``?`` placeholders) as tuples, as the driver returns them."""
    db = database.obj
    return [tuple(r) for r in db.execute_sql(_plain_text(sql, db.param), tuple(params)).fetchall()]


def later(sql: str, params: Sequence[Any] = ()) -> None:
    """Execute a statement (``?`` placeholders) whose result nobody reads.

    On PostgreSQL inside a transaction it goes to the server with the next
    statement or the COMMIT, in the same round trip (see
    ``PostgresqlDatabase``); elsewhere it runs at once. Only for statements
    that cannot fail for a reason a caller handles (inserts of fresh rows,
    ``ON CONFLICT`` upserts): a failure is raised by the next statement, and
    fails the transaction as any failed statement does."""
    db = database.obj
    if is_postgres(db) and db.in_transaction():
        db.later(_plain_text(sql, db.param), params)
    else:
        db.execute_sql(_plain_text(sql, db.param), tuple(params))


def plain_run(sql: str, params: Sequence[Any] = ()) -> int:
    """Execute a statement that returns no rows; the rows it changed."""
    db = database.obj
    return int(db.execute_sql(_plain_text(sql, db.param), tuple(params)).rowcount)
