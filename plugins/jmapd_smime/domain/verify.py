"""One message's S/MIME verdict (RFC 9219 §4.1 statuses), at a given time.

The same code answers both questions RFC 9219 asks: the status at
delivery (certificates checked at the signing time the signature claims,
bounded by the delivery time) and the current status (checked now).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from .cms import read_signed_data
from .mime import SignedEntity, locate, looks_signed
from .trust import TrustStore, same_address, signer_addresses

UNKNOWN = "unknown"
SIGNED = "signed"
VERIFIED = "signed/verified"
FAILED = "signed/failed"
#: The statuses ``hasVerifiedSmime`` and ``hasVerifiedSmimeAtDelivery`` match (RFC 9219 §4.2).
VERIFIED_STATUSES = frozenset({VERIFIED, "encrypted+signed/verified"})


@dataclass(frozen=True)
class Verdict:
    """``status`` is null for a message without any signature; ``errors`` say
    why a ``signed/failed`` failed."""

    status: str | None
    errors: tuple[str, ...] = field(default=())
    signing_time: datetime.datetime | None = None


NOT_SIGNED = Verdict(None)


def verify(raw: bytes, trust: TrustStore, now: datetime.datetime, delivered_at: datetime.datetime | None = None) -> Verdict:
    """The verdict on ``raw`` at ``now``; with ``delivered_at``, as at its delivery.

    RFC 9219 §4.1 makes the status at delivery "effectively the same as the
    smimeStatus value calculated at the date/time of delivery, as specified
    by receivedAt", so the certificates are checked at ``delivered_at``; the
    signer's own signingTime is never the validation time (RFC 8550 on path
    validation: it MUST NOT be, unless it comes from a trusted agent). The current status
    checks them at ``now``.
    Never raises on a malformed message: it is ``signed/failed`` with why.
    """
    if not looks_signed(raw):
        return NOT_SIGNED
    try:
        entity = locate(raw)
    except Exception as exc:  # a header block the email package cannot read
        return Verdict(FAILED, (f"the message structure cannot be read: {exc}",))
    try:
        return _verify(entity, trust, now, delivered_at)
    except Exception as exc:  # hostile certificates reach corners of the libraries: fail, never raise
        return Verdict(FAILED, (f"the signature cannot be verified: {type(exc).__name__}: {exc}",))


def _verify(entity: SignedEntity, trust: TrustStore, now: datetime.datetime,
            delivered_at: datetime.datetime | None) -> Verdict:
    if entity.kind is None:
        return NOT_SIGNED
    if entity.kind == "other":
        return Verdict(UNKNOWN, (entity.problem,) if entity.problem else ())
    if entity.problem is not None or entity.cms is None:
        return Verdict(FAILED, (f"the signature cannot be read: {entity.problem}",))
    data = read_signed_data(entity.cms, entity.content if entity.kind == "detached" else None)
    if data.error is not None:
        return Verdict(FAILED, (data.error,))
    failures: list[str] = []
    for signer in data.signers:
        errors = list(signer.errors)
        if signer.certificate is None:
            failures.extend(errors)
            continue
        at = now if delivered_at is None else delivered_at
        others = [c for c in data.certificates if c != signer.certificate]
        errors.extend(trust.check_chain(signer.certificate, others, at))
        bound = signer_addresses(signer.certificate)
        if not bound:
            errors.append("the signer's certificate names no email address")
        elif not entity.from_addresses:
            errors.append("the message has no From address to match the signer")
        else:
            stray = [a for a in entity.from_addresses if not any(same_address(a, b) for b in bound)]
            if stray:
                errors.append(f"the From address {stray[0]} is not the signer's ({', '.join(bound)})")
        if not errors:
            return Verdict(VERIFIED, (), signer.signing_time)
        failures.extend(errors)
    return Verdict(FAILED, tuple(dict.fromkeys(failures)))
