"""StateChange / PushVerification objects and the push delivery retry policy.

JMAP push (RFC 8620 §7) only ever says "these states changed"; dropping or
merging notifications is harmless because the client resyncs with /changes.
That is why this module favours coalescing (merge everything pending into
one object, latest state wins) over queueing, and why a delivery that keeps
failing is simply given up: the next change produces a fresh notification.
"""

from __future__ import annotations

import email.utils
import hmac
import json
import random
import secrets
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "MAX_ATTEMPTS",
    "Action",
    "DeliveryOutcome",
    "DeliveryPolicy",
    "coalesce",
    "delivery_backoff",
    "encode",
    "filter_accounts",
    "filter_types",
    "new_verification_code",
    "parse_retry_after",
    "push_verification",
    "state_change",
    "verification_code_matches",
]

StateMap = Mapping[str, Mapping[str, str]]  # accountId -> type name -> state string
StateChange = dict[str, object]

#: Attempts per notification before giving it up (first try included).
MAX_ATTEMPTS = 8


def state_change(changed: StateMap) -> StateChange:
    """Build ``{"@type": "StateChange", "changed": {...}}``, dropping empty accounts.

    Copies the input so later mutation of the caller's dicts cannot alter a
    notification already queued for delivery.
    """
    out: dict[str, dict[str, str]] = {}
    for account_id, types in changed.items():
        if not isinstance(account_id, str) or not account_id:
            raise ValueError("account ids must be non-empty strings")
        entry = {}
        for type_name, state in types.items():
            if not isinstance(type_name, str) or not isinstance(state, str):
                raise ValueError(f"type names and states must be strings (account {account_id})")
            entry[type_name] = state
        if entry:
            out[account_id] = entry
    return {"@type": "StateChange", "changed": out}


def _changed(change: Mapping[str, object]) -> StateMap:
    if change.get("@type") != "StateChange":
        raise ValueError("not a StateChange object")
    changed = change.get("changed")
    if not isinstance(changed, Mapping):
        raise ValueError("StateChange.changed must be an object")
    return changed


def coalesce(changes: Iterable[Mapping[str, object]]) -> StateChange | None:
    """Merge StateChanges in arrival order; a later state for the same type wins.

    Returns None when there is nothing to push.  Used to fold everything that
    accumulated while a subscriber was rate-limited (429) or busy into one
    notification, as RFC 8620 §7.2 intends.
    """
    merged: dict[str, dict[str, str]] = {}
    for change in changes:
        for account_id, types in _changed(change).items():
            merged.setdefault(account_id, {}).update(types)
    result = state_change(merged)
    return result if result["changed"] else None


def filter_types(change: Mapping[str, object], types: Collection[str] | None) -> StateChange | None:
    """Keep only the subscribed types (``None`` = all); None if nothing remains.

    PushSubscription.types: "A StateChange notification will only be sent if
    the data for one of these types changes. Other types are omitted."
    """
    changed = _changed(change)
    if types is None:
        result = state_change(changed)
    else:
        wanted = frozenset(types)
        result = state_change(
            {acc: {t: s for t, s in ts.items() if t in wanted} for acc, ts in changed.items()}
        )
    return result if result["changed"] else None


def filter_accounts(
    change: Mapping[str, object], account_ids: Collection[str]
) -> StateChange | None:
    """Keep only accounts the subscriber may currently see; None if nothing remains.

    Access can be revoked while a notification is queued, so check at send time.
    """
    allowed = frozenset(account_ids)
    result = state_change({a: t for a, t in _changed(change).items() if a in allowed})
    return result if result["changed"] else None


def push_verification(push_subscription_id: str, verification_code: str) -> dict[str, str]:
    """The PushVerification object POSTed once when a subscription is created."""
    if not push_subscription_id or not verification_code:
        raise ValueError("push subscription id and verification code are required")
    return {
        "@type": "PushVerification",
        "pushSubscriptionId": push_subscription_id,
        "verificationCode": verification_code,
    }


def new_verification_code() -> str:
    """128 random bits as 32 hex digits: the RFC requires brute-force resistance."""
    return secrets.token_hex(16)


def verification_code_matches(expected: str | None, given: object) -> bool:
    """Constant-time comparison, so response timing leaks nothing about the code."""
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def encode(obj: Mapping[str, object]) -> bytes:
    """Compact UTF-8 JSON body for a push POST (and the plaintext for RFC 8291)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --- delivery policy ----------------------------------------------------------


def delivery_backoff(
    attempt: int,
    *,
    base: float = 10.0,
    cap: float = 3600.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Exponential (base, 2*base, 4*base, ... capped) with jitter in the upper
    half of the interval: jitter stops many subscriptions on one failing
    push service from retrying in lockstep, while the lower bound still
    guarantees the delay actually grows.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    ceiling: float = min(cap, base * (2 ** min(attempt - 1, 32)))
    r = rng.random() if rng is not None else random.random()
    return ceiling / 2 + r * ceiling / 2


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds from now (delta-seconds or HTTP-date); None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Action(Enum):
    DONE = "done"  # delivered
    RETRY = "retry"  # try again after ``delay``
    DROP = "drop"  # give up on this notification; the subscription stays
    DESTROY = "destroy"  # the push endpoint is gone: destroy the subscription


@dataclass(frozen=True)
class DeliveryOutcome:
    action: Action
    delay: float | None = None  # seconds, for RETRY
    reason: str = ""


@dataclass(frozen=True)
class DeliveryPolicy:
    """How to react to a push POST result.

    ``status`` None means a transport failure (connect error, timeout, TLS).
    Redirects are not followed (a 3xx could point at an internal address
    and would bypass the SSRF check) and count as permanent for the message.
    """

    max_attempts: int = MAX_ATTEMPTS
    base_delay: float = 10.0
    max_delay: float = 3600.0
    max_retry_after: float = 86400.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if not 0 < self.base_delay <= self.max_delay:
            raise ValueError("need 0 < base_delay <= max_delay")

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        return delivery_backoff(attempt, base=self.base_delay, cap=self.max_delay, rng=rng)

    def decide(
        self,
        status: int | None,
        attempt: int,
        *,
        retry_after: str | None = None,
        now: float | None = None,
        rng: random.Random | None = None,
    ) -> DeliveryOutcome:
        """Outcome of attempt number ``attempt`` (1-based) that got ``status``."""
        if status is not None and 200 <= status < 300:
            return DeliveryOutcome(Action.DONE, reason=f"HTTP {status}")
        if status in (404, 410):
            # RFC 8030 §7.3 / push services: the subscription no longer exists.
            return DeliveryOutcome(Action.DESTROY, reason=f"push endpoint gone (HTTP {status})")
        if status is None:
            retryable, reason = True, "transport error"
        elif status == 429:
            retryable, reason = True, "rate limited (HTTP 429)"
        elif status in (408, 425) or status >= 500:
            retryable, reason = True, f"HTTP {status}"
        elif 300 <= status < 400:
            retryable, reason = False, f"redirect not followed (HTTP {status})"
        else:
            retryable, reason = False, f"rejected (HTTP {status})"
        if not retryable:
            return DeliveryOutcome(Action.DROP, reason=reason)
        if attempt >= self.max_attempts:
            return DeliveryOutcome(
                Action.DROP, reason=f"{reason}; gave up after {attempt} attempts"
            )
        delay = self.backoff(attempt, rng)
        hinted = parse_retry_after(retry_after, now=now) if status in (429, 503) else None
        if hinted is not None:
            # Never retry sooner than asked (RFC 8620: 429 MUST reduce frequency).
            delay = max(delay, min(hinted, self.max_retry_after))
        return DeliveryOutcome(Action.RETRY, delay=delay, reason=reason)
