"""Quotas on every mail write path (RFC 9425, RFC 8620 §5.3 overQuota), over real HTTP.

An account gets a storage (octets) and an Email count limit; every path
that adds an Email is charged, refused over the hard limit with nothing
half-written, and every removal releases. ``used`` must equal what the
account really holds after each step: the sum of its Emails' sizes plus
the uploads no Email keeps yet.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

from .test_mail_sharing import grant
from .transfer_helpers import jmapd, write_config

QUOTA = "urn:ietf:params:jmap:quota"
MAIL = "urn:ietf:params:jmap:mail"
USING = ["urn:ietf:params:jmap:core", MAIL, QUOTA]


def set_limit(account_id: str, resource: str, hard: int | None, type_name: str = "") -> None:
    from jmapd import quota
    from jmapd.db import ensure_connected, write_transaction
    from jmapd.state import ChangeLog

    ensure_connected()
    log = ChangeLog()
    with write_transaction(account_id):
        quota.set_limit(log, account_id, resource, type_name, hard)
        log.flush()


def quotas(client: Any) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in client.ok("Quota/get", {"ids": None}, USING)["list"]}


def used(client: Any) -> int:
    return int(quotas(client)["storage"]["used"])


def held(client: Any) -> int:
    """What the account really stores: its Emails' sizes (over HTTP)."""
    ids = client.ok("Email/query", {"limit": 10000})["ids"]
    if not ids:
        return 0
    return sum(e["size"] for e in client.ok("Email/get", {"ids": ids, "properties": ["size"]})["list"])


def msg(size: int = 0, subject: str = "q") -> bytes:
    head = f"From: a@example.com\r\nTo: b@example.org\r\nSubject: {subject}\r\nMessage-ID: <{uuid.uuid4().hex}@x>\r\n\r\n"
    return (head + "x" * max(0, size - len(head) - 2) + "\r\n").encode()


def test_every_mail_write_path_is_charged_and_refused_over_the_limit(client: Any, mail: Any) -> None:
    set_limit(client.account_id, "octets", 5000)
    set_limit(client.account_id, "count", 4, "Email")
    inbox = mail.role("inbox")
    q = quotas(client)
    assert q["storage"]["used"] == 0 and "Email" in q["storage"]["types"] and q["count-Email"]["hardLimit"] == 4
    state = client.ok("Quota/get", {"ids": []}, USING)["state"]

    delivered = mail.deliver(msg(1000, "delivered"))  # the path LMTP, jmapd deliver and local submission take
    assert used(client) == held(client) == 1000
    changes = client.ok("Quota/changes", {"sinceState": state}, USING)
    assert set(changes["updated"]) == {"storage", "count-Email"} and changes["updatedProperties"] == ["used"]

    # an upload counts while no Email keeps it; importing it costs its size once
    blob = client.upload(msg(800, "imported"), "message/rfc822")["blobId"]
    assert used(client) == 1800 and held(client) == 1000
    out = client.ok("Email/import", {"emails": {"i": {"blobId": blob, "mailboxIds": {inbox: True}}}})
    assert out["created"]["i"]["size"] == 800 and used(client) == held(client) == 1800

    # Email/set create: charged the composed message's size
    out = client.ok("Email/set", {"create": {"d": {"mailboxIds": {inbox: True}, "subject": "draft",
                                                    "bodyValues": {"b": {"value": "y" * 500}},
                                                    "textBody": [{"partId": "b", "type": "text/plain"}]}}})
    draft = out["created"]["d"]
    assert used(client) == held(client) == 1800 + draft["size"]

    # over the storage limit: Email/import and Email/set create refused, nothing written
    before, count_before = used(client), len(client.ok("Email/query", {})["ids"])
    big = client.http.post(f"/jmap/upload/{client.account_id}", content=msg(4000))
    assert big.status_code == 413 and big.json()["type"] == "urn:ietf:params:jmap:error:overQuota"
    blob = client.upload(msg(1000, "too much"), "message/rfc822")["blobId"]  # fits as an upload...
    assert used(client) == before + 1000
    out = client.ok("Email/set", {"create": {"big": {"mailboxIds": {inbox: True}, "subject": "big",
                                                      "bodyValues": {"b": {"value": "z" * 4000}},
                                                      "textBody": [{"partId": "b", "type": "text/plain"}]}}})
    assert out["notCreated"]["big"]["type"] == "overQuota"
    # ...and importing it moves the charge to the Email: fits exactly as long as the sum does
    out = client.ok("Email/import", {"emails": {"i": {"blobId": blob, "mailboxIds": {inbox: True}}}})
    assert "i" in out["created"], out
    assert used(client) == held(client) == before + 1000
    # the count limit (4 Emails): a fifth is refused whatever its size
    fifth = msg(100)
    out = client.ok("Email/import", {"emails": {"i": {"blobId": client.upload(fifth, "message/rfc822")["blobId"],
                                                      "mailboxIds": {inbox: True}}}})
    assert out["notCreated"]["i"]["type"] == "overQuota", out
    assert len(client.ok("Email/query", {})["ids"]) == count_before + 1
    assert quotas(client)["count-Email"]["used"] == 4

    # destroy releases; Mailbox destroy with onDestroyRemoveEmails releases all it removes
    client.ok("Email/set", {"destroy": [delivered]})
    assert quotas(client)["count-Email"]["used"] == 3
    uploads = used(client) - held(client)
    assert uploads == len(fifth)  # only the refused fifth's upload is still pending
    box = client.ok("Mailbox/set", {"create": {"b": {"name": "Doomed"}}})["created"]["b"]["id"]
    ids = client.ok("Email/query", {})["ids"]
    client.ok("Email/set", {"update": {i: {"mailboxIds": {box: True}} for i in ids}})
    client.ok("Mailbox/set", {"destroy": [box], "onDestroyRemoveEmails": True})
    assert held(client) == 0 and used(client) == uploads and quotas(client)["count-Email"]["used"] == 0


def test_email_copy_is_charged_to_the_target_account(client: Any, mail: Any, make_message: Any) -> None:
    owner, sharee = client, client.server.client()
    team = owner.ok("Mailbox/set", {"create": {"t": {"name": "Team"}}})["created"]["t"]["id"]
    email = mail.import_(msg(1500, "shared"), team)
    grant(owner, team, sharee, "mayReadItems")
    set_limit(sharee.account_id, "octets", 2000)
    inbox = next(m["id"] for m in sharee.ok("Mailbox/get", {})["list"] if m["role"] == "inbox")
    copy = {"fromAccountId": owner.account_id, "accountId": sharee.account_id}
    out = sharee.ok("Email/copy", {**copy, "create": {"c": {"id": email["id"], "mailboxIds": {inbox: True}}}})
    assert out["created"]["c"]["size"] == 1500 and used(sharee) == held(sharee) == 1500
    out = sharee.ok("Email/copy", {**copy, "create": {"c": {"id": email["id"], "mailboxIds": {inbox: True}}}})
    assert out["notCreated"]["c"]["type"] == "overQuota"
    assert used(sharee) == held(sharee) == 1500 and len(sharee.ok("Email/query", {})["ids"]) == 1


def test_eight_concurrent_uploaders_race_a_quota(make_server: Any) -> None:
    """8 clients, each uploading then importing 6 messages of 1000 octets, at
    an account with room for 20 of them: every refusal is the RFC's error,
    and the account ends at most full, holding exactly what was accepted."""
    client = make_server({"limits": {"max_concurrent_upload": 8, "max_concurrent_requests": 8}}).client()
    set_limit(client.account_id, "octets", 20_500)
    inbox = next(m["id"] for m in client.ok("Mailbox/get", {})["list"] if m["role"] == "inbox")
    clients = [client.server.client(client.user, client.password) for _ in range(8)]
    accepted: list[int] = []
    refusals: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def racer(c: Any) -> None:
        start.wait()
        for _ in range(6):
            body = msg(1000, "race")
            resp = c.http.post(f"/jmap/upload/{c.account_id}", content=body, headers={"Content-Type": "message/rfc822"})
            if resp.status_code != 201:
                with lock:
                    refusals.append(f"{resp.status_code} {resp.json()['type']}")
                continue
            name, out = c.call("Email/import", {"emails": {"i": {"blobId": resp.json()["blobId"],
                                                                 "mailboxIds": {inbox: True}}}})
            with lock:
                if out.get("created"):
                    accepted.append(out["created"]["i"]["size"])
                else:
                    refusals.append(str(out["notCreated"]["i"]["type"]))

    threads = [threading.Thread(target=racer, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(accepted) + len(refusals) == 48
    assert set(refusals) <= {"413 urn:ietf:params:jmap:error:overQuota", "overQuota"} and refusals
    assert len(accepted) == 20  # every upload is charged at once, an import moves it: no room is lost
    final = used(client)
    assert final <= 20_500 and final == sum(accepted) == held(client)


def test_jmapd_import_over_quota_skips_what_does_not_fit(jmap_server: Any, jmapd_data_dir: Path,
                                                         jmapd_database: str, tmp_path: Path) -> None:
    client = jmap_server.client()
    set_limit(client.account_id, "octets", 2500)
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for n in range(4):
        (root / "cur" / f"{1600000000 + n}.M{n}P1.host:2,S").write_bytes(msg(1000, f"m{n}"))
    done = jmapd(write_config(tmp_path, jmapd_data_dir, jmapd_database), "import", "maildir", "--user", client.user, str(root))
    assert done.returncode == 1, done.stderr
    assert "2 imported, 0 already present, 2 failed" in done.stderr, done.stderr
    assert done.stderr.count("skipped ") == 2 and "storage quota of 2500 octets is used up" in done.stderr
    assert used(client) == held(client) == 2000


def test_gc_releases_uploads_no_email_kept(jmap_server: Any, jmapd_data_dir: Path, jmapd_database: str,
                                            tmp_path: Path) -> None:
    client = jmap_server.client()
    set_limit(client.account_id, "octets", 10_000)
    client.upload(msg(700, "abandoned"), "message/rfc822")
    kept = client.upload(msg(900, "kept"), "message/rfc822")["blobId"]
    inbox = next(m["id"] for m in client.ok("Mailbox/get", {})["list"] if m["role"] == "inbox")
    client.ok("Email/import", {"emails": {"k": {"blobId": kept, "mailboxIds": {inbox: True}}}})
    assert used(client) == 1600
    import datetime

    from jmapd.models import UploadCharge

    # two days old (past the default blobs.unreferenced_ttl of one day), this account's only
    UploadCharge.update(created=datetime.datetime(2000, 1, 1)).where(
        UploadCharge.account_id == client.account_id).execute()
    done = jmapd(write_config(tmp_path, jmapd_data_dir, jmapd_database), "gc")
    assert done.returncode == 0 and "released" in done.stdout, done.stderr
    assert used(client) == held(client) == 900
