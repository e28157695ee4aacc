"""Trust anchors and certificate checks: chain, validity at a time, usage, signer address.

Chains are built and checked by ``cryptography.x509.verification``
(RFC 5280 path validation). Its client-certificate policy wants the TLS
clientAuth key purpose, so the end-entity policy here is replaced by the
S/MIME one of RFC 8550 §4.4: an Extended Key Usage, when present, must
allow emailProtection (or any purpose), and a Key Usage, when present,
digitalSignature or nonRepudiation.
"""

from __future__ import annotations

import datetime
import hashlib
import ssl
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

#: Where a system keeps its CA bundle when ``ssl`` names none.
SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")


def load_pem_bundle(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle that parses; one odd anchor does not void the rest."""
    out = []
    for block in data.split(b"-----END CERTIFICATE-----"):
        start = block.find(b"-----BEGIN CERTIFICATE-----")
        if start < 0:
            continue
        try:
            with warnings.catch_warnings():  # an old anchor's negative serial: still an anchor, for now
                warnings.simplefilter("ignore")
                out.append(x509.load_pem_x509_certificate(block[start:] + b"-----END CERTIFICATE-----\n"))
        except ValueError:
            continue
    return out


def system_bundle() -> Path | None:
    """The operating system's CA bundle, or None."""
    cafile = ssl.get_default_verify_paths().cafile
    for candidate in ([cafile] if cafile else []) + list(SYSTEM_BUNDLES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _check_eku(policy: Any, cert: x509.Certificate, value: x509.ExtendedKeyUsage | None) -> None:
    if value is None:
        return
    if ExtendedKeyUsageOID.EMAIL_PROTECTION not in value and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in value:
        raise ValueError("the certificate is not for email protection (Extended Key Usage)")


def _check_key_usage(policy: Any, cert: x509.Certificate, value: x509.KeyUsage | None) -> None:
    if value is None:
        return
    if not (value.digital_signature or value.content_commitment):
        raise ValueError("the certificate's key may not sign (Key Usage)")


def _parsed(policy: Any, cert: x509.Certificate, value: Any) -> None:
    """Nothing to check: a validator makes the library parse the extension."""


def _ee_policy() -> ExtensionPolicy:
    return (
        ExtensionPolicy.permit_all()
        .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _check_eku)
        .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, _check_key_usage)
        # Parsed, so a malformed one fails the chain instead of passing unread.
        .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, _parsed)
        .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, _parsed)
    )


class TrustStore:
    """The trust anchors signatures are checked against."""

    def __init__(self, anchors: Iterable[x509.Certificate]) -> None:
        self.anchors = list(anchors)
        digest = hashlib.sha256()
        for cert in sorted(self.anchors, key=lambda c: c.fingerprint(hashes.SHA256())):
            digest.update(cert.fingerprint(hashes.SHA256()))
        #: Changes whenever an anchor is added or removed: cached verdicts are keyed by it.
        self.fingerprint = digest.hexdigest()[:16]
        self._store = Store(self.anchors) if self.anchors else None

    @classmethod
    def from_files(cls, system: bool, extra: Iterable[str | Path]) -> TrustStore:
        """The system's anchors (if ``system``) and those of each extra PEM bundle."""
        anchors: list[x509.Certificate] = []
        if system:
            bundle = system_bundle()
            if bundle is not None:
                anchors.extend(load_pem_bundle(bundle.read_bytes()))
        for path in extra:
            anchors.extend(load_pem_bundle(Path(path).read_bytes()))
        return cls(anchors)

    def check_chain(self, leaf: x509.Certificate, intermediates: list[x509.Certificate],
                    at: datetime.datetime) -> list[str]:
        """Why ``leaf`` does not chain to an anchor, valid and fit for S/MIME at ``at`` (empty: it does)."""
        if self._store is None:
            return ["no trust anchors are configured"]
        errors = []
        if leaf.not_valid_after_utc < at:
            errors.append(f"the signer's certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC")
        elif leaf.not_valid_before_utc > at:
            errors.append(f"the signer's certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC")
        builder = (PolicyBuilder().store(self._store).time(at)
                   .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_ee_policy()))
        try:
            builder.build_client_verifier().verify(leaf, intermediates)
        except VerificationError as exc:
            if not errors:  # an expired leaf is reported once, in plain words
                errors.append(f"the signer's certificate is not trusted: {_plain(str(exc))}")
        return errors


def _plain(message: str) -> str:
    """cryptography's message without the certificate dump it appends."""
    message = message.removeprefix("validation failed: ")
    cut = message.find(" (encountered processing")
    return message[:cut] if cut >= 0 else message


def signer_addresses(cert: x509.Certificate) -> list[str]:
    """The email addresses a certificate binds (RFC 8550 §3): the subjectAltName's
    rfc822Names, else the subject's emailAddress attributes."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n) for n in san.get_values_for_type(x509.RFC822Name)]
    except x509.ExtensionNotFound:
        names = []
    except ValueError:  # a malformed extension binds nothing
        names = []
    if names:
        return names
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)]


def same_address(a: str, b: str) -> bool:
    """Addresses compared case-insensitively (RFC 8550 §3 leaves the local part's case to the domain;
    no mail system hands two users addresses differing only in case)."""
    return a.strip().casefold() == b.strip().casefold()
