"""pytest plugin (entry point ``pytest11``): a real jmapd over real HTTP.

One database per test session — a SQLite file, or a fresh PostgreSQL
database when ``JMAPD_TEST_DATABASE=postgresql://…`` — shared by every
server the tests start; each server is the real ASGI app under uvicorn on
a loopback port, and each test makes its own users so tests never see
each other's data. Third-party plugin authors get the same fixtures.
"""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

CORE = "urn:ietf:params:jmap:core"


def wait_for(
    fetch: Callable[[], Any], condition: Callable[[Any], bool] = bool, timeout: float = 15, interval: float = 0.05
) -> Any:
    """Poll ``fetch()`` until ``condition`` holds or ``timeout`` passes.

    Returns the last value either way, so the caller's assertion shows what
    was seen. Tests wait on the state they need instead of sleeping a guess:
    a loaded machine only makes them slower, never wrong, and an idle one
    does not pay for the guess. ``timeout`` is a ceiling against hangs, not
    a figure under test.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if condition(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _create_pg_database(url: str) -> tuple[str, Any]:
    """A fresh database next to ``url``'s; returns its URL and a dropper."""
    from urllib.parse import urlparse, urlunparse

    import psycopg2

    parsed = urlparse(url)
    name = f"jmapd_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()

    def drop() -> None:
        from jmapd.db import database

        try:
            database.obj.close()
        except Exception:
            pass
        conn = psycopg2.connect(url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.close()

    return urlunparse(parsed._replace(path="/" + name)), drop


class JmapClient:
    """A small JMAP client for tests: the calls a real client makes."""

    def __init__(self, server: JmapServer, user: str, password: str) -> None:
        import httpx

        self.server = server
        self.user = user
        self.password = password
        self.http = httpx.Client(base_url=server.url, auth=(user, password), timeout=30)
        self._session: dict[str, Any] | None = None

    @property
    def session(self) -> dict[str, Any]:
        if self._session is None:
            resp = self.http.get("/.well-known/jmap")
            resp.raise_for_status()
            self._session = resp.json()
        return self._session

    @property
    def account_id(self) -> str:
        """The user's personal account."""
        accounts = self.session["accounts"]
        return next(str(i) for i, a in accounts.items() if a["isPersonal"])

    def post(self, body: Any, **kwargs: Any) -> Any:
        return self.http.post("/jmap/api", json=body, **kwargs)

    def request(self, calls: list[list[Any]], using: list[str] | None = None, **extra: Any) -> dict[str, Any]:
        body = {"using": using if using is not None else self.server.capabilities(), "methodCalls": calls, **extra}
        resp = self.post(body)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def call(self, method: str, args: dict[str, Any] | None = None, using: list[str] | None = None) -> tuple[str, dict[str, Any]]:
        """One call; ``accountId`` defaults to the primary account."""
        args = dict(args or {})
        if "accountId" not in args and not method.startswith("Core/"):
            args["accountId"] = self.account_id
        result = self.request([[method, args, "c0"]], using)
        name, response, _ = result["methodResponses"][0]
        return name, response

    def ok(self, method: str, args: dict[str, Any] | None = None, using: list[str] | None = None) -> dict[str, Any]:
        """One call that must succeed; returns its arguments."""
        name, response = self.call(method, args, using)
        assert name != "error", f"{method} failed: {response}"
        return response

    def upload(self, data: bytes, content_type: str = "application/octet-stream", account_id: str | None = None) -> dict[str, Any]:
        resp = self.http.post(
            f"/jmap/upload/{account_id or self.account_id}", content=data, headers={"Content-Type": content_type}
        )
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    def download(self, blob_id: str, name: str = "blob", account_id: str | None = None) -> bytes:
        """A blob's bytes through the session's downloadUrl template."""
        url = (self.session["downloadUrl"].replace("{accountId}", account_id or self.account_id)
               .replace("{blobId}", blob_id).replace("{name}", name).replace("{type}", "application/octet-stream"))
        resp = self.http.get(url)
        assert resp.status_code == 200, resp.text
        return bytes(resp.content)

    def close(self) -> None:
        self.http.close()


class JmapServer:
    """A running jmapd (real ASGI app, real uvicorn, real database)."""

    #: Every server started and not yet stopped in this process. Their background workers
    #: (the outbound queue, for one) all serve the session's one database, as a cluster's
    #: processes would: a test whose outcome depends on which process does the work can
    #: keep the others out of it (tests/conftest.py does for the outbound queue).
    running: ClassVar[list[JmapServer]] = []

    def __init__(self, services: Any, port: int, server: Any, thread: threading.Thread) -> None:
        self.services = services
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server = server
        self._thread = thread
        self._clients: list[JmapClient] = []
        JmapServer.running.append(self)

    def capabilities(self) -> list[str]:
        return sorted(self.services.registry.capabilities)

    def make_user(self, name: str | None = None, password: str | None = None) -> tuple[str, str]:
        from jmapd.cli import add_user
        from jmapd.db import ensure_connected

        name = name or f"u{uuid.uuid4().hex[:10]}"
        password = password or uuid.uuid4().hex
        ensure_connected()
        add_user(self.services, name, password)
        return name, password

    def client(self, user: str | None = None, password: str | None = None) -> JmapClient:
        if user is None:
            user, password = self.make_user()
        client = JmapClient(self, user, password or "")
        self._clients.append(client)
        return client

    def busy(self, kind: str, user: str) -> int:
        """Requests of ``kind`` (``api``, ``upload``) ``user`` has in flight."""
        from jmapd.db import ensure_connected
        from jmapd.models import User

        ensure_connected()
        return int(self.services.busy(kind, User.get(User.name == user).id))

    def basic(self, user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self in JmapServer.running:
            JmapServer.running.remove(self)


def start_server(raw_config: dict[str, Any], data_dir: Path, database_url: str, extra_plugins: list[Any] | None = None) -> JmapServer:
    import uvicorn

    from jmapd import config as config_mod
    from jmapd.app import build_registry, create_app
    from jmapd.blobs import BlobStore
    from jmapd.plugins import make_plugin_manager
    from jmapd.services import Services

    raw: dict[str, Any] = {
        "server": {"data_dir": str(data_dir)},
        "database": {"url": database_url},
        "log": {"access_log": False},
        # Every test client comes from 127.0.0.1: only throttling tests lower this.
        "auth": {"failure_threshold": 10_000},
    }
    for key, value in raw_config.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    pm = make_plugin_manager(raw.get("capabilities"), extra_plugins)
    schemas = {r[0]: r[1] for r in pm.hook.jmapd_config_schema() if r}
    cfg = config_mod.load(raw, schemas)
    services = Services(
        config=cfg, pm=pm, registry=build_registry(pm, cfg), blobs=BlobStore(cfg.blobs.store, cfg.blob_path, cfg.blobs.inline_max)
    )
    app = create_app(services=services)
    port = free_port()
    # Streams (EventSource, WebSocket) a test left open are cut after a second
    # at stop instead of holding the next test up.
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not wait_for(lambda: server.started or not thread.is_alive(), timeout=10, interval=0.01) or not server.started:
        raise RuntimeError("test server did not start")
    return JmapServer(services, port, server, thread)


@pytest.fixture(scope="session")
def jmapd_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's database URL, migrated for every installed plugin.

    Users the tests make get cheap password hashes (see
    :func:`jmapd.auth.set_password_hasher`); servers verify them with the
    same code as any other hash.
    """
    import argon2

    from jmapd.auth import set_password_hasher

    set_password_hasher(argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    from jmapd.app import build_services, load_config
    from jmapd.cli_setup import run_migrations

    base = os.environ.get("JMAPD_TEST_DATABASE")
    drop = None
    if base and base.startswith(("postgresql://", "postgres://")):
        url, drop = _create_pg_database(base)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'jmapd.sqlite3'}"
    cfg, pm = load_config(None, {"JMAPD_DATABASE__URL": url, "JMAPD_SERVER__DATA_DIR": str(tmp_path_factory.mktemp("data"))})
    run_migrations(build_services(cfg, pm))
    yield url
    if drop is not None:
        drop()


@pytest.fixture(scope="session")
def jmapd_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jmapd-data")


@pytest.fixture(scope="session")
def jmap_server(jmapd_database: str, jmapd_data_dir: Path) -> Iterator[JmapServer]:
    """A server with every installed plugin enabled and default limits."""
    server = start_server({}, jmapd_data_dir, jmapd_database)
    yield server
    server.stop()


@pytest.fixture
def make_server(jmapd_database: str, jmapd_data_dir: Path) -> Iterator[Any]:
    """Start servers with other configurations: ``make_server({"limits": {...}})``."""
    started: list[JmapServer] = []

    def factory(raw: dict[str, Any] | None = None, extra_plugins: list[Any] | None = None) -> JmapServer:
        server = start_server(raw or {}, jmapd_data_dir, jmapd_database, extra_plugins)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def client(jmap_server: JmapServer) -> JmapClient:
    """A client logged in as a fresh user with a personal account."""
    return jmap_server.client()


class ServeProcess:
    """``jmapd serve`` (gunicorn + uvicorn workers) as a real process group.

    For tests and benchmarks where hosting itself is the point: several
    workers, kill -9, restarts. ``extra_yaml`` is appended to the generated
    configuration file.
    """

    def __init__(
        self, directory: Path, database_url: str, workers: int = 2, extra_yaml: str = "", server_yaml: str = "",
        verify: Any = True,
    ) -> None:
        self.port = free_port()
        #: ``server_yaml`` holds more keys of the ``server:`` section (indented two spaces); with
        #: ``tls:`` among them the server is reached over https, checked against ``verify``.
        scheme = "https" if "tls:" in server_yaml else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.verify = verify
        self.config = directory / "jmapd.yaml"
        self.config.write_text(
            f"server:\n  data_dir: {directory / 'data'}\n  threads: 8\n{server_yaml}"
            f"database:\n  url: {database_url}\n"
            "log:\n  access_log: false\n  level: WARNING\n"
            # Every client is 127.0.0.1 and tests fail logins on purpose (real
            # Argon2 here): no throttle and no rest after failures, unless a
            # test's own auth: mapping (the last key wins) asks for them.
            "auth:\n  failure_threshold: 100000\n  verify_rest: 0\n" + extra_yaml
        )
        self.workers = workers
        self.proc: Any = None

    def _env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run another ``jmapd`` command against the same configuration."""
        import subprocess
        import sys

        out = subprocess.run(
            [sys.executable, "-m", "jmapd.cli", "--config", str(self.config), *args],
            input=stdin, capture_output=True, text=True, env=self._env(), check=True, timeout=120,
        )
        return out.stdout

    def start(self, timeout: float = 60, ready_path: str = "/readyz") -> ServeProcess:
        """Start and wait until ``ready_path`` answers 200 (``/healthz`` for a
        server expected to report itself not ready) and every worker forked."""
        import subprocess
        import sys

        import httpx

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jmapd.cli", "--config", str(self.config), "serve",
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)],
            env=self._env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + ready_path, timeout=1, verify=self.verify).status_code == 200:
                    # one worker answering does not mean every worker has forked yet
                    wait_for(self.worker_pids, lambda pids: len(pids) >= self.workers, timeout=30)
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("jmapd serve exited: " + self.proc.stderr.read().decode()[-2000:])
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("jmapd serve did not become ready")

    def worker_pids(self) -> list[int]:
        import subprocess

        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            sizes += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")]
        return sizes

    def kill9(self) -> None:
        import signal

        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        import signal
        import subprocess

        if self.proc is not None and self.proc.poll() is None:
            # Graceful first; a stream a test left open would hold gunicorn's
            # graceful_timeout (10 s), so after a short grace quit at once.
            os.killpg(self.proc.pid, signal.SIGTERM)
            for sig, grace in ((signal.SIGQUIT, 2), (signal.SIGKILL, 10)):
                try:
                    self.proc.wait(timeout=grace)
                    return
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=10)


# The conformance suite: public here so plugins import one module.
from .conformance import Conformance, TypeSpec  # noqa: E402

__all__ = ["Conformance", "JmapClient", "JmapServer", "ServeProcess", "TypeSpec", "free_port", "start_server", "wait_for"]
