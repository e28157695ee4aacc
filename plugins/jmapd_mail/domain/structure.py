"""The EmailBodyPart tree and the RFC 8621 §4.1.4 textBody/htmlBody/attachments split."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .headers import header_value, parse_header_property


@dataclass(eq=False)
class BodyPart:
    """One MIME entity. `offset`/`length`/`encoding` locate a leaf's body in the raw message."""

    part_id: str | None
    headers: list[tuple[str, str]]
    type: str
    charset: str | None = None
    disposition: str | None = None
    cid: str | None = None
    language: list[str] | None = None
    location: str | None = None
    name: str | None = None
    size: int = 0
    sub_parts: list[BodyPart] | None = None
    offset: int = 0
    length: int = 0
    encoding: str | None = None

    def walk(self) -> Iterator[BodyPart]:
        """Depth-first, pre-order; iterative so hostile depth can't hit the recursion limit."""
        stack = [self]
        while stack:
            p = stack.pop()
            yield p
            if p.sub_parts:
                stack.extend(reversed(p.sub_parts))

    def to_jmap(self, properties: list[str], blob_id: Callable[[str], str] | None = None) -> dict[str, Any]:
        """EmailBodyPart JSON with only `properties` (subParts recurse with the same list).

        blobId is `blob_id(partId)` when given, else the partId itself (a part reference).
        """
        out: dict[str, Any] = {}
        for prop in properties:
            if prop == "partId":
                out[prop] = self.part_id
            elif prop == "blobId":
                out[prop] = None if self.part_id is None else (blob_id(self.part_id) if blob_id else self.part_id)
            elif prop == "size":
                out[prop] = self.size
            elif prop == "headers":
                out[prop] = [{"name": n, "value": v} for n, v in self.headers]
            elif prop in ("name", "type", "charset", "disposition", "cid", "language", "location"):
                out[prop] = getattr(self, prop)
            elif prop == "subParts":
                out[prop] = None if self.sub_parts is None else [p.to_jmap(properties, blob_id) for p in self.sub_parts]
            elif prop.startswith("header:"):
                name, form, want_all = parse_header_property(prop)
                out[prop] = header_value(self.headers, name, form, want_all)
            else:
                raise ValueError(f"unknown EmailBodyPart property {prop!r}")
        return out

    def to_store(self, root: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.part_id, "t": self.type}
        if not root:
            d["h"] = [[n, v] for n, v in self.headers]
        for key, val in (
            ("cs", self.charset), ("d", self.disposition), ("cid", self.cid), ("lang", self.language),
            ("loc", self.location), ("n", self.name), ("e", self.encoding),
        ):
            if val is not None:
                d[key] = val
        if self.sub_parts is not None:
            d["sub"] = [p.to_store() for p in self.sub_parts]
        else:
            d["sz"], d["o"], d["l"] = self.size, self.offset, self.length
        return d

    @classmethod
    def from_store(cls, d: dict[str, Any], root_headers: list[tuple[str, str]] | None = None) -> BodyPart:
        headers = root_headers if root_headers is not None else [(n, v) for n, v in d.get("h", [])]
        return cls(
            part_id=d["id"], headers=headers, type=d["t"], charset=d.get("cs"), disposition=d.get("d"),
            cid=d.get("cid"), language=d.get("lang"), location=d.get("loc"), name=d.get("n"),
            size=d.get("sz", 0), offset=d.get("o", 0), length=d.get("l", 0), encoding=d.get("e"),
            sub_parts=[cls.from_store(s) for s in d["sub"]] if "sub" in d else None,
        )


def _inline_media(t: str) -> bool:
    return t.startswith(("image/", "audio/", "video/"))


def _parse_structure(
    parts: list[BodyPart], multipart_type: str, in_alternative: bool,
    html_body: list[BodyPart] | None, text_body: list[BodyPart] | None, attachments: list[BodyPart],
) -> None:
    """The spec's suggested algorithm (§4.1.4), transcribed line for line.

    Recursion depth is bounded by the parser's max_depth, so plain recursion is safe.
    """
    text_length = len(text_body) if text_body is not None else -1
    html_length = len(html_body) if html_body is not None else -1
    for i, part in enumerate(parts):
        is_multipart = part.type.startswith("multipart/") and part.sub_parts is not None
        is_inline = (
            part.disposition != "attachment"
            and (part.type in ("text/plain", "text/html") or _inline_media(part.type))
            and (i == 0 or (multipart_type != "related" and (_inline_media(part.type) or not part.name)))
        )
        if is_multipart:
            sub_multi = part.type.split("/", 1)[1]
            _parse_structure(
                part.sub_parts or [], sub_multi, in_alternative or sub_multi == "alternative",
                html_body, text_body, attachments,
            )
        elif is_inline:
            if multipart_type == "alternative":
                # (the JS would throw on a null list here; we skip instead)
                if part.type == "text/plain":
                    if text_body is not None:
                        text_body.append(part)
                elif part.type == "text/html":
                    if html_body is not None:
                        html_body.append(part)
                else:
                    attachments.append(part)
                continue
            elif in_alternative:
                if part.type == "text/plain":
                    html_body = None
                if part.type == "text/html":
                    text_body = None
            if text_body is not None:
                text_body.append(part)
            if html_body is not None:
                html_body.append(part)
            if (text_body is None or html_body is None) and _inline_media(part.type):
                attachments.append(part)
        else:
            attachments.append(part)

    if multipart_type == "alternative" and text_body is not None and html_body is not None:
        # Found HTML part only
        if text_length == len(text_body) and html_length != len(html_body):
            for k in range(html_length, len(html_body)):
                text_body.append(html_body[k])
        # Found plaintext part only
        if html_length == len(html_body) and text_length != len(text_body):
            for k in range(text_length, len(text_body)):
                html_body.append(text_body[k])


def classify(root: BodyPart) -> tuple[list[BodyPart], list[BodyPart], list[BodyPart]]:
    """(textBody, htmlBody, attachments) for a bodyStructure."""
    text_body: list[BodyPart] = []
    html_body: list[BodyPart] = []
    attachments: list[BodyPart] = []
    _parse_structure([root], "mixed", False, html_body, text_body, attachments)
    return text_body, html_body, attachments


def has_attachment(root: BodyPart, attachments: list[BodyPart]) -> bool:
    """Spec SHOULD: an attachment that is not Content-Disposition: inline.

    We also ignore images inside multipart/related that carry a Content-ID and no
    explicit disposition: they are embedded in the HTML, not offered for download.
    """
    related_cids: set[int] = set()
    for p in root.walk():
        if p.type == "multipart/related" and p.sub_parts:
            related_cids.update(id(c) for c in p.sub_parts[1:] if c.cid and c.disposition is None)
    return any(p.disposition != "inline" and id(p) not in related_cids for p in attachments)
