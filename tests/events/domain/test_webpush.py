"""Tests for RFC 8291 encryption, pinned to the RFC 8291 Appendix A test vector."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jmapd_events.domain import webpush
from jmapd_events.domain.webpush import (
    MAX_PLAINTEXT,
    WebPushError,
    b64url_decode,
    b64url_encode,
    decrypt,
    encrypt,
    push_headers,
)

# RFC 8291 Appendix A.
PLAINTEXT = b"When I grow up, I want to be a watermelon"
AS_PUBLIC = (
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
)
AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
UA_PUBLIC = (
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
)
UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
EXPECTED = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"


def _priv(b64: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64url_decode(b64), "big"), ec.SECP256R1())


def _pub_b64(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url_encode(
        key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )


def test_rfc8291_vector_keys_are_consistent():
    # Guards against a typo in the transcribed vector itself.
    assert _pub_b64(_priv(AS_PRIVATE)) == AS_PUBLIC
    assert _pub_b64(_priv(UA_PRIVATE)) == UA_PUBLIC


def test_rfc8291_appendix_a_ciphertext():
    body = encrypt(
        PLAINTEXT, UA_PUBLIC, AUTH, sender_key=_priv(AS_PRIVATE), salt=b64url_decode(SALT)
    )
    assert b64url_encode(body) == EXPECTED


def test_rfc8291_appendix_a_decrypts():
    assert decrypt(b64url_decode(EXPECTED), _priv(UA_PRIVATE), AUTH) == PLAINTEXT


def test_header_layout():
    body = encrypt(b"{}", UA_PUBLIC, AUTH)
    assert int.from_bytes(body[16:20], "big") == 4096
    assert body[20] == 65
    assert body[21] == 0x04
    assert len(body) == 86 + 2 + 1 + 16


def test_round_trip_random_keys_and_fresh_salt():
    ua = ec.generate_private_key(ec.SECP256R1())
    auth = b64url_encode(b"0123456789abcdef")
    msg = b'{"@type":"StateChange","changed":{"a1":{"Email":"s1"}}}'
    one = encrypt(msg, _pub_b64(ua), auth)
    two = encrypt(msg, _pub_b64(ua), auth)
    assert one != two  # fresh salt and ephemeral key each time
    assert one[:16] != two[:16]
    assert decrypt(one, ua, auth) == msg
    assert decrypt(two, ua, auth) == msg


def test_padding_round_trip_and_length():
    ua = ec.generate_private_key(ec.SECP256R1())
    body = encrypt(b"abc", _pub_b64(ua), AUTH, padding=100)
    assert len(body) == 86 + 3 + 1 + 100 + 16
    assert decrypt(body, ua, AUTH) == b"abc"


def test_plaintext_ending_in_zero_bytes_survives():
    ua = ec.generate_private_key(ec.SECP256R1())
    body = encrypt(b"x\x00\x00", _pub_b64(ua), AUTH, padding=5)
    assert decrypt(body, ua, AUTH) == b"x\x00\x00"


def test_max_plaintext_fits_4096():
    ua = ec.generate_private_key(ec.SECP256R1())
    body = encrypt(b"a" * MAX_PLAINTEXT, _pub_b64(ua), AUTH)
    assert len(body) == 4096
    with pytest.raises(WebPushError, match="too large"):
        encrypt(b"a" * (MAX_PLAINTEXT + 1), _pub_b64(ua), AUTH)
    with pytest.raises(WebPushError, match="too large"):
        encrypt(b"a" * MAX_PLAINTEXT, _pub_b64(ua), AUTH, padding=1)


def test_wrong_auth_secret_fails_to_decrypt():
    ua = ec.generate_private_key(ec.SECP256R1())
    body = encrypt(b"hi", _pub_b64(ua), AUTH)
    with pytest.raises(WebPushError, match="tag"):
        decrypt(body, ua, b64url_encode(b"\x01" * 16))


def test_tampered_body_fails():
    ua = ec.generate_private_key(ec.SECP256R1())
    body = bytearray(encrypt(b"hi", _pub_b64(ua), AUTH))
    body[-1] ^= 1
    with pytest.raises(WebPushError):
        decrypt(bytes(body), ua, AUTH)


@pytest.mark.parametrize(
    "p256dh",
    [
        "",
        "not base64!",
        b64url_encode(b"\x04" + b"\x00" * 64),  # not on curve
        b64url_encode(b"\x02" + b"\x11" * 32),  # compressed point
        b64url_encode(b"\x04" + b"\x11" * 10),  # too short
    ],
)
def test_bad_p256dh_rejected(p256dh):
    with pytest.raises(WebPushError):
        encrypt(b"x", p256dh, AUTH)


@pytest.mark.parametrize("auth", ["", b64url_encode(b"short"), b64url_encode(b"x" * 17), "%%%"])
def test_bad_auth_rejected(auth):
    with pytest.raises(WebPushError):
        encrypt(b"x", UA_PUBLIC, auth)


def test_b64url_decode_is_lenient_about_padding_and_alphabet():
    raw = bytes(range(256))
    std = base64.b64encode(raw).decode()
    assert b64url_decode(std) == raw
    assert b64url_decode(b64url_encode(raw)) == raw
    assert b64url_decode(b64url_encode(raw) + "==") == raw


def test_webpush_error_is_value_error():
    assert issubclass(WebPushError, ValueError)
    assert webpush.HEADER_LEN == 86


def test_push_headers():
    h = push_headers(
        ttl=60, encrypted=True, urgency="low", topic="abc_-", authorization="vapid t=x, k=y"
    )
    assert h == {
        "Content-Type": "application/json",
        "TTL": "60",
        "Content-Encoding": "aes128gcm",
        "Urgency": "low",
        "Topic": "abc_-",
        "Authorization": "vapid t=x, k=y",
    }
    assert "Content-Encoding" not in push_headers(ttl=0, encrypted=False)
    with pytest.raises(ValueError):
        push_headers(ttl=-1, encrypted=False)
    with pytest.raises(ValueError):
        push_headers(ttl=1, encrypted=False, urgency="urgent")
    with pytest.raises(ValueError):
        push_headers(ttl=1, encrypted=False, topic="x" * 33)
