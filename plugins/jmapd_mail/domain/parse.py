"""Parse raw RFC 5322/MIME octets into everything the Email object exposes.

Parsing happens once, at import/creation; `ParsedMessage.to_json()` is what
the server stores, and `from_json(data, raw=blob)` restores it. Leaf parts
keep byte offsets into the raw message, so decoded content (blobs, bodyValues)
is read straight from the stored blob without parsing MIME again.

Part references: every non-multipart part has a `partId` (IMAP-style section
numbers: "1", "2.1", ...). The same string is the *part reference* the server
turns into a JMAP blobId (pass `blob_id=` to the JSON helpers); decoded bytes
for a reference come from `ParsedMessage.part_bytes(part_id)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .encoding import decode_bytes, decode_transfer, strip_controls
from .headers import header_value, parse_header_property
from .mime import (
    last_header,
    parse_cid,
    parse_language,
    parse_location,
    parse_structured,
    read_headers,
    split_multipart,
)
from .structure import BodyPart, classify, has_attachment
from .text import html_to_text, make_preview, truncate_utf8

MAX_DEPTH = 40
MAX_PARTS = 1000
PREVIEW_SOURCE_BYTES = 16384

# Convenience Email properties -> (header name, form) they mirror (§4.1.3).
CONVENIENCE = {
    "messageId": ("Message-ID", "asMessageIds"),
    "inReplyTo": ("In-Reply-To", "asMessageIds"),
    "references": ("References", "asMessageIds"),
    "sender": ("Sender", "asAddresses"),
    "from": ("From", "asAddresses"),
    "to": ("To", "asAddresses"),
    "cc": ("Cc", "asAddresses"),
    "bcc": ("Bcc", "asAddresses"),
    "replyTo": ("Reply-To", "asAddresses"),
    "subject": ("Subject", "asText"),
    "sentAt": ("Date", "asDate"),
}
DEFAULT_BODY_PROPERTIES = [
    "partId", "blobId", "size", "name", "type", "charset", "disposition", "cid", "language", "location",
]
# Set by the server, not derived from the message; email_properties() skips them.
METADATA_PROPERTIES = {"id", "blobId", "threadId", "mailboxIds", "keywords", "receivedAt"}

BlobIdFn = Callable[[str], str]


class _Ctx:
    def __init__(self, raw: bytes, max_depth: int, max_parts: int) -> None:
        self.raw, self.max_depth, self.max_parts, self.count = raw, max_depth, max_parts, 0


def _parse_entity(ctx: _Ctx, start: int, end: int, part_id: str, default_type: str, depth: int) -> BodyPart:
    ctx.count += 1
    headers, body = read_headers(ctx.raw, start, end)
    ctype, params = parse_structured(last_header(headers, "Content-Type"))
    has_ctype = ctype is not None
    if not ctype or "/" not in ctype:  # absent or unparseable: MIME's implicit type
        ctype, has_ctype = default_type, False
        params = {"charset": params["charset"]} if "charset" in params else {}
    disp, dparams = parse_structured(last_header(headers, "Content-Disposition"))
    name = dparams.get("filename") or params.get("name")
    charset = params.get("charset")
    if charset is None and (not has_ctype or ctype.startswith("text/")):
        charset = "us-ascii"
    part = BodyPart(
        part_id=part_id, headers=headers, type=ctype, charset=charset, disposition=disp,
        cid=parse_cid(last_header(headers, "Content-ID")),
        language=parse_language(last_header(headers, "Content-Language")),
        location=parse_location(last_header(headers, "Content-Location")),
        name=strip_controls(name) if name else None,
    )
    if ctype.startswith("multipart/"):
        boundary = params.get("boundary")
        ranges = split_multipart(ctx.raw, body, end, boundary) if boundary else None
        if ranges is not None and depth < ctx.max_depth:
            part.part_id, part.charset, part.sub_parts = None, None, []
            part.size = end - body  # no blob; report the encoded extent
            prefix = "" if part_id == "1" and depth == 0 else part_id + "."
            child_default = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
            for i, (s, e) in enumerate(ranges, 1):
                if ctx.count >= ctx.max_parts:
                    break
                part.sub_parts.append(_parse_entity(ctx, s, e, f"{prefix}{i}", child_default, depth + 1))
            return part
        # No usable boundary, or nested too deep: expose the body as one opaque part.
        part.type = "text/plain" if ranges is None else "application/octet-stream"
        part.charset = "us-ascii" if ranges is None else None
    cte = last_header(headers, "Content-Transfer-Encoding")
    part.encoding = "".join(cte.split()).lower() if cte else None
    part.offset, part.length = body, end - body
    part.size = len(decode_transfer(ctx.raw[body:end], part.encoding)[0])
    return part


@dataclass
class ParsedMessage:
    """One parsed message; cheap to serve from, cheap to serialise."""

    size: int
    headers: list[tuple[str, str]]
    body_structure: BodyPart
    text_body: list[str]
    html_body: list[str]
    attachments: list[str]
    has_attachment: bool
    preview: str
    props: dict[str, Any]  # the CONVENIENCE properties, precomputed
    raw: bytes | None = field(default=None, repr=False)
    _parts: dict[str, BodyPart] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self._parts:
            self._parts = {p.part_id: p for p in self.body_structure.walk() if p.part_id}

    # -- parts and content -------------------------------------------------
    def part(self, part_id: str) -> BodyPart:
        """The leaf part for a partId/part reference; KeyError if unknown."""
        return self._parts[part_id]

    def parts(self) -> list[BodyPart]:
        return list(self._parts.values())

    def part_bytes(self, part_id: str) -> bytes:
        """Decoded (transfer-encoding undone) content of a part — the blob octets."""
        if self.raw is None:
            raise RuntimeError("raw message not attached; use from_json(data, raw=...)")
        p = self._parts[part_id]
        return decode_transfer(self.raw[p.offset : p.offset + p.length], p.encoding)[0]

    def part_text(self, part_id: str) -> tuple[str, bool]:
        """(text with LF line endings, isEncodingProblem) for a part, best effort."""
        if self.raw is None:
            raise RuntimeError("raw message not attached; use from_json(data, raw=...)")
        p = self._parts[part_id]
        data, cte_problem = decode_transfer(self.raw[p.offset : p.offset + p.length], p.encoding)
        text, cs_problem = decode_bytes(data, p.charset)
        text = text.replace("\r\n", "\n").replace("\x00", "")
        return text, cte_problem or cs_problem

    def body_value(self, part_id: str, max_bytes: int = 0) -> dict[str, Any]:
        """An EmailBodyValue; truncation obeys maxBodyValueBytes (UTF-8, tag-safe for HTML)."""
        text, problem = self.part_text(part_id)
        value, truncated = truncate_utf8(text, max_bytes, is_html=self._parts[part_id].type == "text/html")
        return {"value": value, "isEncodingProblem": problem, "isTruncated": truncated}

    def body_value_ids(self, *, fetch_text: bool = False, fetch_html: bool = False, fetch_all: bool = False) -> list[str]:
        """Which text/* parts fetchTextBodyValues/fetchHTMLBodyValues/fetchAllBodyValues select."""
        if fetch_all:
            ids = [p.part_id for p in self.body_structure.walk() if p.part_id]
        else:
            ids = (self.text_body if fetch_text else []) + (self.html_body if fetch_html else [])
        seen: dict[str, None] = {}
        for i in ids:
            if self._parts[i].type.startswith("text/"):
                seen[i] = None
        return list(seen)

    def attached_message(self, part_id: str, **limits: int) -> ParsedMessage:
        """Parse a message/rfc822 (or any) part as a message in its own right (Email/parse)."""
        return parse_message(self.part_bytes(part_id), **limits)

    # -- JMAP views ---------------------------------------------------------
    def header(self, prop: str) -> Any:
        """Value of a `header:Name[:asForm][:all]` property (ValueError if invalid)."""
        name, form, want_all = parse_header_property(prop)
        return header_value(self.headers, name, form, want_all)

    def part_json(self, part: BodyPart, properties: list[str] | None = None, blob_id: BlobIdFn | None = None) -> dict[str, Any]:
        return part.to_jmap(DEFAULT_BODY_PROPERTIES if properties is None else properties, blob_id)

    def email_properties(
        self,
        properties: list[str],
        *,
        body_properties: list[str] | None = None,
        blob_id: BlobIdFn | None = None,
        fetch_text_body_values: bool = False,
        fetch_html_body_values: bool = False,
        fetch_all_body_values: bool = False,
        max_body_value_bytes: int = 0,
    ) -> dict[str, Any]:
        """All message-derived Email properties requested (Email/get, Email/parse).

        Metadata (id, blobId, threadId, mailboxIds, keywords, receivedAt) is the
        server's and is skipped. Unknown properties raise ValueError. bodyValues
        need `raw`; everything else works from the stored JSON alone.
        """
        # None is "not asked": an explicit [] means parts with no properties.
        bprops = DEFAULT_BODY_PROPERTIES if body_properties is None else body_properties
        # bodyStructure is "the full MIME structure" (RFC 8621 §4.1.4): its tree
        # is conveyed whatever else was asked, unless the client asked for nothing.
        tree_props = bprops if not bprops or "subParts" in bprops else [*bprops, "subParts"]
        out: dict[str, Any] = {}
        for prop in properties:
            if prop in METADATA_PROPERTIES:
                continue
            if prop in CONVENIENCE:
                out[prop] = self.props.get(prop)
            elif prop.startswith("header:"):
                out[prop] = self.header(prop)
            elif prop == "headers":
                out[prop] = [{"name": n, "value": v} for n, v in self.headers]
            elif prop == "size":
                out[prop] = self.size
            elif prop == "preview":
                out[prop] = self.preview
            elif prop == "hasAttachment":
                out[prop] = self.has_attachment
            elif prop == "bodyStructure":
                out[prop] = self.body_structure.to_jmap(tree_props, blob_id)
            elif prop in ("textBody", "htmlBody", "attachments"):
                ids = {"textBody": self.text_body, "htmlBody": self.html_body, "attachments": self.attachments}[prop]
                out[prop] = [self._parts[i].to_jmap(bprops, blob_id) for i in ids]
            elif prop == "bodyValues":
                ids = self.body_value_ids(
                    fetch_text=fetch_text_body_values, fetch_html=fetch_html_body_values, fetch_all=fetch_all_body_values
                )
                out[prop] = {i: self.body_value(i, max_body_value_bytes) for i in ids}
            else:
                raise ValueError(f"unknown Email property {prop!r}")
        return out

    # -- indexing -------------------------------------------------------------
    def search_fields(self, max_chars: int = 1_000_000) -> dict[str, str]:
        """Text per filter field (from/to/cc/bcc/subject/body/attachmentNames) for indexing."""

        def addrs(key: str) -> str:
            return " ".join(f"{a['name'] or ''} {a['email']}".strip() for a in self.props.get(key) or [])

        body: list[str] = []
        budget = max_chars
        for p in self.body_structure.walk():
            if budget <= 0 or p.type not in ("text/plain", "text/html") or p.part_id is None:
                continue
            if p.disposition == "attachment":
                continue
            text, _ = self.part_text(p.part_id) if self.raw is not None else ("", False)
            text = html_to_text(text) if p.type == "text/html" else text
            body.append(text[:budget])
            budget -= len(body[-1])
        names = [p.name for p in self.body_structure.walk() if p.name]
        return {
            "from": addrs("from") + " " + addrs("sender"),
            "to": addrs("to"),
            "cc": addrs("cc"),
            "bcc": addrs("bcc"),
            "subject": self.props.get("subject") or "",
            "body": "\n".join(body),
            "attachmentNames": " ".join(names),
        }

    def search_text(self, max_chars: int = 1_000_000) -> str:
        """One NUL-free string for a full-text index (Email/query `text` filter)."""
        f = self.search_fields(max_chars)
        joined = "\n".join(f[k] for k in ("subject", "from", "to", "cc", "bcc", "attachmentNames", "body"))
        return joined.replace("\x00", "")

    # -- storage ------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable metadata (no raw octets); pair with the stored blob."""
        return {
            "v": 1,
            "size": self.size,
            "headers": [[n, v] for n, v in self.headers],
            "props": self.props,
            "body": self.body_structure.to_store(root=True),
            "textBody": self.text_body,
            "htmlBody": self.html_body,
            "attachments": self.attachments,
            "hasAttachment": self.has_attachment,
            "preview": self.preview,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], raw: bytes | None = None) -> ParsedMessage:
        """Restore from to_json(); attach `raw` to serve content (bodyValues, part bytes)."""
        headers = [(n, v) for n, v in data["headers"]]
        return cls(
            size=data["size"], headers=headers, body_structure=BodyPart.from_store(data["body"], headers),
            text_body=list(data["textBody"]), html_body=list(data["htmlBody"]),
            attachments=list(data["attachments"]), has_attachment=data["hasAttachment"],
            preview=data["preview"], props=data["props"], raw=raw,
        )


def parse_message(raw: bytes, *, max_parts: int = MAX_PARTS, max_depth: int = MAX_DEPTH) -> ParsedMessage:
    """Parse a message; never raises on malformed content (bytes of any shape are a message).

    Beyond `max_depth` nested multiparts become one opaque application/octet-stream
    part; parts beyond `max_parts` are dropped — both to bound work on hostile input.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError("raw must be bytes")
    raw = bytes(raw)
    ctx = _Ctx(raw, max_depth, max_parts)
    root = _parse_entity(ctx, 0, len(raw), "1", "text/plain", 0)
    headers = root.headers
    text_body, html_body, attachments = classify(root)
    props = {k: header_value(headers, n, f) for k, (n, f) in CONVENIENCE.items()}
    msg = ParsedMessage(
        size=len(raw), headers=headers, body_structure=root,
        text_body=_leaf_ids(text_body), html_body=_leaf_ids(html_body),
        attachments=_leaf_ids(attachments), has_attachment=has_attachment(root, attachments),
        preview="", props=props, raw=raw,
    )
    msg.preview = _preview(msg, text_body, html_body)
    return msg


def _preview(msg: ParsedMessage, text_body: list[BodyPart], html_body: list[BodyPart]) -> str:
    for p in text_body + html_body:
        if p.type in ("text/plain", "text/html") and p.part_id:
            text, _ = msg.part_text(p.part_id)
            text = text[: PREVIEW_SOURCE_BYTES * (4 if p.type == "text/html" else 1)]
            text = html_to_text(text) if p.type == "text/html" else text
            preview = make_preview(text)
            if preview:
                return preview
    return ""


__all__ = [
    "BodyPart", "ParsedMessage", "parse_message", "CONVENIENCE", "DEFAULT_BODY_PROPERTIES",
    "METADATA_PROPERTIES",
]


def _leaf_ids(parts: list[BodyPart]) -> list[str]:
    """Part ids of classified leaves; only multipart containers lack an id, and classify returns none."""
    return [p.part_id for p in parts if p.part_id is not None]
