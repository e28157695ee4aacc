"""A local recipient over quota (RFC 9425): the submission's local delivery
is refused for that recipient alone with 552 5.2.2, final (not retried),
nothing stored; the other local recipient still gets the message."""

from __future__ import annotations

import uuid

from jmapd.testing import wait_for


def limit(account_id: str, octets: int) -> None:
    from jmapd import quota
    from jmapd.db import ensure_connected, write_transaction
    from jmapd.state import ChangeLog

    ensure_connected()
    log = ChangeLog()
    with write_transaction(account_id):
        quota.set_limit(log, account_id, "octets", "", octets)
        log.flush()


def test_local_recipient_over_quota_is_552_and_final(make_server, mailer_for):
    server = make_server({})
    alice = mailer_for(server)
    full, roomy = server.client(), server.client()
    limit(full.account_id, 100)  # smaller than any message
    to_full, to_roomy = f"{full.user}@localhost", f"{roomy.user}@localhost"
    subject = f"quota {uuid.uuid4().hex[:8]}"
    raw = alice.message(to=f"{to_full}, {to_roomy}", subject=subject)
    created = alice.submit(raw)[1]["created"]["k"]["id"]
    status = wait_for(
        lambda: alice.get(created)["deliveryStatus"],
        lambda s: all((s or {}).get(a, {}).get("delivered") not in (None, "queued") for a in (to_full, to_roomy)),
    )
    assert status[to_roomy]["delivered"] == "yes"
    assert status[to_full]["delivered"] == "no" and status[to_full]["smtpReply"].startswith("552 5.2.2"), status
    assert full.ok("Email/query", {})["ids"] == []
    assert len(roomy.ok("Email/query", {"filter": {"subject": subject}})["ids"]) == 1
