"""The operator's view of the outbound queue: list, show, retry, delete.

Every change uses the same state guards as the worker (a row being relayed
is never touched), so an operator and a worker cannot both act on a row;
an EmailSubmission whose row is deleted tells its client so (undoStatus,
deliveryStatus) through the change log like any other change.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any

import peewee as pw

from jmapd.db import write_transaction
from jmapd.models import Account, Document, User, now
from jmapd.state import UPDATED, ChangeLog

from .models import CANCELED, DONE, QUEUED, SENDING, QueueItem
from .wakeup import announce

REMOVED_REPLY = "554 5.0.0 Removed from the queue by the server's administrator"
PENDING = (QUEUED, SENDING)


@dataclass
class Row:
    """A queue row with its owner's name, for display."""

    item: QueueItem
    user: str | None


def rows(include_finished: bool = False, user: str | None = None, item_id: int | None = None) -> list[Row]:
    """Rows still to send (or every row), oldest due first."""
    query = (
        QueueItem.select(QueueItem, User.name)
        .join(Account, on=(Account.id == QueueItem.account_id), join_type=pw.JOIN.LEFT_OUTER)
        .join(User, on=(Account.owner == User.id), join_type=pw.JOIN.LEFT_OUTER)
        .order_by(QueueItem.due, QueueItem.id)
    )
    if not include_finished:
        query = query.where(QueueItem.state.in_(PENDING))
    if user is not None:
        query = query.where(User.name == user)
    if item_id is not None:
        query = query.where(QueueItem.id == item_id)
    return [Row(item, _user_name(item)) for item in query.objects()]


def _user_name(item: Any) -> str | None:
    name = getattr(item, "name", None)  # User.name, attached by .objects()
    return str(name) if name is not None else None


def get(item_id: int) -> Row | None:
    found = rows(include_finished=True, item_id=item_id)
    return found[0] if found else None


def headers(message: bytes) -> dict[str, str]:
    """The headers an operator recognises a message by."""
    parsed = BytesHeaderParser(policy=default_policy).parsebytes(message)
    return {name: str(parsed[name]) for name in ("Message-ID", "Date", "From", "To", "Subject") if parsed[name]}


def retry(item_ids: list[int] | None) -> list[int]:
    """Make waiting rows due now (all waiting rows when ``item_ids`` is None);
    the ids that were. Every runner is woken (on PostgreSQL by this
    statement's NOTIFY; on SQLite the caller signals, see :func:`.queue.wake`)."""
    current = now()
    where = (QueueItem.state == QUEUED) & (QueueItem.due > current)
    if item_ids is not None:
        where &= QueueItem.id.in_(item_ids)
    ids = [item.id for item in QueueItem.select(QueueItem.id).where(where)]
    if ids:
        QueueItem.update(due=current).where(QueueItem.id.in_(ids) & (QueueItem.state == QUEUED)).execute()
        announce()
    return ids


class Busy(Exception):
    """The row is being relayed right now."""


def delete(item_id: int) -> tuple[str, ChangeLog] | None:
    """Remove one row: a waiting one is canceled (its message bytes dropped
    at once, its EmailSubmission told), a finished one deleted. None if
    there is no such row.

    :raises Busy: when a worker holds the row.
    """
    item = QueueItem.get_or_none(QueueItem.id == item_id)
    if item is None:
        return None
    changes = ChangeLog()
    if item.state in (DONE, CANCELED):
        QueueItem.delete().where((QueueItem.id == item_id) & QueueItem.state.in_([DONE, CANCELED])).execute()
        return "deleted", changes
    with write_transaction(item.account_id):
        won = (
            QueueItem.update(state=CANCELED, finished_at=now(), message=b"", last_reply=REMOVED_REPLY)
            .where((QueueItem.id == item_id) & (QueueItem.state == QUEUED))
            .execute()
        )
        if not won:
            raise Busy(item_id)
        if item.submission_id:
            _tell_submission(item, changes)
        changes.flush()
    return "canceled", changes


def _tell_submission(item: QueueItem, changes: ChangeLog) -> None:
    row = Document.get_or_none(
        (Document.account_id == item.account_id)
        & (Document.type_name == "EmailSubmission")
        & (Document.object_id == item.submission_id)
    )
    if row is None:
        return  # the client destroyed the record; nothing to tell
    data = dict(row.data)
    status = dict(data.get("deliveryStatus") or {})
    for rcpt in item.rcpt_to:
        status[rcpt["email"]] = {"smtpReply": REMOVED_REPLY, "delivered": "no", "displayed": "unknown"}
    data["deliveryStatus"] = status
    if data.get("undoStatus") == "pending":
        data["undoStatus"] = "canceled"  # nobody received it
    Document.update(data=data).where(Document.id == row.id).execute()
    changes.record(item.account_id, "EmailSubmission", str(item.submission_id), UPDATED, ["deliveryStatus", "undoStatus"])


def age(value: datetime.datetime | None) -> str:
    """``value`` relative to now, as ``in 5m`` or ``2h ago``."""
    if value is None:
        return "-"
    seconds = (value - now()).total_seconds()
    text = _span(abs(seconds))
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
