"""Thread (RFC 8621 §3): derived from the Emails' thread ids; no table of its own."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from jmapd.db import tuples
from jmapd.methods.types import DataType, P

from .. import rights
from ..capability import MAIL
from ..models import Email, EmailMailbox


class ThreadType(DataType):
    name = "Thread"
    capability = MAIL
    id_prefix = "T"
    verbs = ("get", "changes")
    properties = {"emailIds": P("Id[]", server_set=True)}

    def load(self, ctx: Any, account_id: str, ids: list[str] | None, properties: list[str], args: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """emailIds sorted by receivedAt, oldest first (the RFC's order).

        Sorted here, not by ORDER BY: given one, SQLite walks the account's
        receivedAt index (every Email) to avoid sorting a Thread's handful.
        """
        query = Email.select(Email.thread_id, Email.id, Email.received_at, Email.seq).where(Email.account_id == account_id)
        readable = rights.readable(ctx, account_id)
        if readable is not None:  # a sharee: a Thread is the Emails of it they may read
            query = query.where(rights.readable_exists(Email.id, readable))
        if ids is not None:
            if not ids:
                return {}
            query = query.where(Email.thread_id.in_(ids))
        threads: dict[str, list[tuple[Any, int, str]]] = defaultdict(list)
        for thread_id, email_id, received_at, seq in tuples(query):
            threads[thread_id].append((received_at, seq, email_id))
        return {t: {"id": t, "emailIds": [e[2] for e in sorted(rows)]} for t, rows in threads.items()}

    def visible_changes(self, ctx: Any, account_id: str, since: int, changes: Any) -> tuple[list[str], list[str], list[str]]:
        """A sharee's Thread/changes name only Threads with an Email they read."""
        return rights.visible_changes(ctx, account_id, self.name, EmailMailbox.thread_id, since, changes)
