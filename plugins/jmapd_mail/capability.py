"""The mail capability URN and its session and account capability objects."""

from __future__ import annotations

from typing import Any

MAIL = "urn:ietf:params:jmap:mail"
#: draft-ietf-jmap-mail-sharing: Mailbox shareWith and the mayShare right.
MAIL_SHARE = "urn:ietf:params:jmap:mail:share"
CORE = "urn:ietf:params:jmap:core"

#: Sort properties Email/query supports (also advertised as emailQuerySortOptions).
EMAIL_SORTS = (
    "receivedAt", "sentAt", "size", "from", "to", "subject",
    "hasKeyword", "allInThreadHaveKeyword", "someInThreadHaveKeyword",
)


def mail_config(config: Any) -> Any:
    """The validated `mail:` section (one accessor so defaults live in config.py)."""
    return config.section("mail")


def account_capability(config: Any) -> dict[str, Any]:
    """The per-account object (RFC 8621 §1.3.1); identical for every account we host."""
    section = mail_config(config)
    return {
        "maxMailboxesPerEmail": section.max_mailboxes_per_email,
        "maxMailboxDepth": section.max_mailbox_depth,
        "maxSizeMailboxName": section.max_size_mailbox_name,
        "maxSizeAttachmentsPerEmail": section.max_size_attachments_per_email,
        "emailQuerySortOptions": list(EMAIL_SORTS),
        "mayCreateTopLevelMailbox": True,
    }
