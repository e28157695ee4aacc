"""VAPID (RFC 8292) application-server identity for Web Push.

Push services (Mozilla autopush, FCM web push, ...) increasingly require a
VAPID ``Authorization`` header, and RFC 9749 lets a JMAP server advertise its
key via the ``urn:ietf:params:jmap:webpush-vapid`` session capability so that
clients can bind their push subscription to it.  Because clients bind to the
public key, the key pair must be *stable*: it is persisted to a PEM file on
first use and reused across restarts and workers.  Rotating it invalidates
every bound subscription (RFC 9749 asks the server to drop them).
"""

from __future__ import annotations

import json
import logging
import os
import stat
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from .webpush import b64url_encode

__all__ = [
    "CAPABILITY",
    "MAX_TTL",
    "VapidKey",
    "audience_of",
]

log = logging.getLogger(__name__)

#: JMAP session capability defined by RFC 9749.
CAPABILITY = "urn:ietf:params:jmap:webpush-vapid"
#: RFC 8292 §2: ``exp`` MUST NOT be more than 24 hours after the request.
MAX_TTL = 24 * 3600
_DEFAULT_PORTS = {"https": 443, "http": 80}


def audience_of(endpoint_url: str) -> str:
    """ASCII-serialised origin of the push endpoint, the JWT ``aud`` (RFC 8292 §2).

    Default ports are dropped and scheme/host lower-cased because push
    services compare the audience against their own origin textually.
    """
    parts = urlsplit(endpoint_url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"push endpoint must be an absolute http(s) URL: {endpoint_url!r}")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid port in push endpoint {endpoint_url!r}") from exc
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def _check_subject(subject: str) -> None:
    # RFC 8292 §2.1: the contact SHOULD be a mailto: or https: URI; push
    # services (notably Mozilla) reject anything else, so fail early.
    if not isinstance(subject, str):
        raise ValueError("VAPID subject must be a string")
    low = subject.lower()
    if low.startswith("mailto:") and len(subject) > len("mailto:") and "@" in subject:
        return
    if low.startswith("https://") and len(subject) > len("https://"):
        return
    raise ValueError("VAPID subject must be a mailto: address or an https: URL")


class VapidKey:
    """An ECDSA P-256 key pair used to sign VAPID JWTs."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("VAPID requires a P-256 key")
        self._key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self._public_b64 = b64url_encode(raw)

    # -- construction -----------------------------------------------------

    @classmethod
    def generate(cls) -> VapidKey:
        """Fresh in-memory key (tests, or deployments managing keys themselves)."""
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, data: bytes) -> VapidKey:
        """Load an unencrypted PKCS#8 or SEC1 PEM private key."""
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("VAPID key file does not hold an EC private key")
        return cls(key)

    def to_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> VapidKey:
        """Load the key at ``path``, creating it (mode 0600) if it does not exist.

        Creation is race-free across processes (several server workers may
        start at once): the key is written to a private temp file in the same
        directory and hard-linked into place, which fails if another process
        won; the loser then loads the winner's key, so all workers agree.
        """
        p = Path(path)
        try:
            return cls._load(p)
        except FileNotFoundError:
            pass
        p.parent.mkdir(parents=True, exist_ok=True)
        key = cls.generate()
        fd, tmp = tempfile.mkstemp(prefix=".vapid-", dir=p.parent)  # mkstemp => 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(key.to_pem())
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, p)
            except FileExistsError:
                return cls._load(p)
        finally:
            os.unlink(tmp)
        log.info("created new VAPID key at %s", p)
        return key

    @classmethod
    def _load(cls, p: Path) -> VapidKey:
        with open(p, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            data = fh.read()
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("VAPID key file %s is accessible by group/others; chmod 600 it", p)
        return cls.from_pem(data)

    # -- public surface ---------------------------------------------------

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    @property
    def public_key_b64url(self) -> str:
        """Uncompressed point, unpadded base64url: the ``k=`` and applicationServerKey value."""
        return self._public_b64

    def capability(self) -> dict[str, str]:
        """Value of the RFC 9749 session capability object."""
        return {"applicationServerKey": self._public_b64}

    def jwt(
        self, endpoint_url: str, subject: str, ttl: int = 12 * 3600, *, now: float | None = None
    ) -> str:
        """ES256-signed JWT with aud/exp/sub as RFC 8292 §2 requires.

        ``ttl`` is capped to 24h rather than rejected, since exceeding it only
        makes the push service refuse every request.
        """
        _check_subject(subject)
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        issued = int(time.time() if now is None else now)
        claims = {
            "aud": audience_of(endpoint_url),
            "exp": issued + min(ttl, MAX_TTL),
            "sub": subject,
        }
        header: dict[str, object] = {"typ": "JWT", "alg": "ES256"}
        signing_input = (
            b64url_encode(_compact_json(header)) + "." + b64url_encode(_compact_json(claims))
        ).encode("ascii")
        der = self._key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        # JWS (RFC 7518 §3.4) wants the fixed-width r||s form, not DER.
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signing_input.decode("ascii") + "." + b64url_encode(sig)

    def authorization_header(
        self, endpoint_url: str, subject: str, ttl: int = 12 * 3600, *, now: float | None = None
    ) -> str:
        """``Authorization`` header value: ``vapid t=<JWT>, k=<public key>`` (RFC 8292 §3)."""
        return f"vapid t={self.jwt(endpoint_url, subject, ttl, now=now)}, k={self._public_b64}"


def _compact_json(obj: dict[str, object]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=False).encode("utf-8")
