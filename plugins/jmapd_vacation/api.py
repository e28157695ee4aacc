"""The in-process API other plugins use (the sieve plugin's vacation action).

An auto-reply under the same RFC 3834 rules and the same per-sender log as
the VacationResponse, so the two never answer one sender twice in a period.
"""

from __future__ import annotations

import datetime
from typing import Any

from .autoreply import VacationSettings
from .responder import send_reply


def auto_reply(
    services: Any,
    account_id: str,
    raw: bytes,
    mail_from: str,
    *,
    text: str,
    subject: str | None = None,
    html: str | None = None,
    period: datetime.timedelta,
    from_address: str | None = None,
    addresses: tuple[str, ...] = (),
) -> str:
    """Queue a reply to ``mail_from`` (the envelope sender) if RFC 3834
    allows one; returns why (``reply`` when one was queued).

    :param period: how long a sender who got a reply from this account (by
        this function or by the VacationResponse) waits for the next one.
    :param addresses: more addresses that are the user's (Sieve ``:addresses``).
    :param from_address: the reply's From instead of the address the message
        was sent to (Sieve ``:from``).
    """
    settings = VacationSettings(is_enabled=True, subject=subject, text_body=text, html_body=html)
    return send_reply(services, account_id, raw, mail_from, settings, period,
                      more_addresses=addresses, from_address=from_address)


__all__ = ["auto_reply"]
