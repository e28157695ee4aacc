"""The role Mailboxes every new account starts with."""

from __future__ import annotations

from typing import Any

from jmapd.models import new_id
from jmapd.state import CREATED, ChangeLog

from . import sql
from .models import Mailbox

DEFAULT_MAILBOXES = (
    ("Inbox", "inbox", 1),
    ("Drafts", "drafts", 2),
    ("Sent", "sent", 3),
    ("Archive", "archive", 4),
    ("Junk", "junk", 5),
    ("Trash", "trash", 6),
)


def create_default_mailboxes(account_id: str) -> list[str]:
    """Create the six role Mailboxes (inside the caller's transaction) and log them,
    so a client syncing from state 0 sees them as created."""
    if Mailbox.select().where(Mailbox.account_id == account_id).exists():
        return []
    changes = ChangeLog()
    ids = []
    for name, role, order in DEFAULT_MAILBOXES:
        mailbox_id = new_id("m")
        Mailbox.insert(id=mailbox_id, account_id=account_id, name=name, role=role, sort_order=order).execute()
        changes.record(account_id, "Mailbox", mailbox_id, CREATED)
        ids.append(mailbox_id)
    changes.flush()
    return ids


def find_mailbox(account_id: str, *, role: str | None = None, name: str | None = None) -> str | None:
    if name is None and role is not None:  # every delivery's inbox: plain SQL (jmapd_mail.sql)
        found = sql.rows("SELECT id FROM mail_mailbox WHERE account_id = ? AND role = ?"
                         " ORDER BY sort_order, id LIMIT 1", (account_id, role.lower()))
        return str(found[0][0]) if found else None
    query = Mailbox.select(Mailbox.id).where(Mailbox.account_id == account_id)
    if role is not None:
        query = query.where(Mailbox.role == role.lower())
    if name is not None:
        query = query.where(Mailbox.name == name)
    row: Any = query.order_by(Mailbox.sort_order, Mailbox.id).first()
    return row.id if row else None
