"""JMAP Envelope objects: validation, derivation from headers, Bcc removal.

RFC 8621 §7 lets the client either supply an envelope or have the server
derive one from the Email's Sender/From and To/Cc/Bcc fields.  Both paths
end in the same :class:`EnvelopeResult` so the ``EmailSubmission/set``
implementation can turn any failure into the SetError the RFC prescribes
(``invalidProperties``, ``invalidEmail``, ``noRecipients``,
``tooManyRecipients``, ``invalidRecipients``, ``forbiddenMailFrom``)
without re-deriving which rule fired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.errors import InvalidHeaderDefect
from email.headerregistry import HeaderRegistry
from typing import Any

from .addresses import (
    ParameterRole,
    Problem,
    mailbox_key,
    needs_smtputf8,
    validate_mailbox,
    validate_parameters,
)
from .headers import Header, get_all, split_header_lines

__all__ = [
    "Address",
    "Envelope",
    "EnvelopeResult",
    "parse_envelope",
    "derive_envelope",
    "identity_allows",
    "header_addresses",
    "strip_bcc",
]


@dataclass(frozen=True)
class Address:
    """JMAP ``Address``: an envelope mailbox plus its ESMTP parameters."""

    email: str
    parameters: Mapping[str, str | None] | None = None

    def to_jmap(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "parameters": dict(self.parameters) if self.parameters is not None else None,
        }


@dataclass(frozen=True)
class Envelope:
    """JMAP ``Envelope``.  ``mail_from.email == ""`` is the null reverse-path."""

    mail_from: Address
    rcpt_to: tuple[Address, ...]

    def to_jmap(self) -> dict[str, Any]:
        return {
            "mailFrom": self.mail_from.to_jmap(),
            "rcptTo": [a.to_jmap() for a in self.rcpt_to],
        }

    @property
    def recipients(self) -> list[str]:
        return [a.email for a in self.rcpt_to]

    @property
    def needs_smtputf8(self) -> bool:
        return any(needs_smtputf8(a.email) for a in (self.mail_from, *self.rcpt_to))


@dataclass(frozen=True)
class EnvelopeResult:
    """Outcome of validating or deriving an envelope.

    ``set_error`` is a ready-made JMAP SetError object (without ``type``
    ambiguity) when the envelope cannot be used; ``envelope`` is then None.
    """

    envelope: Envelope | None
    problems: tuple[Problem, ...] = ()
    set_error: dict[str, Any] | None = None
    invalid_recipients: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.set_error is None


def _describe(problems: Sequence[Problem]) -> str:
    return "; ".join(f"{p.path}: {p.detail}" if p.path else p.detail for p in problems)


def _finish(
    mail_from: Address | None,
    rcpts: list[Address],
    invalid_rcpts: list[str],
    rcpt_problems: list[Problem],
    max_recipients: int | None,
) -> EnvelopeResult:
    """Apply the recipient-count rules shared by both envelope sources."""
    if invalid_rcpts:
        return EnvelopeResult(
            None,
            tuple(rcpt_problems),
            {
                "type": "invalidRecipients",
                "invalidRecipients": invalid_rcpts,
                "description": _describe(rcpt_problems),
            },
            tuple(invalid_rcpts),
        )
    if not rcpts:
        problem = Problem("rcptTo", "noRecipients", "envelope has no recipients")
        return EnvelopeResult(None, (problem,), {"type": "noRecipients"})
    if max_recipients is not None and len(rcpts) > max_recipients:
        problem = Problem("rcptTo", "tooManyRecipients", f"more than {max_recipients} recipients")
        return EnvelopeResult(
            None, (problem,), {"type": "tooManyRecipients", "maxRecipients": max_recipients}
        )
    assert mail_from is not None
    return EnvelopeResult(Envelope(mail_from, tuple(rcpts)))


def _dedupe(addresses: list[Address]) -> list[Address]:
    """Drop repeated mailboxes (first wins): duplicates would produce two
    RCPTs and collide as keys of ``deliveryStatus``."""
    seen: set[str] = set()
    out = []
    for a in addresses:
        key = mailbox_key(a.email)
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


def parse_envelope(
    value: object,
    *,
    max_recipients: int | None = None,
    allow_smtputf8: bool = False,
    allow_null_sender: bool = True,
) -> EnvelopeResult:
    """Validate a client-supplied JMAP ``envelope`` value.

    Structural errors, bad parameters and a bad ``mailFrom`` are reported as
    ``invalidProperties`` on ``envelope`` (there is no more specific error);
    syntactically invalid ``rcptTo`` mailboxes as ``invalidRecipients``.
    Authorisation of ``mailFrom`` (``forbiddenMailFrom``) is the caller's
    policy and is not checked here.
    """
    problems: list[Problem] = []

    def invalid() -> EnvelopeResult:
        return EnvelopeResult(
            None,
            tuple(problems),
            {
                "type": "invalidProperties",
                # every bad path inside it (RFC 8620 §5.3), not only "envelope"
                "properties": list(dict.fromkeys(f"envelope/{p.path}" if p.path else "envelope" for p in problems)),
                "description": _describe(problems),
            },
        )

    if not isinstance(value, Mapping):
        problems.append(Problem("", "notObject", "envelope must be an object"))
        return invalid()
    for key in value:
        if key not in ("mailFrom", "rcptTo"):
            problems.append(Problem(str(key), "unknownProperty", "unknown property"))

    def parse_address(obj: object, where: str, role: ParameterRole) -> Address | None:
        if not isinstance(obj, Mapping):
            problems.append(Problem(where, "notObject", "address must be an object"))
            return None
        for key in obj:
            if key not in ("email", "parameters"):
                problems.append(Problem(f"{where}/{key}", "unknownProperty", "unknown property"))
        email = obj.get("email")
        params = obj.get("parameters")
        problems.extend(
            validate_parameters(
                params, role=role, path=f"{where}/parameters", allow_smtputf8=allow_smtputf8
            )
        )
        if not isinstance(email, str):
            problems.append(Problem(f"{where}/email", "notString", "email must be a string"))
            return None
        return Address(email, dict(params) if isinstance(params, Mapping) else None)

    mail_from = parse_address(value.get("mailFrom"), "mailFrom", "mail")
    if mail_from is not None:
        problems.extend(
            validate_mailbox(
                mail_from.email,
                path="mailFrom/email",
                allow_empty=allow_null_sender,
                allow_smtputf8=allow_smtputf8,
            )
        )

    rcpt_value = value.get("rcptTo")
    rcpts: list[Address] = []
    invalid_rcpts: list[str] = []
    rcpt_problems: list[Problem] = []
    if not isinstance(rcpt_value, list):
        problems.append(Problem("rcptTo", "notArray", "rcptTo must be an array"))
    else:
        for i, item in enumerate(rcpt_value):
            address = parse_address(item, f"rcptTo/{i}", "rcpt")
            if address is None:
                continue
            bad = validate_mailbox(
                address.email, path=f"rcptTo/{i}/email", allow_smtputf8=allow_smtputf8
            )
            if bad:
                invalid_rcpts.append(address.email)
                rcpt_problems.extend(bad)
            else:
                rcpts.append(address)

    if problems:
        return invalid()
    return _finish(mail_from, _dedupe(rcpts), invalid_rcpts, rcpt_problems, max_recipients)


# --- derivation from headers (RFC 8621 §7) ----------------------------------

_registry = HeaderRegistry()


def header_addresses(name: str, value: str) -> list[str] | None:
    """addr-specs in an address-list header value, groups flattened.

    Returns None when the value is not a valid address list.  The stdlib
    parser recovers from garbage by guessing (``a@b> SIZE=1`` becomes
    ``a@b``); sending to a guess is worse than refusing, so any
    ``InvalidHeaderDefect`` rejects the field.  Obsolete-but-valid syntax
    (RFC 5322 §4) is accepted.
    """
    try:
        header = _registry(name, value)
        addresses = [a.addr_spec for a in header.addresses]  # type: ignore[attr-defined]
    except Exception:  # the stdlib parser raises assorted errors on garbage
        return None
    if any(isinstance(d, InvalidHeaderDefect) for d in header.defects):
        return None
    return addresses


def identity_allows(identity_email: str, address: str) -> bool:
    """Whether an Identity's ``email`` covers ``address``.

    ``*@domain`` identities cover the whole domain (RFC 8621 §6).  The
    comparison is case-insensitive throughout: users expect ``John@`` and
    ``john@`` to be the same identity even though SMTP local parts are
    technically case-sensitive.
    """
    local, _, domain = identity_email.rpartition("@")
    addr_local, at, addr_domain = address.rpartition("@")
    if not at:
        return False
    if local == "*":
        return addr_domain.lower() == domain.lower()
    return address.lower() == identity_email.lower()


def derive_envelope(
    headers: Sequence[Header],
    *,
    identity_email: str | None = None,
    max_recipients: int | None = None,
    allow_smtputf8: bool = False,
) -> EnvelopeResult:
    """Build the envelope for a submission that did not specify one.

    mailFrom: the single address of the last Sender field, else of the last
    From field; several fields or several addresses are rejected
    (``invalidEmail``) as the RFC recommends.  If ``identity_email`` is
    given and does not cover that address, the identity's address is used
    instead (or ``forbiddenMailFrom`` if the identity is a ``*@domain``
    wildcard and so has no concrete address).

    rcptTo: de-duplicated addresses of all To, Cc and Bcc fields, no
    parameters.
    """
    sender_values = get_all(headers, "Sender")
    field_name, values = (
        ("sender", sender_values)
        if sender_values
        else (
            "from",
            get_all(headers, "From"),
        )
    )

    def invalid_email(detail: str) -> EnvelopeResult:
        problem = Problem(field_name, "invalidEmail", detail)
        return EnvelopeResult(
            None,
            (problem,),
            {"type": "invalidEmail", "properties": [field_name], "description": detail},
        )

    mail_from_email: str | None = None
    if len(values) > 1:
        return invalid_email(f"more than one {field_name.title()} header field")
    if values:
        found = header_addresses(field_name, values[-1])
        if not found:
            return invalid_email(f"no address in the {field_name.title()} header field")
        if len(found) > 1:
            return invalid_email(f"more than one address in the {field_name.title()} field")
        mail_from_email = found[0]

    wildcard = identity_email is not None and identity_email.startswith("*@")
    if identity_email is not None and (
        mail_from_email is None or not identity_allows(identity_email, mail_from_email)
    ):
        if wildcard:
            detail = "the sender address is not allowed by the identity"
            return EnvelopeResult(
                None,
                (Problem(field_name, "forbiddenMailFrom", detail),),
                {"type": "forbiddenMailFrom", "description": detail},
            )
        mail_from_email = identity_email
    if mail_from_email is None:
        return invalid_email("no Sender or From header field")
    bad = validate_mailbox(mail_from_email, path=field_name, allow_smtputf8=allow_smtputf8)
    if bad:
        return invalid_email(_describe(bad))

    rcpts: list[Address] = []
    invalid_rcpts: list[str] = []
    rcpt_problems: list[Problem] = []
    for name in ("To", "Cc", "Bcc"):
        for value in get_all(headers, name):
            found = header_addresses(name, value)
            if found is None:
                return EnvelopeResult(
                    None,
                    (Problem(name.lower(), "invalidEmail", "unparseable address list"),),
                    {"type": "invalidEmail", "properties": [name.lower()]},
                )
            for addr in found:
                problems = validate_mailbox(addr, path=name.lower(), allow_smtputf8=allow_smtputf8)
                if problems:
                    invalid_rcpts.append(addr)
                    rcpt_problems.extend(problems)
                else:
                    rcpts.append(Address(addr))
    return _finish(
        Address(mail_from_email), _dedupe(rcpts), invalid_rcpts, rcpt_problems, max_recipients
    )


# --- Bcc removal --------------------------------------------------------------


def strip_bcc(raw: bytes, names: Sequence[str] = ("bcc",)) -> bytes:
    """Remove every Bcc header field (with its folded continuation lines).

    RFC 8621 §7 requires Bcc to be removed on delivery.  Everything else --
    other fields, folding, line endings, the body -- is passed through
    byte-for-byte so that, for example, DKIM signatures over other fields
    stay valid.  ``names`` allows also stripping e.g. ``resent-bcc``.
    """
    wanted = {n.lower().encode("ascii") for n in names}
    fields, body_offset = split_header_lines(raw)
    kept: list[bytes] = []
    removed = False
    for lines in fields:
        name, colon, _ = lines[0].partition(b":")
        if colon and name.rstrip(b" \t").lower() in wanted:
            removed = True
            continue
        kept.extend(lines)
    if not removed:
        return raw
    return b"".join(kept) + raw[body_offset:]
