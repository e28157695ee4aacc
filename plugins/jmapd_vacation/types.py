"""VacationResponse: one document per account, id ``singleton``.

No row exists until the user first changes a setting; until then /get
answers the defaults (disabled), so every account has exactly one object
from the start without an account-creation hook.
"""

from __future__ import annotations

import datetime
from typing import Any

from jmapd.db import plain_rows
from jmapd.methods.documents import DocumentType
from jmapd.methods.types import P
from jmapd.models import Document

VACATION = "urn:ietf:params:jmap:vacationresponse"
SINGLETON = "singleton"

DEFAULTS: dict[str, Any] = {
    "isEnabled": False,
    "fromDate": None,
    "toDate": None,
    "subject": None,
    "textBody": None,
    "htmlBody": None,
}


class VacationResponse(DocumentType):
    name = "VacationResponse"
    capability = VACATION
    singleton = True
    verbs = ("get", "set")
    properties = {
        "isEnabled": P("Boolean", default=False),
        "fromDate": P("UTCDate", nullable=True, default=None),
        "toDate": P("UTCDate", nullable=True, default=None),
        "subject": P("String", nullable=True, default=None),
        "textBody": P("String", nullable=True, default=None),
        "htmlBody": P("String", nullable=True, default=None),
    }

    def load(
        self, ctx: Any, account_id: str, ids: list[str] | None, properties: list[str], args: dict[str, Any]
    ) -> dict[str, dict[str, Any]]:
        if ids is not None and SINGLETON not in ids:
            return {}
        return {SINGLETON: load_settings(account_id)}

    def replace(
        self, ctx: Any, account_id: str, old: dict[str, Any], new: dict[str, Any], changed: set[str]
    ) -> dict[str, Any] | None:
        data = self.stored(new)
        updated = Document.update(data=data).where(
            (Document.account_id == account_id)
            & (Document.type_name == self.name)
            & (Document.object_id == SINGLETON)
        ).execute()
        if not updated:
            Document.insert(account_id=account_id, type_name=self.name, object_id=SINGLETON, data=data).execute()
        return None


def load_settings(account_id: str) -> dict[str, Any]:
    """The account's VacationResponse, defaults filled in.

    NOTE(perf): a plain statement (:func:`jmapd.db.plain_rows`), read fresh
    at every delivery: Peewee's query building and row conversion cost more
    CPU than the lookup (issue #17)."""
    found = plain_rows("SELECT data FROM jmap_document WHERE account_id = ? AND type_name = ? AND object_id = ?",
                       (account_id, VacationResponse.name, SINGLETON))
    obj = {"id": SINGLETON, **DEFAULTS}
    if found:
        data = Document.data.python_value(found[0][0])
        obj.update({k: v for k, v in dict(data).items() if k in DEFAULTS})
    return obj


def utc(value: str | None) -> datetime.datetime | None:
    """A UTCDate as an aware datetime (what the RFC 3834 library compares)."""
    if value is None:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(datetime.UTC)
