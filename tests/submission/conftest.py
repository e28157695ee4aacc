"""A recording SMTP relay and a server whose smarthost it is."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jmapd_submission.testing import RecordingRelay

SUBMISSION = "urn:ietf:params:jmap:submission"


@pytest.fixture
def sending(relay: RecordingRelay, make_server: Any) -> Any:
    """``sending(**submission_config) -> server`` relaying to ``relay``."""

    def start(**extra: Any) -> Any:
        return make_server({"submission": relay.config(**extra)})

    return start


class Mailer:
    """A user of a sending server: stores messages and submits them."""

    def __init__(self, server: Any, client: Any) -> None:
        self.server = server
        self.client = client
        self.tag = uuid.uuid4().hex[:8]

    @property
    def address(self) -> str:
        return f"{self.client.user}@localhost"

    def identity(self) -> dict[str, Any]:
        return self.client.ok("Identity/get")["list"][0]

    def message(self, *, to: str = "bob@example.net", extra: str = "", sender: str | None = None, subject: str | None = None) -> bytes:
        return (
            f"From: Me <{sender or self.address}>\r\n"
            f"To: {to}\r\n"
            f"{extra}"
            f"Subject: {subject or 'test ' + self.tag}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@localhost>\r\n"
            "\r\n"
            "Hello there.\r\n"
        ).encode()

    def store(self, raw: bytes) -> str:
        from jmapd_mail.api import deliver

        return deliver(self.server.services, self.client.account_id, raw, mailbox_role="drafts")

    def submit(self, raw: bytes | None = None, **create: Any) -> tuple[str, dict[str, Any]]:
        """(email id, EmailSubmission/set response) for one create ``k``."""
        email_id = create.pop("emailId", None) or self.store(raw or self.message())
        obj = {"identityId": self.identity()["id"], "emailId": email_id, **create}
        return email_id, self.client.ok("EmailSubmission/set", {"create": {"k": obj}})

    def get(self, submission_id: str) -> dict[str, Any]:
        return self.client.ok("EmailSubmission/get", {"ids": [submission_id]})["list"][0]


@pytest.fixture
def mailer_for() -> Any:
    def make(server: Any, client: Any = None) -> Mailer:
        return Mailer(server, client or server.client())

    return make


@dataclass
class Certificate:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(directory: Path) -> Certificate:
    """Generate a fresh key and self-signed certificate valid for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"jmapd test relay {uuid.uuid4().hex[:8]}")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    found = Certificate(directory / "cert.pem", directory / "key.pem")
    found.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    found.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return found


@pytest.fixture
def certificate() -> Any:
    """``certificate(directory) -> Certificate``: generated in the test, loopback only."""
    return make_certificate
