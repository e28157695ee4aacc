"""The `mail:` section of the YAML configuration."""

from __future__ import annotations

from dataclasses import dataclass

from jmapd.config import doc


@dataclass
class MailConfig:
    max_mailboxes_per_email: int = doc("Most Mailboxes one Email may be in (null in the session = no limit).", 64)
    max_mailbox_depth: int = doc("Deepest allowed Mailbox nesting (1 = top level only).", 10)
    max_size_mailbox_name: int = doc("Longest Mailbox name, in UTF-8 octets.", 255)
    max_size_attachments_per_email: int = doc("Largest total size of attachments on an Email created by Email/set.", 50_000_000)
    max_size_message: int = doc("Largest message accepted by Email/import and delivery, in octets.", 50_000_000)
    default_mailboxes: bool = doc("Create inbox, drafts, sent, trash, junk and archive for new accounts.", True)
    hostname: str | None = doc("Domain of the Message-IDs the server generates (drafts, auto-replies, iMIP) when the sender's domain is missing or localhost-like. Null: this host's FQDN.", None)
    search_max_chars: int = doc("Characters of body text indexed for full-text search per Email.", 1_000_000)
