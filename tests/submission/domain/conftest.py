"""Real SMTP peers on 127.0.0.1 for the submission domain tests.

Servers bind port 0 on a private event loop thread so tests never collide
on ports and never touch the network beyond loopback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    content: bytes


@dataclass
class RecordingHandler:
    """Accepts everything unless told otherwise; records what arrives."""

    rcpt_replies: dict[str, str] = field(default_factory=dict)
    mail_reply: str | None = None
    data_reply: str | None = None
    received: list[Received] = field(default_factory=list)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                list(envelope.mail_options),
                envelope.original_content,
            )
        )
        return self.data_reply or "250 2.0.0 Queued as ABC123"


class ThreadedServer:
    """An asyncio server (protocol factory) on its own loop thread, port 0."""

    def __init__(self, make_protocol: Callable[[asyncio.AbstractEventLoop], Any], **server_kw):
        self._make = make_protocol
        self._server_kw = server_kw
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> ThreadedServer:
        self._thread.start()

        async def bind():
            return await self.loop.create_server(
                lambda: self._make(self.loop), "127.0.0.1", 0, **self._server_kw
            )

        self.server = asyncio.run_coroutine_threadsafe(bind(), self.loop).result(5)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close():
            self.server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


@pytest.fixture
def smtp_peer() -> Iterator[Callable[..., tuple[ThreadedServer, RecordingHandler]]]:
    """Factory: start an aiosmtpd SMTP server; kwargs go to aiosmtpd.SMTP,
    except ``ssl`` (implicit TLS server context)."""
    started: list[ThreadedServer] = []

    def start(handler: RecordingHandler | None = None, ssl_context=None, **smtp_kw):
        handler = handler or RecordingHandler()
        smtp_kw.setdefault("hostname", "relay.test")
        server = ThreadedServer(
            lambda loop: SMTP(handler, loop=loop, **smtp_kw),
            **({"ssl": ssl_context} if ssl_context else {}),
        ).start()
        started.append(server)
        return server, handler

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def free_port() -> int:
    """A port with nothing listening (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listener that accepts TCP connections but never says anything."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    yield sock.getsockname()[1]
    sock.close()


@dataclass
class TLSMaterial:
    server_context: ssl.SSLContext
    client_context: ssl.SSLContext


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSMaterial:
    """Self-signed certificate for 127.0.0.1, trusted by the client context."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    d: Path = tmp_path_factory.mktemp("tls")
    cert_path, key_path = d / "cert.pem", d / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return TLSMaterial(server, client)


def make_authenticator(user: str, password: str):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return authenticator


@pytest.fixture
def authenticator() -> Callable[[str, str], Any]:
    return make_authenticator
