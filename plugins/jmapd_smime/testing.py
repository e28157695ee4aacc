"""Test helpers: a PKI and signed messages, all made with ``cryptography`` (and
asn1crypto for the one signature whose signing time must lie in the past)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from asn1crypto import algos as aalgos
from asn1crypto import cms as acms
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as apadding
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
DAY = datetime.timedelta(days=1)
BODY = b"Content-Type: text/plain; charset=utf-8\r\n\r\nThe quarterly figures are attached in spirit.\r\n"


@dataclass
class Identity:
    cert: x509.Certificate
    key: Any


def _name(cn: str, email: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


def make_ca(cn: str, issuer: Identity | None = None) -> Identity:
    key = ec.generate_private_key(ec.SECP256R1())
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer.cert.subject if issuer else _name(cn))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 3650 * DAY).not_valid_after(NOW + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                                        critical=False)
    return Identity(builder.sign(signer_key, hashes.SHA256()), key)


def make_leaf(ca: Identity, email: str, *, in_san: bool = True, not_before: datetime.datetime | None = None,
              not_after: datetime.datetime | None = None, eku: Any = ExtendedKeyUsageOID.EMAIL_PROTECTION,
              rsa_key: bool = False) -> Identity:
    key: Any = rsa.generate_private_key(65537, 2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder().subject_name(_name(email.split("@")[0], None if in_san else email))
        .issuer_name(ca.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - 30 * DAY).not_valid_after(not_after or NOW + 365 * DAY)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=rsa_key,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
    )
    if in_san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    return Identity(builder.sign(ca.key, hashes.SHA256()), key)


def headers(from_: str, subject: str) -> bytes:
    return (f"From: {from_}\r\nTo: bob@localhost\r\nSubject: {subject}\r\n"
            f"Date: Mon, 01 Dec 2025 10:00:00 +0000\r\nMessage-ID: <{uuid.uuid4().hex}@example.org>\r\n").encode()


def detached(signer: Identity, from_: str, subject: str = "signed", body: bytes = BODY,
             extra: tuple[x509.Certificate, ...] = ()) -> bytes:
    """multipart/signed as cryptography writes it (application/x-pkcs7-signature)."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(body).add_signer(signer.cert, signer.key, hashes.SHA256())
    for cert in extra:
        builder = builder.add_certificate(cert)
    smime = builder.sign(serialization.Encoding.SMIME, [pkcs7.PKCS7Options.DetachedSignature])
    return headers(from_, subject) + smime


def opaque(signer: Identity, from_: str, subject: str = "opaque", body: bytes = BODY,
           ctype: str = "application/pkcs7-mime") -> bytes:
    """application/pkcs7-mime; smime-type=signed-data, the content inside the CMS object."""
    der = pkcs7.PKCS7SignatureBuilder().set_data(body).add_signer(signer.cert, signer.key, hashes.SHA256()).sign(
        serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    return wrap_opaque(der, from_, subject, ctype)


def wrap_opaque(der: bytes, from_: str, subject: str, ctype: str = "application/pkcs7-mime") -> bytes:
    b64 = base64.encodebytes(der).replace(b"\n", b"\r\n")
    return (headers(from_, subject) + b"MIME-Version: 1.0\r\n"
            + f'Content-Type: {ctype}; smime-type=signed-data; name="smime.p7m"\r\n'.encode()
            + b"Content-Transfer-Encoding: base64\r\n\r\n" + b64)


def signed_data_at(signer: Identity, content: bytes, signing_time: datetime.datetime, detached_: bool = True) -> bytes:
    """A SignedData claiming ``signing_time`` (OpenSSL always writes the present one)."""
    acert = ax509.Certificate.load(signer.cert.public_bytes(serialization.Encoding.DER))
    attrs = acms.CMSAttributes([
        acms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        acms.CMSAttribute({"type": "signing_time", "values": [acms.Time({"utc_time": signing_time})]}),
        acms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(content).digest()]}),
    ])
    if isinstance(signer.key, rsa.RSAPrivateKey):
        signature = signer.key.sign(attrs.dump(), apadding.PKCS1v15(), hashes.SHA256())
        algorithm = "sha256_rsa"
    else:
        signature = signer.key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
        algorithm = "sha256_ecdsa"
    info = acms.SignerInfo({
        "version": "v1",
        "sid": acms.SignerIdentifier({"issuer_and_serial_number": acms.IssuerAndSerialNumber(
            {"issuer": acert.issuer, "serial_number": acert.serial_number})}),
        "digest_algorithm": aalgos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": attrs,
        "signature_algorithm": aalgos.SignedDigestAlgorithm({"algorithm": algorithm}),
        "signature": signature,
    })
    encap: dict[str, Any] = {"content_type": "data"}
    if not detached_:
        encap["content"] = content
    signed = acms.SignedData({
        "version": "v1", "digest_algorithms": [aalgos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": encap, "certificates": [acert], "signer_infos": [info],
    })
    return bytes(acms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def multipart_signed(der: bytes, from_: str, subject: str, body: bytes = BODY,
                     protocol: str = "application/pkcs7-signature") -> bytes:
    boundary = "b-" + uuid.uuid4().hex
    b64 = base64.encodebytes(der).replace(b"\n", b"\r\n")
    return (headers(from_, subject) + b"MIME-Version: 1.0\r\n"
            + f'Content-Type: multipart/signed; protocol="{protocol}"; micalg=sha-256; boundary="{boundary}"\r\n\r\n'.encode()
            + f"--{boundary}\r\n".encode() + body + f"\r\n--{boundary}\r\n".encode()
            + b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + b64 + f"\r\n--{boundary}--\r\n".encode())


@dataclass
class Pki:
    root: Identity
    intermediate: Identity
    alice: Identity          # alice@example.org, issued by the intermediate
    alice_subject: Identity  # address only in the subject's emailAddress
    expired: Identity        # carol@example.org, expired a year ago
    stranger_ca: Identity    # not a trust anchor
    mallory: Identity        # mallory@example.org under the stranger CA
    tls_only: Identity       # dave@example.org, EKU clientAuth only

    def bundle(self) -> bytes:
        return self.root.cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def pki() -> Pki:
    root = make_ca("jmapd test root")
    intermediate = make_ca("jmapd test intermediate", issuer=root)
    stranger = make_ca("unknown root")
    return Pki(
        root=root, intermediate=intermediate,
        alice=make_leaf(intermediate, "alice@example.org"),
        alice_subject=make_leaf(root, "alice@example.org", in_san=False, rsa_key=True),
        expired=make_leaf(root, "carol@example.org", not_before=NOW - 1095 * DAY, not_after=NOW - 365 * DAY),
        stranger_ca=stranger,
        mallory=make_leaf(stranger, "mallory@example.org"),
        tls_only=make_leaf(root, "dave@example.org", eku=ExtendedKeyUsageOID.CLIENT_AUTH),
    )
