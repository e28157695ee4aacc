"""Smarthost TLS through the plugin's configuration: STARTTLS verified
against ``submission.smarthost.ca_file``, a wrong CA retried as a
temporary failure; and ENVID for relays that offer DSN."""

from __future__ import annotations

from typing import Any

import pytest
from jmapd_submission.models import QueueItem
from jmapd_submission.testing import RecordingRelay

from jmapd.config import ConfigError
from jmapd.db import ensure_connected
from jmapd.testing import wait_for


def tls_config(relay: RecordingRelay, ca_file: Any, **extra: Any) -> dict[str, Any]:
    section = relay.config(**extra)
    section["smarthost"] = {**section["smarthost"], "security": "starttls", "ca_file": str(ca_file)}
    return section


@pytest.fixture
def tls_relay(tmp_path, certificate):
    cert = certificate(tmp_path / "relay")
    relay = RecordingRelay(tls_context=cert.server_context()).start()
    yield relay, cert
    relay.stop()


def test_starttls_verified_with_ca_file(tls_relay, make_server, mailer_for):
    relay, cert = tls_relay
    server = make_server({"submission": tls_config(relay, cert.cert)})
    me = mailer_for(server)
    _, result = me.submit()
    sid = result["created"]["k"]["id"]
    [got] = relay.wait(lambda r: me.tag.encode() in r.content)
    assert got.tls is True  # the relay requires STARTTLS before MAIL anyway
    assert got.rcpt_tos == ["bob@example.net"]
    final = wait_for(lambda: me.get(sid), lambda s: s["undoStatus"] == "final")
    assert final["deliveryStatus"]["bob@example.net"]["delivered"] == "unknown"


def test_wrong_ca_is_a_temporary_failure_that_is_retried(tls_relay, make_server, mailer_for, tmp_path, certificate):
    relay, cert = tls_relay
    other = certificate(tmp_path / "other")  # a CA that did not sign the relay's certificate
    first = make_server({"submission": tls_config(relay, other.cert, retry_base=0.2, retry_cap=0.4)})
    me = mailer_for(first)
    _, result = me.submit()
    sid = result["created"]["k"]["id"]
    ensure_connected()
    item = wait_for(lambda: QueueItem.get(QueueItem.submission_id == sid), lambda i: i.attempts >= 2)
    assert item.attempts >= 2 and item.state in ("queued", "sending")  # retried, not bounced
    status = me.get(sid)
    assert status["undoStatus"] == "pending"
    reply = status["deliveryStatus"]["bob@example.net"]
    assert reply["delivered"] == "queued"
    assert reply["smtpReply"].startswith("421 4.7.0 TLS negotiation with relay failed")
    assert "CERTIFICATE_VERIFY_FAILED" in reply["smtpReply"]
    assert relay.messages() == []
    first.stop()

    # The operator fixes ca_file: the queued message goes out over TLS.
    second = make_server({"submission": tls_config(relay, cert.cert, lease=2)})
    [got] = relay.wait(lambda r: me.tag.encode() in r.content)
    assert got.tls is True
    client = second.client(me.client.user, me.client.password)
    final = wait_for(
        lambda: client.ok("EmailSubmission/get", {"ids": [sid]})["list"][0], lambda s: s["undoStatus"] == "final"
    )
    assert final["deliveryStatus"]["bob@example.net"]["delivered"] == "unknown"


def test_bad_ca_settings_stop_start_up(make_server, tmp_path):
    with pytest.raises(ConfigError, match="submission.smarthost.ca_file: cannot load"):
        make_server({"submission": {"smarthost": {"host": "127.0.0.1", "ca_file": str(tmp_path / "missing.pem")}}})
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    with pytest.raises(ConfigError, match="submission.smarthost.ca_file: cannot load"):
        make_server({"submission": {"smarthost": {"host": "127.0.0.1", "ca_file": str(tmp_path / "ca.pem")}}})
    with pytest.raises(ConfigError, match="only used with security starttls or tls"):
        make_server(
            {"submission": {"smarthost": {"host": "127.0.0.1", "security": "none", "ca_file": str(tmp_path / "ca.pem")}}}
        )


def test_envid_is_the_submission_id_when_the_relay_offers_dsn(make_server, mailer_for):
    relay = RecordingRelay(dsn=True).start()
    try:
        server = make_server({"submission": relay.config()})
        me = mailer_for(server)
        _, result = me.submit()
        sid = result["created"]["k"]["id"]
        [got] = relay.wait(lambda r: me.tag.encode() in r.content)
        assert f"ENVID={sid}" in got.mail_options

        # An ENVID the client chose is sent as it is.
        raw = me.message(subject="own envid " + me.tag)
        envelope = {
            "mailFrom": {"email": me.address, "parameters": {"ENVID": "client+1"}},
            "rcptTo": [{"email": "bob@example.net", "parameters": None}],
        }
        me.submit(raw, envelope=envelope)
        [own] = relay.wait(lambda r: b"own envid " + me.tag.encode() in r.content)
        assert [o for o in own.mail_options if o.upper().startswith("ENVID=")] == ["ENVID=client+2B1"]
    finally:
        relay.stop()


def test_no_envid_without_dsn(relay, sending, mailer_for):
    me = mailer_for(sending())
    me.submit()
    [got] = relay.wait(lambda r: me.tag.encode() in r.content)
    assert not any(o.upper().startswith("ENVID") for o in got.mail_options)
