"""The read-only view of a message and its envelope the tests look at."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import default
from email.utils import getaddresses


class MessageView:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.msg: EmailMessage = message_from_bytes(raw, policy=default)
        self.size = len(raw)

    def headers(self, name: str) -> list[str]:
        try:
            values = self.msg.get_all(name) or []
            return [str(v).replace("\r\n", "").replace("\n", "") for v in values]
        except Exception:  # a malformed header is read as absent
            return []

    def addresses(self, name: str) -> list[str]:
        out: list[str] = []
        for value in self.headers(name):
            for _, addr in getaddresses([value]):
                out.append(addr)
        return out

    def body_texts(self, transform: str, types: list[str]) -> list[str]:
        """RFC 5173: ``:raw`` the undecoded body, ``:text`` the text parts,
        ``:content`` the parts whose type matches one of ``types``."""
        if transform == ":raw":
            sep = self.raw.find(b"\r\n\r\n")
            cut = sep + 4 if sep >= 0 else self.raw.find(b"\n\n") + 2
            return [self.raw[cut:].decode("utf-8", "replace")] if cut > 1 else [""]
        if transform == ":text":
            types = ["text"]
        out: list[str] = []
        for part in self.msg.walk():
            ctype = part.get_content_type().lower()
            if not any(_type_matches(ctype, t) for t in types):
                continue
            if part.is_multipart():
                continue
            out.append(_text_of(part))
        return out


def _type_matches(ctype: str, want: str) -> bool:
    want = want.lower()
    if want == "":
        return True
    return ctype == want if "/" in want else ctype.split("/")[0] == want


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")
