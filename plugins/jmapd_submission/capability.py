"""URNs and the capability objects of the submission plugin."""

from __future__ import annotations

import datetime
from typing import Any

SUBMISSION = "urn:ietf:params:jmap:submission"
MAIL = "urn:ietf:params:jmap:mail"


def account_value(config: Any) -> dict[str, Any]:
    """The account capability object (RFC 8621 §1.3.2).

    FUTURERELEASE (RFC 4865) is advertised with both of its EHLO arguments,
    the interval and the latest date-time, so a client may use either
    HOLDFOR or HOLDUNTIL; SIZE tells it what ``tooLarge`` will refuse.
    """
    section = config.section("submission")
    extensions: dict[str, list[str]] = {"SIZE": [str(section.max_message_size)]}
    if section.max_delayed_send > 0:
        latest = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=section.max_delayed_send)
        extensions["FUTURERELEASE"] = [str(section.max_delayed_send), latest.strftime("%Y-%m-%dT%H:%M:%SZ")]
    return {"maxDelayedSend": section.max_delayed_send, "submissionExtensions": extensions}
