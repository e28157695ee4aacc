"""Fixtures and helpers shared by the mail tests."""

from __future__ import annotations

from typing import Any

import pytest

MAIL = "urn:ietf:params:jmap:mail"
USING = ["urn:ietf:params:jmap:core", MAIL]


def _make_message(
    subject: str = "Hello",
    *,
    frm: str = "Alice <alice@example.com>",
    to: str = "Bob <bob@example.org>",
    body: str = "Hi Bob,\r\nhow are you?\r\n",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    date: str = "Tue, 01 Jun 2021 10:00:00 +0200",
    extra: str = "",
) -> bytes:
    """A small well-formed RFC 5322 message."""
    lines = [f"From: {frm}", f"To: {to}", f"Subject: {subject}", f"Date: {date}"]
    if message_id:
        lines.append(f"Message-ID: <{message_id}>")
    if in_reply_to:
        lines.append(f"In-Reply-To: <{in_reply_to}>")
    if references:
        lines.append(f"References: {references}")
    lines.append("MIME-Version: 1.0")
    lines.append("Content-Type: text/plain; charset=utf-8")
    if extra:
        lines.append(extra.rstrip("\r\n"))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8")


class MailHelper:
    """Mailbox lookups and delivery for one test client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def mailboxes(self) -> dict[str, dict[str, Any]]:
        got = self.client.ok("Mailbox/get", {"ids": None})
        return {m["role"] or m["name"]: m for m in got["list"]}

    def role(self, role: str) -> str:
        return str(self.mailboxes()[role]["id"])

    def deliver(self, raw: bytes, **kwargs: Any) -> str:
        from jmapd_mail.api import deliver

        return deliver(self.client.server.services, self.client.account_id, raw, **kwargs)

    def import_(self, raw: bytes, mailbox: str = "inbox", keywords: dict[str, bool] | None = None, **extra: Any) -> dict[str, Any]:
        blob = self.client.upload(raw, "message/rfc822")["blobId"]
        mailbox_id = self.role(mailbox) if mailbox in self.mailboxes() else mailbox
        resp = self.client.ok(
            "Email/import",
            {"emails": {"k": {"blobId": blob, "mailboxIds": {mailbox_id: True}, "keywords": keywords or {}, **extra}}},
        )
        assert resp["created"] and "k" in resp["created"], resp
        return dict(resp["created"]["k"])


@pytest.fixture
def mail(client: Any) -> MailHelper:
    return MailHelper(client)


@pytest.fixture
def make_message():
    """``make_message(subject, frm=..., to=..., body=..., message_id=..., ...) -> bytes``."""
    return _make_message
