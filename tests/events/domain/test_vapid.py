"""Tests for VAPID key handling and JWT signing (RFC 8292)."""

import base64
import json
import os
import stat

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jmapd_events.domain.vapid import CAPABILITY, MAX_TTL, VapidKey, audience_of
from jmapd_events.domain.webpush import b64url_decode

NOW = 1_700_000_000


def _parse_header(value: str) -> tuple[str, str]:
    assert value.startswith("vapid ")
    fields = dict(part.strip().split("=", 1) for part in value[len("vapid ") :].split(","))
    return fields["t"], fields["k"]


def _verify_jwt(token: str, k: str) -> dict:
    """Independent ES256 verification using only the advertised public key."""
    head_b64, claims_b64, sig_b64 = token.split(".")
    header = json.loads(b64url_decode(head_b64))
    assert header == {"typ": "JWT", "alg": "ES256"}
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(k))
    sig = b64url_decode(sig_b64)
    assert len(sig) == 64
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    pub.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(b64url_decode(claims_b64))


def test_authorization_header_signature_and_claims():
    key = VapidKey.generate()
    value = key.authorization_header(
        "https://Push.Example.NET:443/wpush/v2/abc?x=1", "mailto:admin@example.org", 3600, now=NOW
    )
    token, k = _parse_header(value)
    assert k == key.public_key_b64url
    claims = _verify_jwt(token, k)
    assert claims == {
        "aud": "https://push.example.net",
        "exp": NOW + 3600,
        "sub": "mailto:admin@example.org",
    }


def test_tampered_jwt_does_not_verify():
    key = VapidKey.generate()
    token, k = _parse_header(
        key.authorization_header("https://push.example/x", "https://example.org/", 60)
    )
    head, claims, sig = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"aud":"https://evil.example","exp":1,"sub":"mailto:a@b"}')
    with pytest.raises(InvalidSignature):
        _verify_jwt(f"{head}.{forged.decode().rstrip('=')}.{sig}", k)
    other = VapidKey.generate()
    with pytest.raises(InvalidSignature):
        _verify_jwt(token, other.public_key_b64url)


def test_ttl_is_capped_at_24h():
    key = VapidKey.generate()
    claims = _verify_jwt(
        key.jwt("https://p.example/", "mailto:a@b.c", 10 * 86400, now=NOW), key.public_key_b64url
    )
    assert claims["exp"] == NOW + MAX_TTL == NOW + 86400
    with pytest.raises(ValueError):
        key.jwt("https://p.example/", "mailto:a@b.c", 0)


@pytest.mark.parametrize(
    "subject", ["", "admin@example.org", "mailto:", "http://example.org", "https://", "xmpp:a@b"]
)
def test_bad_subject_rejected(subject):
    with pytest.raises(ValueError, match="subject"):
        VapidKey.generate().jwt("https://p.example/", subject)


@pytest.mark.parametrize(
    ("url", "aud"),
    [
        ("https://push.example.net/a/b", "https://push.example.net"),
        ("HTTPS://PUSH.example.net:8443/a", "https://push.example.net:8443"),
        ("http://push.example.net:80/", "http://push.example.net"),
        ("https://user:pw@[2001:DB8::1]:443/x", "https://[2001:db8::1]"),
        ("https://[2001:db8::1]:444/x", "https://[2001:db8::1]:444"),
    ],
)
def test_audience_is_origin(url, aud):
    assert audience_of(url) == aud


@pytest.mark.parametrize("url", ["ftp://x/", "/relative", "https:///nohost", "https://h:99999/"])
def test_audience_rejects_non_http_urls(url):
    with pytest.raises(ValueError):
        audience_of(url)


def test_public_key_is_uncompressed_point_and_capability():
    key = VapidKey.generate()
    raw = b64url_decode(key.public_key_b64url)
    assert len(raw) == 65 and raw[0] == 4
    assert "=" not in key.public_key_b64url
    assert key.capability() == {"applicationServerKey": key.public_key_b64url}
    assert CAPABILITY == "urn:ietf:params:jmap:webpush-vapid"


def test_load_or_create_persists_with_0600(tmp_path):
    path = tmp_path / "sub" / "vapid.pem"
    first = VapidKey.load_or_create(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    second = VapidKey.load_or_create(str(path))
    assert first.public_key_b64url == second.public_key_b64url
    # No leftover temp files.
    assert sorted(p.name for p in path.parent.iterdir()) == ["vapid.pem"]


def test_load_or_create_loses_race_gracefully(tmp_path, monkeypatch):
    path = tmp_path / "vapid.pem"
    winner = VapidKey.generate()
    real_link = os.link

    def racing_link(src, dst):
        # Another worker creates the file between our existence check and link.
        path.write_bytes(winner.to_pem())
        return real_link(src, dst)

    monkeypatch.setattr(os, "link", racing_link)
    loaded = VapidKey.load_or_create(path)
    assert loaded.public_key_b64url == winner.public_key_b64url
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vapid.pem"]


def test_loose_permissions_warn(tmp_path, caplog):
    path = tmp_path / "vapid.pem"
    path.write_bytes(VapidKey.generate().to_pem())
    os.chmod(path, 0o644)
    with caplog.at_level("WARNING"):
        VapidKey.load_or_create(path)
    assert "chmod 600" in caplog.text


def test_non_p256_or_non_ec_key_rejected():
    with pytest.raises(ValueError):
        VapidKey(ec.generate_private_key(ec.SECP384R1()))
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError):
        VapidKey.from_pem(pem)
