"""Thread (RFC 8621 §3): derived from the Emails' thread ids; no table of its own."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from jmapd.methods.types import DataType, P

from ..capability import MAIL
from ..models import Email


class ThreadType(DataType):
    name = "Thread"
    capability = MAIL
    id_prefix = "T"
    verbs = ("get", "changes")
    properties = {"emailIds": P("Id[]", server_set=True)}

    def load(self, ctx: Any, account_id: str, ids: list[str] | None, properties: list[str], args: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """emailIds sorted by receivedAt, oldest first (the RFC's order)."""
        query = Email.select(Email.thread_id, Email.id).where(Email.account_id == account_id)
        if ids is not None:
            if not ids:
                return {}
            query = query.where(Email.thread_id.in_(ids))
        threads: dict[str, list[str]] = defaultdict(list)
        for thread_id, email_id in query.order_by(Email.received_at, Email.seq).tuples():
            threads[thread_id].append(email_id)
        return {t: {"id": t, "emailIds": e} for t, e in threads.items()}
