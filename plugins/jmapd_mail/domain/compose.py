"""Build MIME octets from an Email/set create object (RFC 8621 §4.6).

Validation is strict: everything §4.6 calls invalid raises ComposeError with
the property path, so the method layer can answer invalidProperties rather
than silently writing a message the client did not ask for. Missing blobs are
collected and reported together as BlobNotFoundError (→ blobNotFound/notFound).

Body layout when textBody/htmlBody/attachments are given (the spec leaves it to
the server; this is what mainstream clients produce):

    text + html              -> multipart/alternative(text, html)
    inline parts with a cid  -> multipart/related(<body>, inline...)   (HTML only)
    other attachments        -> multipart/mixed(<body>, attachments...)

A part's `name` goes into Content-Disposition `filename` (RFC 2231) when it has
a disposition, and always into the Content-Type `name` parameter (RFC 2047) for
old readers — so a part without a disposition reads back with disposition null.
Raw (`header:X`) values are written verbatim (a leading space is added if
missing) and are not folded.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import partial
from typing import Any

from .format import (
    ComposeError,
    check_list,
    check_str,
    fold,
    format_form,
    format_legacy_name,
    format_param,
)
from .headers import parse_header_property
from .mime import parse_structured
from .parse import CONVENIENCE

__all__ = ["ComposeError", "BlobNotFoundError", "compose_message", "public_domain"]

GetBlob = Callable[[str], "bytes | None"]

_SERVER_SET = {"id", "blobId", "threadId", "size", "hasAttachment", "preview", "headers"}
_PASSTHROUGH = {"mailboxIds", "keywords", "receivedAt"}
#: RFC 8621 §4.1.4; anything else is a client mistake, not to be ignored.
_BODY_VALUE_PROPS = {"value", "isEncodingProblem", "isTruncated"}
_BODY_PROPS = {"bodyStructure", "textBody", "htmlBody", "attachments", "bodyValues"}
_PART_PROPS = {"partId", "blobId", "size", "name", "type", "charset", "disposition", "cid",
               "language", "location", "subParts"}
# Part properties and the header field each one represents (for duplicate detection).
_PART_HEADER_OF = {"type": "content-type", "charset": "content-type", "disposition": "content-disposition",
                   "cid": "content-id", "language": "content-language", "location": "content-location"}
_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_MEDIA_RE = re.compile(f"{_TOKEN}/{_TOKEN}")
_TOKEN_RE = re.compile(_TOKEN)
MAX_DEPTH = 20


class BlobNotFoundError(Exception):
    """Referenced blobs that get_blob could not return; maps to SetError blobNotFound."""

    def __init__(self, not_found: list[str]) -> None:
        super().__init__("blobs not found: " + ", ".join(not_found))
        self.not_found = not_found


class _Node:
    def __init__(self, headers: list[str], body: bytes | None = None, children: list[_Node] | None = None,
                 ctype: str = "text/plain", origin: tuple[dict[str, Any], str] | None = None) -> None:
        self.headers, self.body, self.children, self.ctype = headers, body, children, ctype
        self.origin = origin  # (part object, path prefix) it was built from, if any


def _content_type_override(obj: dict[str, Any]) -> str | None:
    """Media type from a part's header:Content-Type property, if it has one."""
    for key, value in obj.items():
        if key.startswith("header:") and key[7:].split(":", 1)[0].lower() == "content-type":
            if isinstance(value, list):
                value = value[-1] if value else None
            ctype, _ = parse_structured(value if isinstance(value, str) else None)
            return ctype if ctype and "/" in ctype else "text/plain"
    return None


def _header_props(
    obj: dict[str, Any], path: str, seen: dict[str, str], errors: list[ComposeError], *, top: bool
) -> list[str]:
    """Header lines from `header:` (and, at top level, convenience) properties
    of obj; a bad one is added to ``errors`` and the others still checked."""
    lines: list[str] = []
    for key, value in obj.items():
        try:
            lines += _header_prop(key, value, path, seen, top=top)
        except ComposeError as exc:
            errors.append(exc)
    return lines


def _header_prop(key: str, value: Any, path: str, seen: dict[str, str], *, top: bool) -> list[str]:
    if top and key in CONVENIENCE:
        name, form = CONVENIENCE[key]
        want_all = False
    elif key.startswith("header:"):
        try:
            name, form, want_all = parse_header_property(key)
        except ValueError as exc:
            raise ComposeError(f"{path}{key}", str(exc)) from None
    else:
        return []
    lname = name.lower()
    if lname in seen:
        raise ComposeError(f"{path}{key}", f"header field also given as {seen[lname]}")
    seen[lname] = f"{path}{key}"
    if top and lname.startswith("content-"):
        raise ComposeError(f"{path}{key}", "Content-* header fields belong on body parts")
    if lname == "content-transfer-encoding":
        raise ComposeError(f"{path}{key}", "Content-Transfer-Encoding must not be given")
    if value is None:
        return []
    lines: list[str] = []
    values = check_list(value, f"{path}{key}") if want_all else [value]
    for i, v in enumerate(values):
        vpath = f"{path}{key}/{i}" if want_all else f"{path}{key}"
        if v is None:
            raise ComposeError(vpath, "null is not a header value")
        lines.append(fold(name, format_form(v, form, vpath)) if form != "asRaw" else f"{name}:{format_form(v, form, vpath)}")
    return lines


_EMPTY = (["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 7bit"], b"")


class _Composer:
    """Builds the message, checking the whole object: every problem found is
    kept in ``errors`` and the walk goes on (a bad part stands in as an empty
    one), so the SetError names every invalid property (RFC 8620 §5.3)."""

    def __init__(self, email: dict[str, Any], get_blob: GetBlob) -> None:
        self.email, self.get_blob = email, get_blob
        self.missing: list[str] = []
        self.used_parts: set[str] = set()
        self.errors: list[ComposeError] = []
        self.values = self._body_values(email.get("bodyValues"))

    def fail(self, path: str, description: str) -> None:
        self.errors.append(ComposeError(path, description))

    def _guard(self, check: Callable[[], Any]) -> Any:
        """``check()``, or None with its error kept."""
        try:
            return check()
        except ComposeError as exc:
            self.errors.append(exc)
            return None

    def _body_values(self, bv: Any) -> dict[str, str]:
        if bv is None:
            return {}
        if not isinstance(bv, dict):
            self.fail("bodyValues", "must be an object")
            return {}
        out = {}
        for pid, val in bv.items():
            p = f"bodyValues/{pid}"
            if not isinstance(val, dict):
                self.fail(p, "must be an EmailBodyValue object")
                out[pid] = ""  # referenced or not, it is reported once
                continue
            for key in sorted(set(val) - _BODY_VALUE_PROPS):
                self.fail(f"{p}/{key}", "unknown EmailBodyValue property")
            for flag in ("isEncodingProblem", "isTruncated"):
                if val.get(flag) not in (None, False):
                    self.fail(f"{p}/{flag}", "must be false or omitted")
            value = val.get("value")
            if not isinstance(value, str):
                self.fail(f"{p}/value", "must be a string")
                value = ""
            out[pid] = value  # body text: CR/LF are content here, not injection
        return out

    # -- parts ------------------------------------------------------------------
    def part(self, obj: Any, path: str, depth: int, *, leaf_only: bool = False, default_type: str | None = None) -> _Node:
        node = self._guard(lambda: self._part(obj, path, depth, leaf_only=leaf_only, default_type=default_type))
        return node if node is not None else _Node(list(_EMPTY[0]), body=_EMPTY[1], ctype=default_type or "text/plain")

    def _part(self, obj: Any, path: str, depth: int, *, leaf_only: bool, default_type: str | None) -> _Node:
        if not isinstance(obj, dict):
            raise ComposeError(path, "must be an EmailBodyPart object")
        if depth > MAX_DEPTH:
            raise ComposeError(path, "body structure nested too deeply")
        pre = f"{path}/"
        for key in obj:
            if key == "headers":
                self.fail(pre + key, "headers must be set as individual header: properties")
            elif key not in _PART_PROPS and not key.startswith("header:"):
                self.fail(pre + key, "unknown EmailBodyPart property")
        seen: dict[str, str] = {}
        for prop, hname in _PART_HEADER_OF.items():
            if obj.get(prop) is not None:
                seen.setdefault(hname, pre + prop)
        extra = _header_props(obj, pre, seen, self.errors, top=False)
        ctype = obj.get("type")
        if ctype is not None:
            ctype = self._guard(lambda: check_str(ctype, pre + "type").lower())
            if ctype is not None and not _MEDIA_RE.fullmatch(ctype):
                self.fail(pre + "type", "invalid media type")
                ctype = None
        subparts = obj.get("subParts")
        if subparts is not None or (ctype or "").startswith("multipart/"):
            if leaf_only:
                raise ComposeError(pre + ("subParts" if subparts is not None else "type"), "must be a single, non-multipart part")
            if _content_type_override(obj) is not None:
                raise ComposeError(pre + "subParts", "give the multipart type with the type property")
            return self._multipart(obj, pre, ctype or "multipart/mixed", subparts, extra, depth)
        return self._leaf(obj, pre, ctype or default_type, extra)

    def _common(self, obj: dict[str, Any], pre: str) -> tuple[list[str], str | None]:
        """Header lines of a part's name, disposition, cid, language and
        location; each bad one is reported and the others still checked."""
        lines: list[str] = []
        name = obj.get("name")
        if name is not None and self._guard(lambda: check_str(name, pre + "name")) is None:
            name = None
        disp = obj.get("disposition")
        if disp is not None:
            disp = self._guard(lambda: check_str(disp, pre + "disposition").lower())
            if disp is not None and not _TOKEN_RE.fullmatch(disp):
                self.fail(pre + "disposition", "invalid disposition")
            elif disp is not None:
                lines.append(fold("Content-Disposition", " " + disp + (format_param("filename", name) if name else "")))
        if obj.get("cid") is not None:
            cid = self._guard(lambda: check_str(obj["cid"], pre + "cid", allow_empty=False))
            if cid is not None and re.search(r"[\s<>]", cid):
                self.fail(pre + "cid", "invalid Content-ID")
            elif cid is not None:
                lines.append(f"Content-ID: <{cid}>")
        if obj.get("language") is not None:
            langs = self._guard(lambda: check_list(obj["language"], pre + "language")) or []
            good = True
            for i, lang in enumerate(langs):
                tag = self._guard(partial(check_str, lang, f"{pre}language/{i}"))
                if tag is None or not _TOKEN_RE.fullmatch(tag):
                    if tag is not None:
                        self.fail(f"{pre}language/{i}", "invalid language tag")
                    good = False
            if langs and good:
                lines.append(fold("Content-Language", " " + ", ".join(langs)))
        if obj.get("location") is not None:
            loc = self._guard(lambda: check_str(obj["location"], pre + "location", allow_empty=False))
            if loc is not None and re.search(r"\s", loc):
                self.fail(pre + "location", "invalid URI")
            elif loc is not None:
                lines.append(fold("Content-Location", " " + loc))
        return lines, name

    def _multipart(self, obj: dict[str, Any], pre: str, ctype: str, subparts: Any, extra: list[str], depth: int) -> _Node:
        if not ctype.startswith("multipart/"):
            self.fail(pre + "type", "a part with subParts must be multipart/*")
        for key in ("partId", "blobId", "charset", "size"):
            if obj.get(key) is not None:
                self.fail(pre + key, "not allowed on a multipart part")
        parts = self._guard(lambda: check_list(subparts, pre + "subParts")) if subparts is not None else None
        if not parts:
            if subparts is None or parts is not None:
                self.fail(pre + "subParts", "a multipart part needs at least one sub-part")
            parts = []
        children = [self.part(s, f"{pre}subParts/{i}", depth + 1) for i, s in enumerate(parts)]
        lines, _name = self._common(obj, pre)
        return _Node(lines + extra, children=children, ctype=ctype, origin=(obj, pre))

    def _leaf(self, obj: dict[str, Any], pre: str, ctype: str | None, extra: list[str]) -> _Node:
        ct_override = _content_type_override(obj)
        if ct_override is not None:
            ctype = ct_override
        part_id, blob_id = obj.get("partId"), obj.get("blobId")
        charset = obj.get("charset")
        data = b""
        if part_id is not None and blob_id is not None:
            self.fail(pre + "blobId", "partId and blobId are mutually exclusive")
        if part_id is not None:
            for key in ("charset", "size"):
                if obj.get(key) is not None:
                    self.fail(pre + key, f"{key} must be omitted when partId is given")
            part_id = self._guard(lambda: check_str(part_id, pre + "partId", allow_empty=False))
            if part_id is not None and part_id not in self.values:
                self.fail(pre + "partId", "partId not found in bodyValues")
            elif part_id is not None and part_id in self.used_parts:
                self.fail(pre + "partId", "partId used twice")
            elif part_id is not None:
                self.used_parts.add(part_id)
                text = self.values[part_id].replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
                data = text.encode("utf-8")
            ctype = ctype or "text/plain"
            charset = "utf-8" if ctype.startswith("text/") else None
        elif blob_id is not None:
            blob_id = self._guard(lambda: check_str(blob_id, pre + "blobId", allow_empty=False))
            ctype = ctype or "application/octet-stream"
            if charset is not None:
                charset = self._guard(lambda: check_str(charset, pre + "charset"))
                if charset is not None and not _TOKEN_RE.fullmatch(charset):
                    self.fail(pre + "charset", "invalid charset")
                    charset = None
            if blob_id is not None:
                blob = self.get_blob(blob_id)
                if blob is None:
                    if blob_id not in self.missing:
                        self.missing.append(blob_id)
                    blob = b""
                data = bytes(blob)
        else:
            self.fail(pre + "partId", "a body part needs partId or blobId")
            ctype = ctype or "text/plain"
        lines, name = self._common(obj, pre)
        ct = " " + ctype + (format_param("charset", charset) if charset else "")
        if name:
            ct += format_legacy_name(name)
        cte, body = _encode_body(data, ctype, text_from_values=part_id is not None)
        head = [] if ct_override else [fold("Content-Type", ct)]
        head += [*lines, f"Content-Transfer-Encoding: {cte}", *extra]
        return _Node(head, body=body, ctype=ctype, origin=(obj, pre))

    # -- message ------------------------------------------------------------------
    def body(self) -> _Node:
        email = self.email
        if "bodyStructure" in email and email["bodyStructure"] is not None:
            for key in ("textBody", "htmlBody", "attachments"):
                if email.get(key) is not None:
                    self.fail(key, "not allowed together with bodyStructure")
            return self.part(email["bodyStructure"], "bodyStructure", 0)
        alt: list[_Node] = []
        html_node = None
        for key, want in (("textBody", "text/plain"), ("htmlBody", "text/html")):
            parts = email.get(key)
            if parts is None:
                continue
            parts = self._guard(partial(check_list, parts, key))
            if parts is None:
                continue
            if len(parts) != 1:
                self.fail(key, "must contain exactly one body part")
                continue
            before = len(self.errors)
            node = self.part(parts[0], f"{key}/0", 0, leaf_only=True, default_type=want)
            if node.ctype != want and all(e.path != f"{key}/0/type" for e in self.errors[before:]):
                self.fail(f"{key}/0/type", f"must be {want}")
            alt.append(node)
            if want == "text/html":
                html_node = node
        if len(alt) == 2:
            main = _Node([], children=alt, ctype="multipart/alternative")
        elif alt:
            main = alt[0]
        else:
            main = _Node(list(_EMPTY[0]), body=_EMPTY[1])
        inline: list[_Node] = []
        mixed: list[_Node] = []
        attachments = self._guard(lambda: check_list(email.get("attachments") or [], "attachments")) or []
        for i, att in enumerate(attachments):
            node = self.part(att, f"attachments/{i}", 0, leaf_only=True)
            if isinstance(att, dict) and att.get("cid") and att.get("disposition") != "attachment" and html_node:
                inline.append(node)
            else:
                mixed.append(node)
        if inline:
            main = _Node([], children=[main, *inline], ctype="multipart/related")
        if mixed:
            main = _Node([], children=[main, *mixed], ctype="multipart/mixed")
        return main

    def compose(self, *, now: datetime | None, message_id_domain: str) -> bytes:
        email = self.email
        for key in email:
            if key in _SERVER_SET:
                self.fail(key, "server-set property cannot be given")
            elif key not in _PASSTHROUGH and key not in _BODY_PROPS and key not in CONVENIENCE and not key.startswith("header:"):
                self.fail(key, "unknown Email property")
        seen: dict[str, str] = {}
        top = _header_props(email, "", seen, self.errors, top=True)
        root = self.body()
        for pid in self.values:
            if pid not in self.used_parts and not any(e.path.startswith(f"bodyValues/{pid}") for e in self.errors):
                self.fail(f"bodyValues/{pid}", "not referenced by any body part")
        # Header fields of the root part become message header fields: no clashes allowed.
        if root.origin is not None:
            obj, pre = root.origin
            for key in obj:
                if key.startswith("header:") and key[7:].split(":", 1)[0].lower() in seen:
                    self.fail(pre + key, "header field already set on the Email")
        if self.errors:
            first = self.errors[0]
            problems = list(dict.fromkeys((e.path, e.description) for e in self.errors))
            raise ComposeError(first.path, first.description, problems)
        if self.missing:  # only once the object is otherwise valid
            raise BlobNotFoundError(self.missing)
        emitted = {line.split(":", 1)[0].lower() for line in top}
        if "message-id" not in emitted:
            domain = _sender_domain(email) or message_id_domain
            top.append(f"Message-ID: <{uuid.uuid4().hex}@{domain}>")
        if "date" not in emitted:
            top.append("Date: " + format_datetime((now or datetime.now(UTC)).replace(microsecond=0)))
        if "mime-version" not in emitted:
            top.append("MIME-Version: 1.0")
        root.headers = top + root.headers
        return _render(root)


def _encode_body(data: bytes, ctype: str, *, text_from_values: bool) -> tuple[str, bytes]:
    """Pick the lightest safe transfer encoding for the content."""
    if ctype in ("message/rfc822", "message/global"):  # RFC 2046: no base64/QP for message/*
        if data.isascii() and all(len(line) <= 998 for line in data.split(b"\n")):
            return "7bit", data
        return ("8bit" if all(len(line) <= 998 for line in data.split(b"\n")) else "binary"), data
    is_text = ctype.startswith("text/") or text_from_values
    if is_text:
        lf = data.replace(b"\r\n", b"\n")
        if b"\r" not in lf and b"\x00" not in lf:
            if lf.isascii() and all(len(line) <= 998 for line in lf.split(b"\n")):
                return "7bit", lf.replace(b"\n", b"\r\n")
            if sum(b >= 0x80 for b in lf) * 5 <= len(lf):
                qp = binascii.b2a_qp(lf, quotetabs=False, istext=True, header=False)
                return "quoted-printable", qp.replace(b"\n", b"\r\n")
    return "base64", base64.encodebytes(data).replace(b"\n", b"\r\n")


def _render(node: _Node) -> bytes:
    if node.children is None:
        head = "\r\n".join(node.headers) + "\r\n\r\n"
        return head.encode("utf-8") + (node.body or b"")
    rendered = [_render(c) for c in node.children]
    boundary = "=_" + secrets.token_hex(12)
    while any(boundary.encode() in r for r in rendered):  # pragma: no cover - 96 random bits
        boundary = "=_" + secrets.token_hex(12)
    ct = fold("Content-Type", f' {node.ctype}; boundary="{boundary}"')
    head = "\r\n".join([*node.headers, ct]) + "\r\n\r\n"
    delim = b"--" + boundary.encode()
    out = [head.encode("utf-8")]
    for r in rendered:
        out += [delim, b"\r\n", r, b"\r\n"]
    out += [delim, b"--\r\n"]
    return b"".join(out)


def public_domain(address: Any) -> str | None:
    """The domain of ``address`` if a Message-ID may name it.

    A name that only means something on this host (``localhost``, a
    ``.localdomain``, a dotless name) would make the ids of two servers
    collide and tells the world nothing, so it does not count (issue #9.8).
    """
    if not isinstance(address, str) or "@" not in address:
        return None
    domain = address.rpartition("@")[2].strip().lower().rstrip(".")
    if not domain or not all(c.isalnum() or c in ".-" for c in domain) or "." not in domain:
        return None
    if domain.endswith((".localhost", ".localdomain", ".local")) or domain == "localhost.localdomain":
        return None
    return domain


def _sender_domain(email: dict[str, Any]) -> str | None:
    """The domain of the first From address: a Message-ID names its sender's domain."""
    senders = email.get("from")
    if isinstance(senders, list) and senders and isinstance(senders[0], dict):
        return public_domain(senders[0].get("email"))
    return None


def compose_message(
    email: dict[str, Any],
    get_blob: GetBlob,
    *,
    now: datetime | None = None,
    message_id_domain: str = "jmapd.invalid",
) -> bytes:
    """Return the RFC 5322 octets (CRLF) for an Email/set create object.

    Raises ComposeError (→ invalidProperties, properties=[error.path]) or
    BlobNotFoundError (→ blobNotFound, notFound=error.not_found). Date comes from
    sentAt, else `now`; a Message-ID is generated unless given (§4.6 MUST), in
    the From address's domain, else ``message_id_domain``.
    """
    if not isinstance(email, dict):
        raise ComposeError("", "Email must be an object")
    return _Composer(email, get_blob).compose(now=now, message_id_domain=message_id_domain)
