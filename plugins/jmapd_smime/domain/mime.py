"""Finding the signed structure of a message in its raw octets.

A detached signature covers the first body part of ``multipart/signed``
exactly as transmitted (RFC 8551 §3.5, RFC 1847 §2.1), so the part is cut
out of the raw bytes between the boundary delimiters rather than rebuilt
from a parsed tree, which would re-fold headers and re-encode bodies.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses

#: The ``protocol`` values of a multipart/signed that carry CMS (RFC 8551 §3.5.3).
CMS_PROTOCOLS = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature"})
PKCS7_MIME = frozenset({"application/pkcs7-mime", "application/x-pkcs7-mime"})

_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class SignedEntity:
    """What a message's top-level body is, as far as S/MIME goes.

    ``kind`` is ``"detached"`` (multipart/signed with a CMS signature),
    ``"opaque"`` (application/pkcs7-mime signed-data), ``"other"`` (an
    S/MIME or signed structure this server cannot verify: another signing
    protocol, enveloped, compressed or certs-only data) or ``None`` (not
    signed at all). ``content`` is the signed MIME entity of a detached
    signature, ``cms`` the DER of the CMS object, ``problem`` why they could
    not be extracted.
    """

    kind: str | None
    content: bytes | None = None
    cms: bytes | None = None
    problem: str | None = None
    from_addresses: tuple[str, ...] = ()


def split_header(raw: bytes) -> tuple[bytes, bytes]:
    """(header block, body) of a message or MIME entity."""
    match = _HEADER_END.search(raw)
    if match is None:
        return raw, b""
    return raw[: match.start()], raw[match.end():]


def canonical(data: bytes) -> bytes:
    """Line endings as CRLF, the canonical form a signature covers (RFC 8551 §3.1.1)."""
    return re.sub(rb"\r?\n", b"\r\n", data)


def _headers(block: bytes) -> Message:
    return message_from_bytes(block + b"\r\n\r\n", policy=compat32)


def _from_addresses(headers: Message) -> tuple[str, ...]:
    values = [str(v) for v in headers.get_all("From") or []]
    return tuple(addr for _, addr in getaddresses(values) if addr)


def _decode(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "base64":
        return base64.b64decode(re.sub(rb"\s+", b"", body), validate=True)
    if encoding in ("", "7bit", "8bit", "binary"):
        return body
    raise ValueError(f"unsupported Content-Transfer-Encoding {encoding!r}")


def _first_part_and_signature(body: bytes, boundary: str) -> tuple[bytes, bytes]:
    """The two body parts of a multipart/signed, the first byte-exact."""
    delimiter = re.compile(rb"(?:^|\r?\n)--" + re.escape(boundary.encode("latin-1")) + rb"(--)?[ \t]*(?=\r?\n|$)")
    marks = list(delimiter.finditer(body))
    if len(marks) < 3 or marks[0].group(1) or marks[1].group(1) or not marks[2].group(1):
        raise ValueError("multipart/signed does not have exactly two body parts")

    def after(mark: re.Match[bytes]) -> int:
        end = mark.end()
        if body[end:end + 2] == b"\r\n":
            return end + 2
        return end + 1 if body[end:end + 1] == b"\n" else end

    return body[after(marks[0]) : marks[1].start()], body[after(marks[1]) : marks[2].start()]


def locate(raw: bytes) -> SignedEntity:
    """The S/MIME structure of ``raw``'s top-level body.

    Only the top level counts: a signed part inside a multipart/mixed (a
    list footer appended after signing) does not make the message signed.
    """
    block, body = split_header(raw)
    headers = _headers(block)
    addresses = _from_addresses(headers)
    ctype = headers.get_content_type()
    if ctype == "multipart/signed":
        protocol = (headers.get_param("protocol") or "")
        protocol = str(protocol).strip().lower()
        if protocol not in CMS_PROTOCOLS:
            return SignedEntity("other", problem=f"signing protocol {protocol or 'missing'} is not S/MIME",
                                from_addresses=addresses)
        boundary = headers.get_boundary()
        if not boundary:
            return SignedEntity("detached", problem="multipart/signed without a boundary", from_addresses=addresses)
        try:
            content, signature = _first_part_and_signature(body, boundary)
            sig_block, sig_body = split_header(signature)
            sig_headers = _headers(sig_block)
            if sig_headers.get_content_type() not in CMS_PROTOCOLS:
                raise ValueError(f"the signature part is {sig_headers.get_content_type()}, not a CMS signature")
            cms = _decode(sig_body, str(sig_headers.get("Content-Transfer-Encoding", "")))
        except (ValueError, binascii.Error) as exc:
            return SignedEntity("detached", problem=str(exc), from_addresses=addresses)
        return SignedEntity("detached", content=canonical(content), cms=cms, from_addresses=addresses)
    if ctype in PKCS7_MIME:
        smime_type = str(headers.get_param("smime-type") or "").strip().lower()
        if smime_type not in ("signed-data", ""):
            return SignedEntity("other", problem=f"smime-type {smime_type} is not signed data", from_addresses=addresses)
        try:
            cms = _decode(body, str(headers.get("Content-Transfer-Encoding", "")))
        except (ValueError, binascii.Error) as exc:
            return SignedEntity("opaque", problem=str(exc), from_addresses=addresses)
        return SignedEntity("opaque", cms=cms, from_addresses=addresses)
    return SignedEntity(None, from_addresses=addresses)


def looks_signed(raw: bytes) -> bool:
    """A cheap first test on the top-level header block, so the common
    unsigned message costs a byte search, not a parse."""
    block = split_header(raw)[0].lower()
    return b"multipart/signed" in block or b"pkcs7-mime" in block
