"""A recording SMTP relay and a server whose smarthost it is."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jmapd_submission.testing import RecordingRelay

SUBMISSION = "urn:ietf:params:jmap:submission"


@pytest.fixture
def relay() -> Iterator[RecordingRelay]:
    server = RecordingRelay().start()
    yield server
    server.stop()


@pytest.fixture
def sending(relay: RecordingRelay, make_server: Any) -> Any:
    """``sending(**submission_config) -> server`` relaying to ``relay``."""

    def start(**extra: Any) -> Any:
        return make_server({"submission": relay.config(**extra)})

    return start


class Mailer:
    """A user of a sending server: stores messages and submits them."""

    def __init__(self, server: Any, client: Any) -> None:
        self.server = server
        self.client = client
        self.tag = uuid.uuid4().hex[:8]

    @property
    def address(self) -> str:
        return f"{self.client.user}@localhost"

    def identity(self) -> dict[str, Any]:
        return self.client.ok("Identity/get")["list"][0]

    def message(self, *, to: str = "bob@example.net", extra: str = "", sender: str | None = None, subject: str | None = None) -> bytes:
        return (
            f"From: Me <{sender or self.address}>\r\n"
            f"To: {to}\r\n"
            f"{extra}"
            f"Subject: {subject or 'test ' + self.tag}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@localhost>\r\n"
            "\r\n"
            "Hello there.\r\n"
        ).encode()

    def store(self, raw: bytes) -> str:
        from jmapd_mail.api import deliver

        return deliver(self.server.services, self.client.account_id, raw, mailbox_role="drafts")

    def submit(self, raw: bytes | None = None, **create: Any) -> tuple[str, dict[str, Any]]:
        """(email id, EmailSubmission/set response) for one create ``k``."""
        email_id = create.pop("emailId", None) or self.store(raw or self.message())
        obj = {"identityId": self.identity()["id"], "emailId": email_id, **create}
        return email_id, self.client.ok("EmailSubmission/set", {"create": {"k": obj}})

    def get(self, submission_id: str) -> dict[str, Any]:
        return self.client.ok("EmailSubmission/get", {"ids": [submission_id]})["list"][0]


@pytest.fixture
def mailer_for() -> Any:
    def make(server: Any, client: Any = None) -> Mailer:
        return Mailer(server, client or server.client())

    return make
