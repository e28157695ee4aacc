"""Message Encryption for Web Push (RFC 8291) with the ``aes128gcm`` coding (RFC 8188).

JMAP PushSubscription objects may carry ``keys`` ({p256dh, auth}); when they do,
RFC 8620 §7.2 requires every push body to be encrypted with RFC 8291.  This
module only turns plaintext bytes into the encrypted request body (and back,
for tests and fake push services); it never touches the network.

Why a single record: RFC 8291 §4 forbids more than one record per push
message, and push services are only required to accept 4096 octets of body.
With the 86-octet header, one padding-delimiter octet and the 16-octet GCM
tag, that leaves at most 3993 octets of plaintext, which is plenty for a
StateChange but must be enforced rather than silently truncated.
"""

from __future__ import annotations

import base64
import os
import re
import struct
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "RECORD_SIZE",
    "MAX_PLAINTEXT",
    "WebPushError",
    "b64url_decode",
    "b64url_encode",
    "encrypt",
    "decrypt",
    "push_headers",
]

#: Record size written into the aes128gcm header.  4096 is what RFC 8291
#: examples use and what every push service accepts.
RECORD_SIZE = 4096
#: Header = salt(16) + rs(4) + idlen(1) + uncompressed P-256 point(65).
HEADER_LEN = 16 + 4 + 1 + 65
TAG_LEN = 16
#: Largest plaintext that still fits a 4096-octet push body (RFC 8291 §4).
MAX_PLAINTEXT = 4096 - HEADER_LEN - TAG_LEN - 1

_KEY_INFO_PREFIX = b"WebPush: info\x00"
_CEK_INFO = b"Content-Encoding: aes128gcm\x00"
_NONCE_INFO = b"Content-Encoding: nonce\x00"
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")
_URGENCIES = ("very-low", "low", "normal", "high")
_TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class WebPushError(ValueError):
    """Raised for unusable subscription keys, oversize payloads or bad ciphertext.

    A ValueError subclass so callers validating client input (PushSubscription/set)
    can map it to ``invalidProperties`` without knowing this module.
    """


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url, the encoding RFC 8291/8292 and JMAP use for keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    """Decode base64url, tolerating padding and the standard alphabet.

    Clients in the wild send ``=`` padding or ``+/`` despite RFC 4648 §5; being
    lenient here costs nothing since the decoded keys are validated afterwards.
    """
    if not isinstance(value, str):
        raise WebPushError("expected a base64url string")
    s = value.strip().rstrip("=").replace("+", "-").replace("/", "_")
    if not _B64URL_RE.match(s) or len(s) % 4 == 1:
        raise WebPushError("invalid base64url data")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _load_ua_public(p256dh: bytes) -> ec.EllipticCurvePublicKey:
    if len(p256dh) != 65 or p256dh[0] != 0x04:
        raise WebPushError("p256dh must be an uncompressed P-256 point (65 octets)")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError as exc:  # not on the curve
        raise WebPushError("p256dh is not a valid P-256 point") from exc


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def _derive(
    ecdh_secret: bytes, auth: bytes, ua_public: bytes, as_public: bytes, salt: bytes
) -> tuple[bytes, bytes]:
    """Key schedule of RFC 8291 §3.4 followed by RFC 8188 §2.2/2.3; returns (CEK, NONCE)."""
    ikm = _hkdf(auth, ecdh_secret, _KEY_INFO_PREFIX + ua_public + as_public, 32)
    cek = _hkdf(salt, ikm, _CEK_INFO, 16)
    nonce = _hkdf(salt, ikm, _NONCE_INFO, 12)
    return cek, nonce


def encrypt(
    plaintext: bytes,
    p256dh_b64url: str,
    auth_b64url: str,
    *,
    padding: int = 0,
    sender_key: ec.EllipticCurvePrivateKey | None = None,
    salt: bytes | None = None,
) -> bytes:
    """Encrypt ``plaintext`` for a subscription; returns the full aes128gcm body.

    ``padding`` adds that many zero octets after the delimiter (length hiding).
    ``sender_key`` and ``salt`` exist only so tests can reproduce RFC 8291
    Appendix A; production code must leave them unset: reusing either across
    messages would break the confidentiality guarantees.
    """
    if not isinstance(plaintext, bytes | bytearray | memoryview):
        raise TypeError("plaintext must be bytes")
    plaintext = bytes(plaintext)
    if padding < 0:
        raise WebPushError("padding must be >= 0")
    if len(plaintext) + padding > MAX_PLAINTEXT:
        raise WebPushError(
            f"push payload too large: {len(plaintext)} + {padding} padding octets "
            f"> {MAX_PLAINTEXT} (RFC 8291 single 4096-octet record)"
        )
    ua_public = b64url_decode(p256dh_b64url)
    ua_key = _load_ua_public(ua_public)
    auth = b64url_decode(auth_b64url)
    if len(auth) != 16:
        raise WebPushError("auth secret must be 16 octets (RFC 8291 §3.2)")
    if salt is None:
        salt = os.urandom(16)
    elif len(salt) != 16:
        raise WebPushError("salt must be 16 octets")
    if sender_key is None:
        sender_key = ec.generate_private_key(ec.SECP256R1())
    as_public = _point(sender_key.public_key())

    ecdh_secret = sender_key.exchange(ec.ECDH(), ua_key)
    cek, nonce = _derive(ecdh_secret, auth, ua_public, as_public, salt)
    # Sequence number 0: the nonce is used as derived (XOR with 0).
    record = AESGCM(cek).encrypt(nonce, plaintext + b"\x02" + b"\x00" * padding, None)
    header = salt + struct.pack("!IB", RECORD_SIZE, len(as_public)) + as_public
    return header + record


def decrypt(body: bytes, ua_private_key: ec.EllipticCurvePrivateKey, auth_b64url: str) -> bytes:
    """Receiver (user agent) side of :func:`encrypt`, for tests and fake push services.

    Accepts exactly one record, as RFC 8291 mandates, and checks the padding
    delimiter so that a broken encoder cannot go unnoticed.
    """
    if len(body) < 21:
        raise WebPushError("body shorter than the aes128gcm header")
    salt = body[:16]
    rs, idlen = struct.unpack("!IB", body[16:21])
    as_public = body[21 : 21 + idlen]
    record = body[21 + idlen :]
    if rs < 18:
        raise WebPushError("invalid record size")
    if len(as_public) != idlen or idlen != 65:
        raise WebPushError("keyid must be the sender's uncompressed P-256 point")
    if not TAG_LEN < len(record) <= rs:
        raise WebPushError("expected exactly one record")
    auth = b64url_decode(auth_b64url)
    as_key = _load_ua_public(as_public)
    ua_public = _point(ua_private_key.public_key())
    ecdh_secret = ua_private_key.exchange(ec.ECDH(), as_key)
    cek, nonce = _derive(ecdh_secret, auth, ua_public, as_public, salt)
    try:
        padded = AESGCM(cek).decrypt(nonce, record, None)
    except InvalidTag as exc:
        raise WebPushError("authentication tag mismatch") from exc
    stripped = padded.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x02:
        raise WebPushError("missing last-record padding delimiter 0x02")
    return stripped[:-1]


def push_headers(
    *,
    ttl: int,
    encrypted: bool,
    urgency: str | None = None,
    topic: str | None = None,
    authorization: str | None = None,
) -> Mapping[str, str]:
    """HTTP headers for a JMAP push POST (RFC 8620 §7.2, RFC 8030 §5).

    TTL is mandatory per RFC 8620.  The body stays ``application/json`` even
    when encrypted: aes128gcm is a *content coding* layered over the JSON.
    """
    if not isinstance(ttl, int) or ttl < 0:
        raise ValueError("ttl must be a non-negative integer")
    headers = {"Content-Type": "application/json", "TTL": str(ttl)}
    if encrypted:
        headers["Content-Encoding"] = "aes128gcm"
    if urgency is not None:
        if urgency not in _URGENCIES:
            raise ValueError(f"urgency must be one of {', '.join(_URGENCIES)}")
        headers["Urgency"] = urgency
    if topic is not None:
        if not _TOPIC_RE.match(topic):
            raise ValueError("topic must be 1-32 base64url characters (RFC 8030 §5.4)")
        headers["Topic"] = topic
    if authorization is not None:
        headers["Authorization"] = authorization
    return headers
