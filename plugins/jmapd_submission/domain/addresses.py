"""SMTP envelope address and ESMTP parameter validation.

Envelope values from a JMAP client end up verbatim on an SMTP command line
(``MAIL FROM:<x> PARAMS`` / ``RCPT TO:<x> PARAMS``).  Anything that lets a
client close the angle bracket, start a new parameter or a new command
(``a@b> NOTIFY=NEVER``, ``a@b SIZE=1``, CR/LF) would let it rewrite the
envelope behind the server's back, so validation here is deliberately
stricter than RFC 5321 where the RFC is merely permissive: whitespace and
angle brackets are rejected even inside quoted local parts, because many
downstream MTAs parse those incorrectly.

Functions return lists of :class:`Problem` instead of raising so callers can
report every issue in one JMAP SetError.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Problem",
    "validate_mailbox",
    "validate_parameters",
    "encode_parameters",
    "needs_smtputf8",
    "mailbox_key",
    "xtext_encode",
]

ParameterRole = Literal["mail", "rcpt"]

MAX_LOCAL_PART = 64  # RFC 5321 §4.5.3.1.1
MAX_DOMAIN = 255  # RFC 5321 §4.5.3.1.2
MAX_MAILBOX = 254  # path (256) minus the angle brackets, §4.5.3.1.3


@dataclass(frozen=True)
class Problem:
    """One validation failure.

    ``path`` locates the offending value inside the JMAP object (for
    example ``rcptTo/2/parameters/NOTIFY``) so the server can name it in a
    SetError description; ``code`` is a stable machine-readable identifier.
    """

    path: str
    code: str
    detail: str


_ATEXT = r"A-Za-z0-9!#$%&'*+\-/=?^_`{|}~"
_DOT_STRING_ASCII = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*\Z")
# RFC 6531 extends atext with UTF8-non-ascii.
_DOT_STRING_UTF8 = re.compile(rf"[{_ATEXT}\u0080-\U0010ffff]+(?:\.[{_ATEXT}\u0080-\U0010ffff]+)*\Z")
_LABEL_ASCII = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z")
_IPV4_LITERAL = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s")


def needs_smtputf8(address: str) -> bool:
    """True if the address can only be transmitted with the SMTPUTF8 extension."""
    return not address.isascii()


def mailbox_key(address: str) -> str:
    """Key for de-duplicating mailboxes.

    The domain is case-insensitive (RFC 5321 §2.4) but the local part is
    not, so only the domain is folded.
    """
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    return f"{local}@{domain.lower()}"


def _split_mailbox(address: str) -> tuple[str, str] | None:
    """Split at the '@' that separates local part and domain.

    A quoted local part may itself contain '@', so it is scanned
    quote-aware instead of using rpartition blindly.
    """
    if address.startswith('"'):
        i = 1
        while i < len(address):
            ch = address[i]
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                break
            i += 1
        else:
            return None
        local, rest = address[: i + 1], address[i + 1 :]
        if not rest.startswith("@"):
            return None
        return local, rest[1:]
    local, at, domain = address.rpartition("@")
    if not at:
        return None
    return local, domain


def _check_quoted_local(local: str) -> bool:
    body = local[1:-1]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            if i + 1 >= len(body) or not (32 <= ord(body[i + 1]) <= 126):
                return False
            i += 2
            continue
        if ch == '"':
            return False
        if ord(ch) < 32 or ord(ch) == 127:
            return False
        i += 1
    return True


def _check_domain(domain: str, allow_smtputf8: bool) -> tuple[str, str] | None:
    """Return (code, detail) for an invalid domain, None if valid."""
    if domain.startswith("["):
        if not domain.endswith("]"):
            return "invalidAddressLiteral", "unterminated address literal"
        inner = domain[1:-1]
        if inner[:5].lower() == "ipv6:":
            try:
                ipaddress.IPv6Address(inner[5:])
            except ValueError:
                return "invalidAddressLiteral", "invalid IPv6 address literal"
            return None
        if _IPV4_LITERAL.match(inner):
            try:
                ipaddress.IPv4Address(inner)
            except ValueError:
                return "invalidAddressLiteral", "invalid IPv4 address literal"
            return None
        return "invalidAddressLiteral", "unsupported address literal"
    if not domain:
        return "invalidDomain", "empty domain"
    if len(domain.encode("utf-8")) > MAX_DOMAIN:
        return "tooLong", f"domain longer than {MAX_DOMAIN} octets"
    for label in domain.split("."):
        if not label:
            return "invalidDomain", "empty domain label"
        if len(label.encode("utf-8")) > 63:
            return "invalidDomain", "domain label longer than 63 octets"
        if label.isascii():
            if not _LABEL_ASCII.match(label):
                return "invalidDomain", f"invalid domain label {label!r}"
        elif not allow_smtputf8:
            return "nonAscii", "internationalised domain requires SMTPUTF8"
        elif (
            label.startswith("-")
            or label.endswith("-")
            or not all(c.isalnum() or c == "-" for c in label)
        ):
            return "invalidDomain", f"invalid domain label {label!r}"
    return None


def validate_mailbox(
    address: object,
    *,
    path: str = "",
    allow_empty: bool = False,
    allow_smtputf8: bool = False,
) -> list[Problem]:
    """Validate an RFC 5321 ``Mailbox`` as used in MAIL FROM / RCPT TO.

    ``allow_empty`` permits the null reverse-path (``MAIL FROM:<>``), which
    is only meaningful for the sender.  Non-ASCII addresses are refused
    unless ``allow_smtputf8`` because the relay must otherwise be able to
    downgrade them, which is impossible for addresses.
    """
    if not isinstance(address, str):
        return [Problem(path, "notString", "address must be a string")]
    if address == "":
        if allow_empty:
            return []
        return [Problem(path, "empty", "address must not be empty")]

    injection: list[Problem] = []
    if _CONTROL.search(address):
        injection.append(
            Problem(path, "controlCharacter", "address contains control characters (CR/LF/NUL)")
        )
    if _WHITESPACE.search(address):
        injection.append(Problem(path, "whitespace", "address contains whitespace"))
    if "<" in address or ">" in address:
        injection.append(Problem(path, "angleBracket", "address contains '<' or '>'"))
    if injection:
        return injection

    if not allow_smtputf8 and needs_smtputf8(address):
        return [Problem(path, "nonAscii", "non-ASCII address requires SMTPUTF8")]
    if len(address.encode("utf-8")) > MAX_MAILBOX:
        return [Problem(path, "tooLong", f"address longer than {MAX_MAILBOX} octets")]

    parts = _split_mailbox(address)
    if parts is None:
        return [Problem(path, "missingAt", "address must be local-part@domain")]
    local, domain = parts

    if not local:
        return [Problem(path, "invalidLocalPart", "empty local part")]
    if len(local.encode("utf-8")) > MAX_LOCAL_PART:
        return [Problem(path, "tooLong", f"local part longer than {MAX_LOCAL_PART} octets")]
    if local.startswith('"'):
        if len(local) < 2 or not _check_quoted_local(local):
            return [Problem(path, "invalidLocalPart", "malformed quoted local part")]
    else:
        pattern = _DOT_STRING_UTF8 if allow_smtputf8 else _DOT_STRING_ASCII
        if not pattern.match(local):
            return [Problem(path, "invalidLocalPart", f"invalid local part {local!r}")]

    bad_domain = _check_domain(domain, allow_smtputf8)
    if bad_domain:
        return [Problem(path, *bad_domain)]
    return []


# --- ESMTP parameters ------------------------------------------------------

_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
# esmtp-value = 1*(%d33-60 / %d62-126): printable ASCII except '=' and SP.
_VALUE_ASCII = re.compile(r"[\x21-\x3c\x3e-\x7e]+\Z")
_VALUE_UTF8 = re.compile(r"[\x21-\x3c\x3e-\x7e\u0080-\U0010ffff]+\Z")

# Keywords whose decoded value is re-encoded as xtext (RFC 3461 §4, RFC 4954 §5).
_XTEXT_KEYWORDS = frozenset({"ENVID", "ORCPT", "AUTH"})
_MAIL_ONLY = frozenset(
    {
        "SIZE",
        "BODY",
        "RET",
        "ENVID",
        "SMTPUTF8",
        "AUTH",
        "HOLDFOR",
        "HOLDUNTIL",
        "MT-PRIORITY",
        "BY",
        "REQUIRETLS",
    }
)
_RCPT_ONLY = frozenset({"NOTIFY", "ORCPT", "RRVS"})
_NO_VALUE = frozenset({"SMTPUTF8", "REQUIRETLS"})
_NEEDS_VALUE = frozenset(
    {
        "SIZE",
        "BODY",
        "RET",
        "ENVID",
        "AUTH",
        "HOLDFOR",
        "HOLDUNTIL",
        "MT-PRIORITY",
        "BY",
        "NOTIFY",
        "ORCPT",
        "RRVS",
    }
)
_HOLDUNTIL = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})\Z", re.IGNORECASE
)


def xtext_encode(value: str) -> str:
    """Encode as RFC 3461 xtext.

    JMAP transports parameter values *decoded* (RFC 8621 §7), so values of
    xtext parameters must be re-encoded before they go on the wire; doing it
    here means '+', '=' and spaces in them can never break the command line.
    """
    out = []
    for ch in value:
        o = ord(ch)
        if 33 <= o <= 126 and ch not in "+=":
            out.append(ch)
        else:
            out.append(f"+{o:02X}")
    return "".join(out)


def _check_known(key: str, value: str | None) -> str | None:
    """Keyword-specific syntax; returns a problem detail or None."""
    if key in _NO_VALUE and value is not None:
        return f"{key} takes no value"
    if key in _NEEDS_VALUE and value is None:
        return f"{key} requires a value"
    if value is None:
        return None
    upper = value.upper()
    if key == "SIZE" and not (value.isdigit() and value.isascii() and len(value) <= 20):
        return "SIZE must be a decimal number"
    if key == "BODY" and upper not in {"7BIT", "8BITMIME", "BINARYMIME"}:
        return "BODY must be 7BIT, 8BITMIME or BINARYMIME"
    if key == "RET" and upper not in {"FULL", "HDRS"}:
        return "RET must be FULL or HDRS"
    if key == "NOTIFY":
        items = upper.split(",")
        if items != ["NEVER"] and (
            len(set(items)) != len(items) or not set(items) <= {"SUCCESS", "FAILURE", "DELAY"}
        ):
            return "NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY"
    if key in ("ENVID", "ORCPT", "AUTH"):
        if not value.isascii() or _CONTROL.search(value):
            return f"{key} must be printable ASCII"
        if key == "ENVID" and len(value) > 100:
            return "ENVID longer than 100 characters"
        if key == "ORCPT":
            addr_type, semi, addr = value.partition(";")
            if not semi or not _KEYWORD.match(addr_type) or not addr:
                return "ORCPT must be addr-type;address"
    if key == "HOLDFOR" and not (value.isdigit() and value.isascii() and len(value) <= 10):
        return "HOLDFOR must be a number of seconds"
    if key == "HOLDUNTIL" and not _HOLDUNTIL.match(value):
        return "HOLDUNTIL must be an RFC 3339 date-time"
    if key == "MT-PRIORITY" and not re.fullmatch(r"[+-]?[0-9]", value):
        return "MT-PRIORITY must be between -9 and 9"
    return None


def _wire_value(key: str, value: str) -> str:
    if key == "ORCPT":
        addr_type, _, addr = value.partition(";")
        return f"{addr_type};{xtext_encode(addr)}"
    if key in _XTEXT_KEYWORDS:
        return xtext_encode(value)
    return value


def validate_parameters(
    params: object,
    *,
    role: ParameterRole,
    path: str = "",
    allow_smtputf8: bool = False,
) -> list[Problem]:
    """Validate a JMAP ``parameters`` map (keyword -> value or null).

    Checks RFC 5321 esmtp-keyword / esmtp-value syntax of what would be
    sent, that well-known extension parameters are used with the right
    command (``role``) and have the right shape, and that no keyword is
    given twice in different case (SMTP keywords are case-insensitive).
    Unknown but well-formed keywords are allowed: the receiving server is
    the authority on which extensions it supports.
    """
    if params is None:
        return []
    if not isinstance(params, Mapping):
        return [Problem(path, "notObject", "parameters must be an object or null")]
    problems: list[Problem] = []
    seen: set[str] = set()
    value_re = _VALUE_UTF8 if allow_smtputf8 else _VALUE_ASCII
    for raw_key, value in params.items():
        where = f"{path}/{raw_key}" if path else str(raw_key)
        if not isinstance(raw_key, str) or not _KEYWORD.match(raw_key):
            problems.append(Problem(where, "invalidKeyword", "invalid ESMTP keyword"))
            continue
        key = raw_key.upper()
        if key in seen:
            problems.append(Problem(where, "duplicateParameter", f"{key} given more than once"))
            continue
        seen.add(key)
        if value is not None and not isinstance(value, str):
            problems.append(Problem(where, "invalidValue", "value must be a string or null"))
            continue
        if (role == "mail" and key in _RCPT_ONLY) or (role == "rcpt" and key in _MAIL_ONLY):
            problems.append(
                Problem(where, "wrongCommand", f"{key} is not a {role.upper()} parameter")
            )
            continue
        detail = _check_known(key, value)
        if detail:
            problems.append(Problem(where, "invalidValue", detail))
            continue
        if value is not None and not value_re.match(_wire_value(key, value)):
            problems.append(
                Problem(where, "invalidValue", "value contains '=', spaces or control characters")
            )
    return problems


def encode_parameters(params: Mapping[str, str | None] | None) -> list[str]:
    """Render validated parameters as SMTP command tokens (``KEY`` / ``KEY=value``).

    Call :func:`validate_parameters` first; this re-checks the wire form
    anyway and raises ``ValueError`` rather than ever emitting a token that
    could split the command line.
    """
    tokens: list[str] = []
    for raw_key, value in (params or {}).items():
        key = raw_key.upper()
        if not _KEYWORD.match(key):
            raise ValueError(f"invalid ESMTP keyword {raw_key!r}")
        if value is None:
            tokens.append(key)
            continue
        wire = _wire_value(key, value)
        if not _VALUE_UTF8.match(wire):
            raise ValueError(f"invalid ESMTP value for {key}")
        tokens.append(f"{key}={wire}")
    return tokens
