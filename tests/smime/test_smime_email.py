"""RFC 9219 over HTTP and through real LMTP: the capability, the four Email
properties, the three Email/query conditions, on a server whose only trust
anchor is the test root."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from jmapd_smime.testing import (
    BODY,
    DAY,
    NOW,
    detached,
    headers,
    multipart_signed,
    opaque,
    signed_data_at,
    wrap_opaque,
)

SMIME = "urn:ietf:params:jmap:smimeverify"
USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", SMIME]
PROPS = ["subject", "smimeStatus", "smimeStatusAtDelivery", "smimeErrors", "smimeVerifiedAt"]


@pytest.fixture
def server(make_server, pki, tmp_path):
    bundle = tmp_path / "anchors.pem"
    bundle.write_bytes(pki.bundle())
    return make_server({"smime": {"system_trust": False, "ca_file": str(bundle)}})


def inbox(client) -> str:
    return client.ok("Mailbox/query", {"filter": {"role": "inbox"}})["ids"][0]


def import_(client, raw: bytes, received_at: str | None = None) -> str:
    blob = client.upload(raw, "message/rfc822")["blobId"]
    item = {"blobId": blob, "mailboxIds": {inbox(client): True}}
    if received_at:
        item["receivedAt"] = received_at
    out = client.ok("Email/import", {"emails": {"k": item}}, USING)
    assert "k" in (out.get("created") or {}), out
    return out["created"]["k"]["id"]


def get(client, ids, props=PROPS):
    return {e["id"]: e for e in client.ok("Email/get", {"ids": ids, "properties": props}, USING)["list"]}


def query(client, condition) -> set[str]:
    return set(client.ok("Email/query", {"filter": condition}, USING)["ids"])


def utc(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_capability_in_session_and_account(server):
    client = server.client()
    session = client.session
    assert session["capabilities"][SMIME] == {}
    assert session["accounts"][client.account_id]["accountCapabilities"][SMIME] == {}


def test_statuses_over_http(server, pki):
    client = server.client()
    chain = (pki.intermediate.cert,)
    ids = {
        "valid detached": import_(client, detached(pki.alice, "Alice <alice@example.org>", "valid detached", extra=chain)),
        "valid opaque": import_(client, opaque(pki.alice_subject, "alice@example.org", "valid opaque")),
        "expired": import_(client, detached(pki.expired, "carol@example.org", "expired")),
        "wrong signer": import_(client, detached(pki.alice, "Bob <bob@example.org>", "wrong signer", extra=chain)),
        "tampered": import_(client, detached(pki.alice, "alice@example.org", "tampered", extra=chain)
                            .replace(b"quarterly", b"Quarterly")),
        "unknown ca": import_(client, detached(pki.mallory, "mallory@example.org", "unknown ca")),
        "plain": import_(client, headers("alice@example.org", "plain") + b"\r\nNot signed.\r\n"),
        "pgp": import_(client, multipart_signed(b"x", "alice@example.org", "pgp", protocol="application/pgp-signature")),
        "malformed": import_(client, wrap_opaque(b"\x30\x80garbage", "alice@example.org", "malformed")),
    }
    got = get(client, list(ids.values()))
    by = {name: got[i] for name, i in ids.items()}
    for name in ("valid detached", "valid opaque"):
        e = by[name]
        assert (e["smimeStatus"], e["smimeStatusAtDelivery"], e["smimeErrors"]) == ("signed/verified", "signed/verified", None), e
        assert e["smimeVerifiedAt"].endswith("Z")
    for name in ("expired", "wrong signer", "tampered", "unknown ca", "malformed"):
        e = by[name]
        assert e["smimeStatus"] == e["smimeStatusAtDelivery"] == "signed/failed", e
        assert e["smimeErrors"] and all(isinstance(x, str) for x in e["smimeErrors"]), e
        assert e["smimeVerifiedAt"]
    assert "the From address bob@example.org" in by["wrong signer"]["smimeErrors"][0]
    assert "modified" in by["tampered"]["smimeErrors"][0]
    assert by["plain"] == {"id": ids["plain"], "subject": "plain", "smimeStatus": None, "smimeStatusAtDelivery": None,
                           "smimeErrors": None, "smimeVerifiedAt": None}
    assert (by["pgp"]["smimeStatus"], by["pgp"]["smimeErrors"], by["pgp"]["smimeVerifiedAt"]) == ("unknown", None, None)

    # RFC 9219 §4.2: the three conditions, and their negations.
    signed = {ids[n] for n in ids if n not in ("plain",)}
    verified = {ids["valid detached"], ids["valid opaque"]}
    everything = set(ids.values())
    assert query(client, {"hasSmime": True}) == signed
    assert query(client, {"hasSmime": False}) == everything - signed
    assert query(client, {"hasVerifiedSmime": True}) == verified
    assert query(client, {"hasVerifiedSmime": False}) == everything - verified
    assert query(client, {"hasVerifiedSmimeAtDelivery": True}) == verified
    assert query(client, {"hasVerifiedSmimeAtDelivery": False}) == everything - verified
    assert query(client, {"operator": "AND", "conditions": [{"hasSmime": True}, {"hasVerifiedSmime": False}]}) == signed - verified


def test_valid_at_delivery_but_not_now(server, pki):
    """A certificate valid when the message was signed and delivered has expired
    since: smimeStatusAtDelivery keeps the verdict of then, smimeStatus is now's."""
    client = server.client()
    signed_at = NOW - 700 * DAY
    raw = multipart_signed(signed_data_at(pki.expired, BODY, signed_at), "carol@example.org", "old news")
    email_id = import_(client, raw, utc(signed_at + DAY))
    e = get(client, [email_id])[email_id]
    assert e["smimeStatusAtDelivery"] == "signed/verified"
    assert e["smimeStatus"] == "signed/failed" and "expired" in e["smimeErrors"][0]
    assert query(client, {"hasVerifiedSmimeAtDelivery": True}) == {email_id}
    assert query(client, {"hasVerifiedSmime": True}) == set()


def test_at_delivery_is_checked_at_received_at(server, pki):
    """RFC 9219 §4.1: the status at delivery is the status "calculated at the
    date/time of delivery, as specified by receivedAt" - not at the signingTime
    the signer claims. A backdated signature delivered after its certificate
    expired fails at delivery as well as now."""
    client = server.client()
    signed_at = NOW - 700 * DAY
    raw = multipart_signed(signed_data_at(pki.expired, BODY, signed_at), "carol@example.org", "backdated")
    email_id = import_(client, raw, utc(NOW - 300 * DAY))
    e = get(client, [email_id])[email_id]
    assert e["smimeStatusAtDelivery"] == "signed/failed"
    assert e["smimeStatus"] == "signed/failed" and "expired" in e["smimeErrors"][0]
    assert query(client, {"hasVerifiedSmimeAtDelivery": True}) == set()
    assert query(client, {"hasVerifiedSmimeAtDelivery": False}) == {email_id}


def test_properties_only_when_asked_and_using(server, pki):
    client = server.client()
    email_id = import_(client, detached(pki.alice, "alice@example.org", extra=(pki.intermediate.cert,)))
    default = client.ok("Email/get", {"ids": [email_id]}, USING)["list"][0]
    assert not [k for k in default if k.startswith("smime")]
    mail_only = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"]
    name, out = client.call("Email/get", {"ids": [email_id], "properties": ["smimeStatus"]}, mail_only)
    assert (name, out["type"]) == ("error", "invalidArguments"), out
    name, out = client.call("Email/query", {"filter": {"hasVerifiedSmime": True}}, mail_only)
    assert (name, out["type"]) == ("error", "unsupportedFilter"), out
    name, out = client.call("Email/query", {"filter": {"hasSmime": "yes"}}, USING)
    assert (name, out["type"]) == ("error", "invalidArguments"), out
    only = client.ok("Email/get", {"ids": [email_id], "properties": ["smimeStatusAtDelivery"]}, USING)["list"][0]
    assert only == {"id": email_id, "smimeStatusAtDelivery": "signed/verified"}


def test_server_set_and_query_changes(server, pki):
    client = server.client()
    out = client.ok("Email/set", {"create": {"d": {"mailboxIds": {inbox(client): True}, "subject": "draft",
                                                   "smimeStatus": "signed/verified"}}}, USING)
    assert out["notCreated"]["d"]["type"] == "invalidProperties", out
    assert "smimeStatus" in out["notCreated"]["d"]["properties"]
    # The current status moves with time and trust anchors, with no Email change to report.
    res = client.ok("Email/query", {"filter": {"hasVerifiedSmime": True}}, USING)
    assert res["canCalculateChanges"] is False
    name, err = client.call("Email/queryChanges", {"filter": {"hasVerifiedSmime": True},
                                                    "sinceQueryState": res["queryState"]}, USING)
    assert (name, err["type"]) == ("error", "cannotCalculateChanges")
    res = client.ok("Email/query", {"filter": {"hasVerifiedSmimeAtDelivery": True}}, USING)
    assert res["canCalculateChanges"] is True


def test_destroyed_email_leaves_no_row(server, pki):
    from jmapd_smime.models import SmimeEmail

    from jmapd.db import ensure_connected

    client = server.client()
    email_id = import_(client, opaque(pki.alice_subject, "alice@example.org"))
    ensure_connected()
    assert SmimeEmail.select().where(SmimeEmail.email_id == email_id).count() == 1
    client.ok("Email/set", {"destroy": [email_id]}, USING)
    assert SmimeEmail.select().where(SmimeEmail.email_id == email_id).count() == 0


def send(port: int, rcpt: str, raw: bytes) -> None:
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        assert lmtp.mail("alice@example.org")[0] == 250
        assert lmtp.rcpt(rcpt)[0] == 250
        code, text = lmtp.data(raw)
        assert code == 250, text


def test_lmtp_delivery_records_status_at_delivery(server, pki, lmtp_for):
    port = lmtp_for(server)
    client = server.client()
    me = f"{client.user}@localhost"
    send(port, me, detached(pki.alice, "alice@example.org", "over lmtp", extra=(pki.intermediate.cert,)))
    send(port, me, detached(pki.mallory, "mallory@example.org", "stranger over lmtp"))
    send(port, me, multipart_signed(b"\x00\x01", "alice@example.org", "broken over lmtp"))
    ids = client.ok("Email/query", {}, USING)["ids"]
    got = {e["subject"]: e for e in get(client, ids).values()}
    assert got["over lmtp"]["smimeStatusAtDelivery"] == "signed/verified"
    assert got["stranger over lmtp"]["smimeStatusAtDelivery"] == "signed/failed"
    assert got["broken over lmtp"]["smimeStatus"] == "signed/failed"
    assert query(client, {"hasVerifiedSmimeAtDelivery": True}) == {got["over lmtp"]["id"]}


def test_config_check_names_the_anchors(tmp_path, pki):
    bundle = tmp_path / "anchors.pem"
    bundle.write_bytes(pki.bundle() + pki.stranger_ca.cert.public_bytes(Encoding.PEM))
    config = tmp_path / "jmapd.yaml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}

    def check(ca_file: str) -> subprocess.CompletedProcess[str]:
        config.write_text(f"server:\n  data_dir: {tmp_path / 'data'}\nsmime:\n  system_trust: false\n  ca_file: {ca_file}\n")
        return subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "config", "check"],
                              capture_output=True, text=True, env=env, timeout=120)

    good = check(str(bundle))
    assert good.returncode == 0 and "smime: 2 trust anchors" in good.stdout, good
    bad = check(str(tmp_path / "missing.pem"))
    assert bad.returncode == 1 and "smime.ca_file" in bad.stdout + bad.stderr, bad


def test_scan_records_mail_stored_before_the_plugin(make_server, pki, tmp_path, jmapd_database, jmapd_data_dir):
    """``jmapd smime scan`` (the real CLI) gives mail imported while the plugin
    was off its status at delivery; a second run records nothing more."""
    before = make_server({"capabilities": ["mail"]})
    client = before.client()
    signed_at = NOW - 700 * DAY
    old = multipart_signed(signed_data_at(pki.expired, BODY, signed_at), "carol@example.org", "old")
    blob = client.upload(old, "message/rfc822")["blobId"]
    made = client.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": {inbox(client): True},
                                                       "receivedAt": utc(signed_at + DAY)}}},
                     ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"])
    old_id = made["created"]["k"]["id"]
    bundle = tmp_path / "anchors.pem"
    bundle.write_bytes(pki.bundle())
    config = tmp_path / "jmapd.yaml"
    config.write_text(f"server:\n  data_dir: {jmapd_data_dir}\ndatabase:\n  url: {jmapd_database}\n"
                      f"smime:\n  system_trust: false\n  ca_file: {bundle}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}

    def scan() -> str:
        proc = subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "smime", "scan",
                               "--user", client.user], capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "recorded 1 S/MIME statuses" in scan()
    assert "recorded 0 S/MIME statuses" in scan()
    after = make_server({"smime": {"system_trust": False, "ca_file": str(bundle)}})
    e = get(after.client(client.user, client.password), [old_id])[old_id]
    assert (e["smimeStatusAtDelivery"], e["smimeStatus"]) == ("signed/verified", "signed/failed")


def test_jmapd_deliver_records_status_at_delivery(server, pki, tmp_path, jmapd_database, jmapd_data_dir):
    client = server.client()
    bundle = tmp_path / "anchors.pem"
    bundle.write_bytes(pki.bundle())
    config = tmp_path / "deliver.yaml"
    config.write_text(f"server:\n  data_dir: {jmapd_data_dir}\ndatabase:\n  url: {jmapd_database}\n"
                      f"smime:\n  system_trust: false\n  ca_file: {bundle}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    raw = opaque(pki.alice_subject, "alice@example.org", "by jmapd deliver")
    done = subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "deliver", "--user", client.user],
                          input=raw, capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    email_id = done.stdout.decode().strip().splitlines()[-1]
    e = get(client, [email_id])[email_id]
    assert (e["subject"], e["smimeStatusAtDelivery"], e["smimeStatus"]) == ("by jmapd deliver", "signed/verified",
                                                                             "signed/verified")


def test_local_delivery_of_a_submission_records_status_at_delivery(server, pki):
    """A signed message one local user sends another is verified as it is delivered (by this
    server: tests/conftest.py keeps older servers' queue workers out of this test's work)."""
    from jmapd_smime.testing import make_leaf

    from jmapd.testing import wait_for

    _local_delivery_records_status(server, pki, make_leaf, wait_for)


def _local_delivery_records_status(server, pki, make_leaf, wait_for):
    alice, bob = server.client(), server.client()
    sub = [*USING, "urn:ietf:params:jmap:submission"]
    identity = alice.ok("Identity/get", {}, sub)["list"][0]
    signer = make_leaf(pki.root, identity["email"])
    email_id = import_(alice, detached(signer, identity["email"], "signed locally"))
    to = f"{bob.user}@localhost"
    made = alice.ok("EmailSubmission/set", {"create": {"k": {
        "identityId": identity["id"], "emailId": email_id,
        "envelope": {"mailFrom": {"email": identity["email"]}, "rcptTo": [{"email": to}]}}}}, sub)
    assert "k" in (made.get("created") or {}), made
    ids = wait_for(lambda: bob.ok("Email/query", {"filter": {"subject": "signed locally"}}, USING)["ids"], bool)
    e = get(bob, ids)[ids[0]]
    assert (e["smimeStatusAtDelivery"], e["smimeStatus"]) == ("signed/verified", "signed/verified"), e


def test_a_sharee_sees_the_status_of_what_they_may_read_only(server, pki):
    """Through a shared Mailbox the properties and filters cover the Emails the
    sharee reads; a private signed Email of the owner stays out of every answer."""
    owner, sharee = server.client(), server.client()
    team = owner.ok("Mailbox/set", {"create": {"t": {"name": "Team"}}}, USING)["created"]["t"]["id"]
    shared_raw = opaque(pki.alice_subject, "alice@example.org", "shared signed")
    blob = owner.upload(shared_raw, "message/rfc822")["blobId"]
    shared = owner.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": {team: True}}}},
                      USING)["created"]["k"]["id"]
    private = import_(owner, opaque(pki.alice_subject, "alice@example.org", "private signed"))
    sharee_pid = sharee.session["accounts"][sharee.account_id]["accountCapabilities"][
        "urn:ietf:params:jmap:principals"]["currentUserPrincipalId"]
    owner.ok("Mailbox/set", {"update": {team: {f"shareWith/{sharee_pid}": {"mayReadItems": True}}}}, USING)
    sharee._session = None
    both = {"accountId": owner.account_id}
    got = sharee.ok("Email/get", {**both, "ids": [shared, private], "properties": PROPS}, USING)
    assert [e["id"] for e in got["list"]] == [shared] and got["notFound"] == [private]
    assert got["list"][0]["smimeStatusAtDelivery"] == "signed/verified"
    for name in ("hasSmime", "hasVerifiedSmime", "hasVerifiedSmimeAtDelivery"):
        assert sharee.ok("Email/query", {**both, "filter": {name: True}}, USING)["ids"] == [shared], name
        assert sharee.ok("Email/query", {**both, "filter": {name: False}}, USING)["ids"] == [], name
