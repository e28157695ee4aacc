"""CMS SignedData (RFC 5652 §5): the signer's certificate and whether the signature holds.

asn1crypto reads the structure; every digest and signature check is the
``cryptography`` library's. cryptography can build and decrypt PKCS #7 but
has no API to verify a SignedData, so this module does the bookkeeping
RFC 5652 §5.4 and §5.6 describe (which octets are signed) and nothing more.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import cms as acms
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

#: Digest algorithms accepted for signatures (RFC 8551 §2.1; MD5 is refused).
DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@dataclass
class SignerResult:
    """One SignerInfo checked: its certificate (if found) and what failed."""

    certificate: x509.Certificate | None = None
    signing_time: datetime.datetime | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class SignedDataResult:
    """A SignedData read: the signed content, the certificates it carries, each signer checked."""

    content: bytes | None = None
    certificates: list[x509.Certificate] = field(default_factory=list)
    signers: list[SignerResult] = field(default_factory=list)
    error: str | None = None


def _hash(name: str) -> hashes.HashAlgorithm:
    try:
        return DIGESTS[name]()
    except KeyError:
        raise ValueError(f"digest algorithm {name} is not accepted") from None


def _digest(data: bytes, name: str) -> bytes:
    h = hashes.Hash(_hash(name))
    h.update(data)
    return h.finalize()


def _find_certificate(sid: Any, pairs: list[tuple[Any, x509.Certificate]]) -> x509.Certificate | None:
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"]
        serial = sid.chosen["serial_number"].native
        for parsed, cert in pairs:
            if parsed.serial_number == serial and parsed.issuer == issuer:
                return cert
        return None
    key_id = sid.chosen.native
    for parsed, cert in pairs:
        if parsed.key_identifier == key_id:
            return cert
    return None


def _check_signature(cert: x509.Certificate, algorithm: Any, digest_name: str, signature: bytes, data: bytes) -> None:
    """Raise InvalidSignature or ValueError unless ``signature`` is ``cert``'s over ``data``."""
    key = cert.public_key()
    algo = algorithm.signature_algo
    if isinstance(key, rsa.RSAPublicKey) and algo == "rsassa_pkcs1v15":
        key.verify(signature, data, padding.PKCS1v15(), _hash(digest_name))
    elif isinstance(key, rsa.RSAPublicKey) and algo == "rsassa_pss":
        params = algorithm["parameters"]
        pss_hash = _hash(params["hash_algorithm"]["algorithm"].native)
        mgf_hash = _hash(params["mask_gen_algorithm"]["parameters"]["algorithm"].native)
        salt = int(params["salt_length"].native)
        key.verify(signature, data, padding.PSS(mgf=padding.MGF1(mgf_hash), salt_length=salt), pss_hash)
    elif isinstance(key, ec.EllipticCurvePublicKey) and algo == "ecdsa":
        key.verify(signature, data, ec.ECDSA(_hash(digest_name)))
    elif isinstance(key, ed25519.Ed25519PublicKey) and algo == "ed25519":
        key.verify(signature, data)
    elif isinstance(key, ed448.Ed448PublicKey) and algo == "ed448":
        key.verify(signature, data)
    else:
        raise ValueError(f"signature algorithm {algo} does not fit the signer's key")


def _check_signer(info: Any, content: bytes, content_type: str, pairs: list[tuple[Any, x509.Certificate]]) -> SignerResult:
    result = SignerResult()
    result.certificate = _find_certificate(info["sid"], pairs)
    if result.certificate is None:
        result.errors.append("the signer's certificate is not in the message")
        return result
    digest_name = info["digest_algorithm"]["algorithm"].native
    signed_attrs = info["signed_attrs"]
    if signed_attrs.native:  # RFC 5652 §5.4: the signature covers the attributes, which carry the digest
        found = {attr["type"].native: attr["values"] for attr in signed_attrs}
        if "message_digest" not in found or "content_type" not in found:
            result.errors.append("the signed attributes lack the message digest or content type")
            return result
        if found["content_type"][0].native != content_type:
            result.errors.append("the signed content type does not match the content")
        if "signing_time" in found:
            value = found["signing_time"][0].native
            if isinstance(value, datetime.datetime):
                result.signing_time = value.astimezone(datetime.UTC)
        if found["message_digest"][0].native != _digest(content, digest_name):
            result.errors.append("the message was modified after it was signed (its digest does not match)")
            return result
        # The attributes are signed as a SET OF (tag 0x31), not as the [0] they are sent in.
        encoded = signed_attrs.dump()
        data = b"\x31" + encoded[1:]
    else:
        data = content
    try:
        _check_signature(result.certificate, info["signature_algorithm"], digest_name, info["signature"].native, data)
    except InvalidSignature:
        result.errors.append("the signature does not match the message: it was modified after it was signed")
    except (ValueError, UnsupportedAlgorithm, KeyError, TypeError) as exc:
        result.errors.append(f"the signature cannot be checked: {exc}")
    return result


def read_signed_data(der: bytes, detached_content: bytes | None) -> SignedDataResult:
    """Check every SignerInfo of a CMS SignedData over its content.

    ``detached_content`` is the signed entity of a multipart/signed; for an
    opaque signature the content is inside the CMS object. Never raises on
    bad input: a malformed object is reported in ``error``.
    """
    result = SignedDataResult()
    try:
        info = acms.ContentInfo.load(der, strict=True)
        if info["content_type"].native != "signed_data":
            result.error = f"the CMS object is {info['content_type'].native}, not signed data"
            return result
        signed = info["content"]
        encap = signed["encap_content_info"]
        inner = encap["content"]
        if detached_content is not None:
            content = detached_content
        elif inner.native is None:
            result.error = "the signed data carries no content"
            return result
        else:
            content = inner.native
            if not isinstance(content, bytes):
                result.error = "the signed content is not an octet string"
                return result
        result.content = content
        pairs: list[tuple[Any, x509.Certificate]] = []
        for choice in signed["certificates"] or []:
            if choice.name != "certificate":
                continue
            encoded = choice.chosen.dump()
            try:
                cert = x509.load_der_x509_certificate(encoded)
            except ValueError:
                continue
            pairs.append((ax509.Certificate.load(encoded), cert))
        result.certificates = [cert for _, cert in pairs]
        content_type = encap["content_type"].native
        signer_infos = list(signed["signer_infos"])
        if not signer_infos:
            result.error = "the signed data has no signer"
            return result
        for signer in signer_infos:
            result.signers.append(_check_signer(signer, content, content_type, pairs))
    except Exception as exc:  # asn1crypto parses lazily: any field may fail on hostile input
        result.error = f"the signature cannot be read: {type(exc).__name__}: {exc}"
        result.signers = []
    return result
