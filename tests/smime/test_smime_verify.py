"""The verification library on messages signed here: every status of RFC 9219
§4.1 the server produces, and why a signature fails."""

from __future__ import annotations

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID
from jmapd_smime.domain.trust import TrustStore, load_pem_bundle, signer_addresses
from jmapd_smime.domain.verify import FAILED, UNKNOWN, VERIFIED, verify
from jmapd_smime.testing import (
    BODY,
    DAY,
    NOW,
    Identity,
    detached,
    headers,
    make_leaf,
    multipart_signed,
    opaque,
    signed_data_at,
    wrap_opaque,
)


@pytest.fixture(scope="module")
def trust(pki):
    return TrustStore([pki.root.cert])


def chain(pki):
    return (pki.intermediate.cert,)


def test_valid_detached_through_an_intermediate(pki, trust):
    raw = detached(pki.alice, "Alice <alice@example.org>", extra=chain(pki))
    verdict = verify(raw, trust, NOW)
    assert (verdict.status, verdict.errors) == (VERIFIED, ())
    assert verdict.signing_time is not None and abs(verdict.signing_time - NOW) < DAY


def test_valid_opaque(pki, trust):
    for ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        raw = opaque(pki.alice_subject, "alice@example.org", ctype=ctype)
        assert verify(raw, trust, NOW).status == VERIFIED


def test_valid_detached_application_pkcs7_signature(pki, trust):
    der = signed_data_at(pki.alice_subject, BODY, NOW - DAY)
    assert verify(multipart_signed(der, "ALICE@Example.org", "s"), trust, NOW).status == VERIFIED


def test_address_in_subject_only_is_used(pki):
    assert signer_addresses(pki.alice_subject.cert) == ["alice@example.org"]
    assert signer_addresses(pki.alice.cert) == ["alice@example.org"]


def test_expired_signer(pki, trust):
    verdict = verify(detached(pki.expired, "carol@example.org"), trust, NOW)
    assert verdict.status == FAILED
    assert any("expired" in e for e in verdict.errors), verdict.errors


def test_valid_when_delivered_expired_now(pki, trust):
    """At delivery the certificates count at receivedAt (RFC 9219 §4.1); now, they count now."""
    signed_at = NOW - 700 * DAY
    raw = multipart_signed(signed_data_at(pki.expired, BODY, signed_at), "carol@example.org", "old")
    assert verify(raw, trust, NOW, delivered_at=signed_at + DAY).status == VERIFIED
    assert verify(raw, trust, NOW).status == FAILED


def test_at_delivery_ignores_the_claimed_signing_time(pki, trust):
    """The signer's signingTime is not the validation time (RFC 8550): a message
    delivered after its certificate expired fails at delivery even though it
    claims to have been signed while the certificate was valid, and a signing
    time after the delivery changes nothing."""
    signed_at = NOW - 700 * DAY
    raw = multipart_signed(signed_data_at(pki.expired, BODY, signed_at), "carol@example.org", "backdated")
    late = verify(raw, trust, NOW, delivered_at=NOW - 300 * DAY)
    assert late.status == FAILED and any("expired" in e for e in late.errors), late.errors
    assert verify(raw, trust, NOW, delivered_at=signed_at - DAY).status == VERIFIED


def test_wrong_signer(pki, trust):
    verdict = verify(detached(pki.alice, "Bob <bob@example.org>", extra=chain(pki)), trust, NOW)
    assert verdict.status == FAILED
    assert verdict.errors == ("the From address bob@example.org is not the signer's (alice@example.org)",)
    # Every From address must be the signer's, not just one of them.
    two = detached(pki.alice, "alice@example.org, boss@example.org", extra=chain(pki))
    assert verify(two, trust, NOW).status == FAILED


def test_tampered_body(pki, trust):
    raw = detached(pki.alice, "alice@example.org", extra=chain(pki))
    tampered = raw.replace(b"quarterly figures", b"quarterly fiction")
    verdict = verify(tampered, trust, NOW)
    assert verdict.status == FAILED
    assert verdict.errors == ("the message was modified after it was signed (its digest does not match)",)
    # The header fields are not signed (RFC 8551 §3.1): changing the Subject changes nothing.
    assert verify(raw.replace(b"Subject: signed", b"Subject: edited"), trust, NOW).status == VERIFIED


def test_tampered_opaque_signature(pki, trust):
    raw = opaque(pki.alice_subject, "alice@example.org")
    head, body = raw.split(b"\r\n\r\n", 1)
    der = bytearray(base64.b64decode(body))
    der[-10] ^= 0x01  # inside the signature value
    verdict = verify(wrap_opaque(bytes(der), "alice@example.org", "x"), trust, NOW)
    assert verdict.status == FAILED and verdict.errors, verdict


def test_line_endings_do_not_matter(pki, trust):
    """A message stored with bare LF still verifies: signatures cover the CRLF form."""
    raw = detached(pki.alice, "alice@example.org", extra=chain(pki))
    assert verify(raw.replace(b"\r\n", b"\n"), trust, NOW).status == VERIFIED


def test_unknown_ca(pki, trust):
    verdict = verify(detached(pki.mallory, "mallory@example.org"), trust, NOW)
    assert verdict.status == FAILED
    assert any("not trusted" in e for e in verdict.errors), verdict.errors
    assert verify(detached(pki.mallory, "mallory@example.org"), TrustStore([pki.stranger_ca.cert]), NOW).status == VERIFIED


def test_missing_intermediate(pki, trust):
    assert verify(detached(pki.alice, "alice@example.org"), trust, NOW).status == FAILED


def test_certificate_not_for_email(pki, trust):
    verdict = verify(detached(pki.tls_only, "dave@example.org"), trust, NOW)
    assert verdict.status == FAILED and any("not trusted" in e for e in verdict.errors)


def test_no_trust_anchors(pki):
    verdict = verify(detached(pki.alice, "alice@example.org", extra=chain(pki)), TrustStore([]), NOW)
    assert verdict.errors == ("no trust anchors are configured",)


def test_not_signed_at_all(pki, trust):
    plain = headers("alice@example.org", "plain") + b"\r\nHello.\r\n"
    assert verify(plain, trust, NOW).status is None
    mixed = (headers("alice@example.org", "mixed") + b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n'
             b"--x\r\nContent-Type: text/plain\r\n\r\nmultipart/signed is mentioned here\r\n--x--\r\n")
    assert verify(mixed, trust, NOW).status is None


def test_other_signing_protocol_is_unknown(pki, trust):
    pgp = multipart_signed(b"not cms", "alice@example.org", "pgp", protocol="application/pgp-signature")
    assert verify(pgp, trust, NOW).status == UNKNOWN
    enveloped = (headers("alice@example.org", "secret") + b"MIME-Version: 1.0\r\n"
                 b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
                 b"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQA=\r\n")
    assert verify(enveloped, trust, NOW).status == UNKNOWN


@pytest.mark.parametrize("der", [
    b"", b"\x30\x03\x02\x01\x01", b"garbage" * 40, b"\x30\x80" + b"\x00" * 3,
    bytes.fromhex("3011060b2a864886f70d0109100117a0020400"),
])
def test_malformed_cms_is_signed_failed(pki, trust, der):
    for raw in (multipart_signed(der, "alice@example.org", "bad"), wrap_opaque(der, "alice@example.org", "bad")):
        verdict = verify(raw, trust, NOW)
        assert verdict.status == FAILED and verdict.errors, verdict


def test_malformed_structure_is_signed_failed(pki, trust):
    no_parts = headers("a@example.org", "x") + b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="q"\r\n\r\nnothing\r\n'
    bad_b64 = (headers("a@example.org", "x") + b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n!!!!\r\n")
    no_boundary = headers("a@example.org", "x") + b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"\r\n\r\n'
    for raw in (no_parts, bad_b64, no_boundary):
        verdict = verify(raw, trust, NOW)
        assert verdict.status == FAILED and verdict.errors, (raw, verdict)


def test_signature_of_another_content(pki, trust):
    der = signed_data_at(pki.alice_subject, b"Content-Type: text/plain\r\n\r\nsomething else\r\n", NOW)
    verdict = verify(multipart_signed(der, "alice@example.org", "swap"), trust, NOW)
    assert verdict.status == FAILED and "modified" in verdict.errors[0]


def test_certificate_not_yet_valid(pki, trust):
    future = make_leaf(pki.root, "erin@example.org", not_before=NOW + 10 * DAY, not_after=NOW + 20 * DAY)
    verdict = verify(detached(future, "erin@example.org"), trust, NOW)
    assert verdict.status == FAILED and "not valid before" in verdict.errors[0]


def test_pem_bundle_skips_what_does_not_parse(pki):
    pem = pki.bundle() + b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" + pki.bundle()
    assert len(load_pem_bundle(pem)) == 2


@pytest.mark.parametrize("oid, value", [
    (ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x30\x03\x02\x01"),
    (ExtensionOID.KEY_USAGE, b"\xff\xff"),
    (ExtensionOID.EXTENDED_KEY_USAGE, b"\x04\x00"),
    (ExtensionOID.BASIC_CONSTRAINTS, b"\x01"),
])
def test_malformed_certificate_extension_fails_the_chain(pki, trust, oid, value):
    """A signer certificate with a garbled extension, issued by a trusted CA: failed, with why."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, "h@example.org")]))
            .issuer_name(pki.root.cert.subject).public_key(key.public_key()).serial_number(5)
            .not_valid_before(NOW - DAY).not_valid_after(NOW + DAY)
            .add_extension(x509.UnrecognizedExtension(oid, value), critical=False).sign(pki.root.key, hashes.SHA256()))
    verdict = verify(detached(Identity(cert, key), "h@example.org"), trust, NOW)
    assert verdict.status == FAILED
    assert any("not trusted" in e for e in verdict.errors), verdict.errors
