"""RFC 9219 §4 on Email: the four properties and the three filter conditions.

The status at delivery is computed once, when the Email is stored, and kept
in ``smime_email``; the current status is computed when asked for and kept
in this process for ``smime.cache_seconds`` (RFC 9219 allows caching, and
``smimeVerifiedAt`` says when it was computed). Only Emails with a row are
S/MIME messages, so list views of ordinary mail read no blob.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections import OrderedDict
from typing import Any

from jmapd.db import tuples
from jmapd.methods.types import P
from jmapd.models import now

from .config import SmimeConfig
from .domain.mime import looks_signed
from .domain.verify import VERIFIED_STATUSES, Verdict, verify
from .models import SmimeEmail
from .trust import trust_store

log = logging.getLogger("jmapd.smime")

PROPERTIES = {
    "smimeStatus": P("String", nullable=True, server_set=True),
    "smimeStatusAtDelivery": P("String", nullable=True, server_set=True, immutable=True),
    "smimeErrors": P("String[]", nullable=True, server_set=True),
    "smimeVerifiedAt": P("UTCDate", nullable=True, server_set=True),
}
FILTERS = {"hasSmime": "Boolean", "hasVerifiedSmime": "Boolean", "hasVerifiedSmimeAtDelivery": "Boolean"}
#: Its matches move with time and trust anchors, with no Email change to report.
CHANGING_FILTERS = frozenset({"hasVerifiedSmime"})
#: Current verdicts kept per process (an LRU).
CACHE_SIZE = 10_000


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value.replace(tzinfo=datetime.UTC) if value.tzinfo is None else value.astimezone(datetime.UTC)


def _format(value: datetime.datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


class CurrentStatus:
    """The current verdict of a message, verified at most once per
    ``cache_seconds`` (keyed by blob and trust anchors)."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[str, str], tuple[Verdict, datetime.datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, services: Any, account_id: str, blob_id: str) -> tuple[Verdict, datetime.datetime]:
        trust = trust_store(services)
        key = (blob_id, trust.fingerprint)
        ttl = datetime.timedelta(seconds=services.config.section(SmimeConfig).cache_seconds)
        at = _utc(now())
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and at - hit[1] < ttl:
                self._cache.move_to_end(key)
                return hit
        raw = services.blobs.read(blob_id)
        verdict = verify(raw, trust, at) if raw is not None else Verdict(None)
        with self._lock:
            self._cache[key] = (verdict, at)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return verdict, at


CURRENT = CurrentStatus()


def _rows(account_id: str, email_ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for start in range(0, len(email_ids), 500):
        query = SmimeEmail.select(SmimeEmail.email_id, SmimeEmail.status_at_delivery).where(
            (SmimeEmail.account_id == account_id) & SmimeEmail.email_id.in_(email_ids[start:start + 500]))
        out.update((str(e), str(s)) for e, s in tuples(query))
    return out


def load(ctx: Any, account_id: str, emails: list[dict[str, Any]], properties: list[str]) -> dict[str, dict[str, Any]]:
    """The requested S/MIME properties of the Emails an Email/get found."""
    recorded = _rows(account_id, [e["id"] for e in emails])
    current = {"smimeStatus", "smimeErrors", "smimeVerifiedAt"} & set(properties)
    out: dict[str, dict[str, Any]] = {}
    for email in emails:
        values: dict[str, Any] = dict.fromkeys(properties)
        at_delivery = recorded.get(email["id"])
        if "smimeStatusAtDelivery" in properties:
            values["smimeStatusAtDelivery"] = at_delivery
        if at_delivery is not None and current:
            verdict, at = CURRENT.get(ctx.services, account_id, email["blobId"])
            attempted = verdict.status not in (None, "unknown")
            values["smimeStatus"] = verdict.status
            values["smimeErrors"] = list(verdict.errors) if attempted and verdict.errors else None
            values["smimeVerifiedAt"] = _format(at) if attempted else None
        out[email["id"]] = values
    return out


def _verified_now(services: Any, account_id: str) -> list[str]:
    """The account's Emails whose current status is verified (RFC 9219 §4.2 hasVerifiedSmime)."""
    from jmapd_mail.api import email_blob_ids

    query = SmimeEmail.select(SmimeEmail.email_id).where(SmimeEmail.account_id == account_id)
    blobs = email_blob_ids(account_id, [str(e) for (e,) in tuples(query)])
    return [email_id for email_id, blob_id in blobs.items()
            if CURRENT.get(services, account_id, blob_id)[0].status in VERIFIED_STATUSES]


def condition(ctx: Any, account_id: str, name: str, value: bool, email_id: Any) -> Any:
    """The SQL condition of one S/MIME filter condition on the Email id column."""
    rows = SmimeEmail.select(SmimeEmail.email_id).where(SmimeEmail.account_id == account_id)
    matching: Any
    if name == "hasSmime":
        matching = rows
    elif name == "hasVerifiedSmimeAtDelivery":
        matching = rows.where(SmimeEmail.status_at_delivery.in_(sorted(VERIFIED_STATUSES)))
    else:
        matching = _verified_now(ctx.services, account_id) or [""]
    return email_id.in_(matching) if value else email_id.not_in(matching)


def stored(services: Any, account_id: str, email_id: str, raw: bytes, received_at: datetime.datetime) -> None:
    """Record the status at delivery of a new Email (in its write transaction)."""
    if not looks_signed(raw):
        return
    try:
        verdict = verify(raw, trust_store(services), _utc(now()), delivered_at=_utc(received_at))
    except Exception:  # a verification bug must not lose the message: it is stored without a status
        log.exception("S/MIME verification of %s in %s failed", email_id, account_id)
        return
    if verdict.status is None:
        return
    SmimeEmail.insert(email_id=email_id, account_id=account_id, status_at_delivery=verdict.status,
                      recorded_at=now()).on_conflict_ignore().execute()


def destroyed(services: Any, account_id: str, email_id: str) -> None:
    SmimeEmail.delete().where((SmimeEmail.account_id == account_id) & (SmimeEmail.email_id == email_id)).execute()
