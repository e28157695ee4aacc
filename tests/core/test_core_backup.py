"""``jmapd backup`` / ``jmapd restore`` through the real CLI and a real
``jmapd serve`` (#10): back up, wipe, restore — the mail, its blobs and the
VAPID key of Web Push come back."""

from __future__ import annotations

import os
import shutil
import subprocess

import httpx
import pytest

from jmapd.testing import ServeProcess, _create_pg_database

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"]
MESSAGE = (
    b"From: Ann <ann@example.org>\r\nTo: alice@example.test\r\nSubject: Keep me\r\n"
    b"Message-ID: <keep@example.org>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\nStill here after a restore.\r\n"
)


@pytest.fixture
def database(tmp_path, jmapd_database):
    """A database of the test's own (a restore replaces it), of the suite's kind."""
    if jmapd_database.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'db' / 'jmapd.sqlite3'}"
        return
    base = os.environ["JMAPD_TEST_DATABASE"]
    url, drop = _create_pg_database(base)
    yield url
    subprocess.run(["dropdb", "--if-exists", "--force", url.rsplit("/", 1)[1], "-h", "127.0.0.1", "-U", "postgres"],
                   capture_output=True)
    del drop  # the suite's dropper would close the session's connection


def wipe(server: ServeProcess, url: str) -> None:
    shutil.rmtree(server.config.parent / "data")
    if url.startswith("sqlite:///"):
        shutil.rmtree(os.path.dirname(url[len("sqlite:///"):]))
    else:
        import psycopg2

        conn = psycopg2.connect(url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        conn.close()


def test_backup_wipe_restore(tmp_path, database):
    if not database.startswith("sqlite") and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    os.makedirs(tmp_path / "db", exist_ok=True)
    server = ServeProcess(tmp_path, database, workers=1)
    server.cli("migrate")
    server.cli("user", "add", "alice", "--password-stdin", stdin="alice-password\n")
    server.cli("deliver", "--user", "alice", stdin=MESSAGE.decode())
    server.start()
    try:
        session = httpx.get(server.url + "/.well-known/jmap", auth=("alice", "alice-password")).json()
        vapid = session["capabilities"]["urn:ietf:params:jmap:webpush-vapid"]["applicationServerKey"]
    finally:
        server.stop()
    key_file = tmp_path / "data" / "events-vapid.pem"
    key = key_file.read_bytes()

    backup = tmp_path / "backup"
    out = server.cli("backup", str(backup))
    assert "2 file(s)" in out  # the configuration and the VAPID key
    with pytest.raises(subprocess.CalledProcessError) as again:  # never over an earlier backup
        server.cli("backup", str(backup))
    assert "is not empty" in again.value.stderr
    wipe(server, database)
    assert not key_file.exists()

    server.cli("restore", str(backup))
    assert key_file.read_bytes() == key
    server.start()
    try:
        auth = ("alice", "alice-password")
        session = httpx.get(server.url + "/.well-known/jmap", auth=auth).json()
        assert session["capabilities"]["urn:ietf:params:jmap:webpush-vapid"]["applicationServerKey"] == vapid
        account = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
        resp = httpx.post(server.url + "/jmap/api", auth=auth, json={"using": USING, "methodCalls": [
            ["Email/query", {"accountId": account}, "0"],
            ["Email/get", {"accountId": account, "#ids": {"resultOf": "0", "name": "Email/query", "path": "/ids"},
                           "properties": ["subject", "blobId"]}, "1"]]}).json()
        [email] = resp["methodResponses"][1][1]["list"]
        assert email["subject"] == "Keep me"
        url = session["downloadUrl"].replace("{accountId}", account).replace("{blobId}", email["blobId"]) \
            .replace("{name}", "m.eml").replace("{type}", "message/rfc822")
        raw = httpx.get(url, auth=auth).content
        assert raw.endswith(MESSAGE)  # the blob came back too
    finally:
        server.stop()
    # a restore never overwrites a database silently
    with pytest.raises(subprocess.CalledProcessError) as refused:
        server.cli("restore", str(backup))
    assert "--force" in refused.value.stderr
    assert "restored" in server.cli("restore", "--force", str(backup))
