"""Threading helpers: RFC 5256 base subjects and the message-ids a message links to.

JMAP leaves the threading algorithm to the server; the usual practice (and
ours) is: join a thread when a related message-id matches AND the base
subjects agree, which stops unrelated replies to stale mails from merging.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

# subj-refwd per RFC 5256, plus common localised reply/forward prefixes
# (AW/WG German, SV/VS Nordic, RIF/R Italian, TR French, ODP Polish, ANTW Dutch, RES/ENC Portuguese).
_REFWD = r"(?:re|fwd?|aw|wg|sv|vs|rif|r|tr|odp|antw|res|enc|ynt|fs)"
_BLOB = r"\[[^\[\]]*\]"
MAX_SUBJECT = 4096
_LEADER_RE = re.compile(rf"(?:(?:{_BLOB}\s*)*{_REFWD}\s*(?:{_BLOB})?\s*:\s*|\s+)", re.IGNORECASE)
_BLOB_RE = re.compile(rf"{_BLOB}\s*")
_TRAILER_RE = re.compile(r"(?:\s|\(fwd\))+$", re.IGNORECASE)
_FWD_WRAP_RE = re.compile(r"^\[fwd:(.*)\]$", re.IGNORECASE | re.DOTALL)


def base_subject(subject: str | None) -> str:
    """RFC 5256 §2.1 base subject (already-decoded input), case preserved.

    Compare with `subject_key`, which also case-folds; both are total functions
    (None and garbage give "").
    """
    if not subject:
        return ""
    # Only the head matters for threading; the cap keeps hostile subjects cheap.
    s = " ".join(unicodedata.normalize("NFC", subject[:MAX_SUBJECT]).split())
    while True:
        # (2) strip trailers
        s = _TRAILER_RE.sub("", s)
        pos = 0
        while True:
            # (3) strip leaders repeatedly, (4)-(5) drop a leading blob if something remains
            m = _LEADER_RE.match(s, pos)
            while m and m.end() > pos:
                pos = m.end()
                m = _LEADER_RE.match(s, pos)
            b = _BLOB_RE.match(s, pos)
            if b and s[b.end():].strip():
                pos = b.end()
                continue
            break
        s = s[pos:]
        # (6) [fwd: ...] wrapper
        m = _FWD_WRAP_RE.match(s)
        if not m:
            return s.strip()
        s = m.group(1).strip()


def subject_key(subject: str | None) -> str:
    """Case-insensitive comparison key of the base subject."""
    return base_subject(subject).casefold()


def related_message_ids(
    message_id: Iterable[str] | None,
    in_reply_to: Iterable[str] | None = None,
    references: Iterable[str] | None = None,
) -> list[str]:
    """Every distinct id a message is linked by, own ids first (order kept, duplicates dropped).

    Takes the JMAP messageId/inReplyTo/references values (lists or null).
    """
    out: dict[str, None] = {}
    for ids in (message_id, in_reply_to, references):
        for mid in ids or ():
            mid = mid.strip()
            if mid:
                out[mid] = None
    return list(out)


def thread_ids_of(props: dict[str, Any]) -> list[str]:
    """related_message_ids() for a ParsedMessage.props (or Email JSON) dict."""
    return related_message_ids(props.get("messageId"), props.get("inReplyTo"), props.get("references"))


def same_thread_subject(a: str | None, b: str | None) -> bool:
    """Whether two subjects are compatible for joining one thread (empty matches anything)."""
    ka, kb = subject_key(a), subject_key(b)
    return not ka or not kb or ka == kb
