"""`jmapd user rename|delete [--keep-data]` and unique token names, through
the real CLI against the database a running server uses."""

import os
import subprocess
import sys
import uuid

from jmapd.db import database, ensure_connected, is_postgres
from jmapd.models import AccountBlob, BlobRef, User

CONTACTS = "urn:ietf:params:jmap:contacts"


def cli(tmp_path, jmapd_database, jmapd_data_dir, *args, stdin=None):
    config = tmp_path / "jmapd.yaml"
    config.write_text(f"server:\n  data_dir: {jmapd_data_dir}\ndatabase:\n  url: {jmapd_database}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    return subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), *args],
                          input=stdin, capture_output=True, text=True, env=env, timeout=60)


def rows_of(account_id):
    """Rows naming ``account_id`` in every table of the database that has an
    ``account_id`` column (declared model or not), and the full-text index."""
    ensure_connected()
    db = database.obj
    if is_postgres():
        tables = [r[0] for r in db.execute_sql(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'account_id'"
            " AND table_schema = current_schema()").fetchall()]
    else:
        tables = [name for (name,) in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
                  if any(col[1] == "account_id" for col in db.execute_sql(f'PRAGMA table_info("{name}")').fetchall())]
    found = {}
    for table in tables:
        (count,) = db.execute_sql(f'SELECT count(*) FROM "{table}" WHERE account_id = {db.param}', (account_id,)).fetchone()
        if count:
            found[table] = count
    if not is_postgres():
        from jmapd_mail.search import account_token

        (count,) = db.execute_sql("SELECT count(*) FROM mail_fts WHERE mail_fts MATCH ?",
                                  (f"acct:{account_token(account_id)}",)).fetchone()
        if count:
            found["mail_fts"] = count
    return found


def populate(server, client):
    """Mail (with its text indexed), a Mailbox, a contact card: data in several plugins."""
    from jmapd_mail.api import deliver

    tag = uuid.uuid4().hex
    raw = f"From: a@example.net\r\nTo: x@localhost\r\nSubject: gone {tag}\r\n\r\nword{tag}\r\n".encode()
    deliver(server.services, client.account_id, raw)
    client.ok("Mailbox/set", {"create": {"m": {"name": f"Box {tag}"}}})
    client.ok("ContactCard/set", {"create": {"c": {"name": {"full": "Carol"}, "addressBookIds": {
        client.ok("AddressBook/get", {"ids": None}, using=["urn:ietf:params:jmap:core", CONTACTS])["list"][0]["id"]: True}}}},
        using=["urn:ietf:params:jmap:core", CONTACTS])
    return tag


def test_delete_removes_the_data_of_every_plugin(tmp_path, jmapd_database, jmapd_data_dir, jmap_server):
    alice, bob = jmap_server.client(), jmap_server.client()
    populate(jmap_server, alice)
    bob_tag = populate(jmap_server, bob)
    account = alice.account_id
    before = rows_of(account)
    assert {"jmap_document", "mail_email", "jmap_blob_ref", "jmap_change"} <= set(before), before
    if not is_postgres():
        assert "mail_fts" in before
    blob_ids = [r.blob_id for r in BlobRef.select().where(BlobRef.account_id == account)]
    bob_before = rows_of(bob.account_id)

    proc = cli(tmp_path, jmapd_database, jmapd_data_dir, "user", "delete", alice.user)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"deleted user {alice.user} and ") and "`jmapd gc` collects" in proc.stdout
    assert rows_of(account) == {}
    assert User.get_or_none(User.name == alice.user) is None
    # nothing references alice's blobs any more, so `jmapd gc` collects them once they are old enough
    assert not AccountBlob.select().where(AccountBlob.blob_id.in_(blob_ids)).exists()
    assert alice.http.get("/.well-known/jmap").status_code == 401
    # bob is untouched, and his mail still found by its text
    assert rows_of(bob.account_id) == bob_before
    found = bob.ok("Email/query", {"filter": {"text": f"word{bob_tag}"}})["ids"]
    assert len(found) == 1


def test_delete_keep_data_removes_only_the_login(tmp_path, jmapd_database, jmapd_data_dir, jmap_server):
    alice = jmap_server.client()
    populate(jmap_server, alice)
    before = rows_of(alice.account_id)
    proc = cli(tmp_path, jmapd_database, jmapd_data_dir, "user", "delete", alice.user, "--keep-data")
    assert proc.returncode == 0 and proc.stdout.strip() == f"deleted user {alice.user} (data kept)"
    assert rows_of(alice.account_id) == before
    assert alice.http.get("/.well-known/jmap").status_code == 401
    missing = cli(tmp_path, jmapd_database, jmapd_data_dir, "user", "delete", alice.user)
    assert missing.returncode == 1 and f"no user {alice.user}" in missing.stderr


def test_rename_keeps_data_and_the_old_name_stops_working(tmp_path, jmapd_database, jmapd_data_dir, jmap_server):
    alice = jmap_server.client()
    tag = populate(jmap_server, alice)
    new = f"renamed-{uuid.uuid4().hex[:8]}@example.org"
    proc = cli(tmp_path, jmapd_database, jmapd_data_dir, "user", "rename", alice.user, new)
    assert proc.returncode == 0 and proc.stdout.strip() == f"user {alice.user} renamed to {new}", proc.stderr
    assert alice.http.get("/.well-known/jmap").status_code == 401  # at once, not after a cache expires
    renamed = jmap_server.client(new, alice.password)
    assert renamed.account_id == alice.account_id
    assert renamed.session["accounts"][alice.account_id]["name"] == new
    assert len(renamed.ok("Email/query", {"filter": {"text": f"word{tag}"}})["ids"]) == 1
    me = renamed.ok("Principal/get", {"ids": None}, using=["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:principals"])
    assert new in [p["name"] for p in me["list"]]
    # refused: a taken name, an invalid one, an unknown user
    other = jmap_server.client()
    taken = cli(tmp_path, jmapd_database, jmapd_data_dir, "user", "rename", new, other.user)
    assert taken.returncode == 1 and f"user {other.user} exists" in taken.stderr
    bad = cli(tmp_path, jmapd_database, jmapd_data_dir, "user", "rename", new, "with space")
    assert bad.returncode == 1 and "contains whitespace" in bad.stderr
    assert cli(tmp_path, jmapd_database, jmapd_data_dir, "user", "rename", "no-such-user-x", "y").returncode == 1


def test_token_names_are_unique_per_user(tmp_path, jmapd_database, jmapd_data_dir, jmap_server):
    alice, bob = jmap_server.client(), jmap_server.client()
    first = cli(tmp_path, jmapd_database, jmapd_data_dir, "token", "create", alice.user, "phone")
    assert first.returncode == 0 and first.stdout.startswith("jmapd_")
    again = cli(tmp_path, jmapd_database, jmapd_data_dir, "token", "create", alice.user, "phone")
    assert again.returncode == 1 and f"user {alice.user} already has a token named 'phone'" in again.stderr
    assert cli(tmp_path, jmapd_database, jmapd_data_dir, "token", "create", bob.user, "phone").returncode == 0  # another user may
    revoked = cli(tmp_path, jmapd_database, jmapd_data_dir, "token", "revoke", "phone", "--user", alice.user)
    assert revoked.stdout.strip() == "revoked 1 token(s)"
    assert cli(tmp_path, jmapd_database, jmapd_data_dir, "token", "create", alice.user, "phone").returncode == 0
