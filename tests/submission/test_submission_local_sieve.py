"""A local recipient's Sieve script runs on mail submitted on this server:
reject is final for that recipient (550 5.7.1, not retried, nothing stored),
fileinto files it; the other recipient is unaffected."""

from __future__ import annotations

import uuid

from jmapd.testing import wait_for

SIEVE = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:sieve"]


def activate(client, script: str) -> None:
    blob = client.upload(script.encode(), "application/sieve")["blobId"]
    done = client.ok("SieveScript/set", {"create": {"s": {"name": "r", "blobId": blob}},
                                         "onSuccessActivateScript": "#s"}, SIEVE)
    assert done["created"]["s"]["isActive"] is True


def test_local_recipients_scripts_run_on_submissions(make_server, mailer_for):
    server = make_server({})
    alice = mailer_for(server)
    picky, filer = server.client(), server.client()
    activate(picky, 'require "reject"; reject "Not from you.";')
    activate(filer, 'require ["fileinto", "mailbox"]; fileinto :create "From colleagues";')
    to_picky, to_filer = f"{picky.user}@localhost", f"{filer.user}@localhost"
    subject = f"sieve {uuid.uuid4().hex[:8]}"
    created = alice.submit(alice.message(to=f"{to_picky}, {to_filer}", subject=subject))[1]["created"]["k"]["id"]
    status = wait_for(
        lambda: alice.get(created)["deliveryStatus"],
        lambda s: all((s or {}).get(a, {}).get("delivered") not in (None, "queued") for a in (to_picky, to_filer)),
    )
    assert status[to_picky]["delivered"] == "no" and status[to_picky]["smtpReply"] == "550 5.7.1 Not from you."
    assert status[to_filer]["delivered"] == "yes"
    assert picky.ok("Email/query", {})["ids"] == []
    [email_id] = filer.ok("Email/query", {"filter": {"subject": subject}})["ids"]
    [box] = filer.ok("Email/get", {"ids": [email_id], "properties": ["mailboxIds"]})["list"][0]["mailboxIds"]
    assert filer.ok("Mailbox/get", {"ids": [box]})["list"][0]["name"] == "From colleagues"
