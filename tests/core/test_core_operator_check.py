"""`jmapd config check` and `config show` through the real CLI, and an
unreachable database reported as one line by every command."""

import os
import socket
import subprocess
import sys

import pytest
import yaml
from jmapd_submission.testing import relay  # noqa: F401 (fixture)

from jmapd.testing import free_port


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    env.update(extra)
    return env


def jmapd(config, *args, env=None, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "jmapd.cli", "--config", str(config), *args],
        input=stdin, capture_output=True, text=True, env=env or clean_env(), timeout=60,
    )


def write(path, text):
    path.write_text(text)
    return path


def findings(stdout):
    return [line for line in stdout.splitlines() if line.split(":")[0] in ("ok", "note", "error")]


def test_check_reports_database_schema_blobs_and_plugins(tmp_path, jmapd_database):
    config = write(tmp_path / "jmapd.yaml", f"server:\n  data_dir: {tmp_path / 'data'}\ndatabase:\n  url: {jmapd_database}\n")
    proc = jmapd(config, "config", "check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "ok: database: " in out and " reached" in out
    assert "ok: schema: current" in out
    assert f"ok: blobs.path: {tmp_path / 'data' / 'blobs'} will be created" in out
    assert "note: submission.smarthost.host is not set" in out
    assert "note: delivery.lmtp is off" in out
    assert out.strip().endswith(f"configuration OK ({config})")
    assert not [line for line in findings(out) if line.startswith("error")]


def test_check_a_fresh_database_notes_pending_migrations(tmp_path):
    config = write(tmp_path / "jmapd.yaml", f"server:\n  data_dir: {tmp_path / 'data'}\n")
    proc = jmapd(config, "config", "check")
    assert proc.returncode == 0, proc.stderr
    assert "note: schema: " in proc.stdout and "migration(s) pending (core m0001_initial" in proc.stdout
    tables = subprocess.run(["sqlite3", str(tmp_path / "data" / "jmapd.sqlite3"), ".tables"], capture_output=True, text=True)
    assert tables.returncode != 0 or tables.stdout.strip() == ""  # checking wrote nothing
    assert jmapd(config, "migrate").returncode == 0
    assert "ok: schema: current" in jmapd(config, "config", "check").stdout


def test_check_an_unusable_blob_path_is_an_error(tmp_path, jmapd_database):
    blocker = write(tmp_path / "not-a-dir", "x")
    config = write(
        tmp_path / "jmapd.yaml",
        f"server:\n  data_dir: {tmp_path / 'data'}\ndatabase:\n  url: {jmapd_database}\nblobs:\n  path: {blocker}\n",
    )
    proc = jmapd(config, "config", "check")
    assert proc.returncode == 1
    assert f"error: blobs.path: {blocker} is not a directory" in proc.stdout
    assert "configuration has 1 error(s)" in proc.stderr
    (tmp_path / "blobs").mkdir()
    config.write_text(config.read_text().replace(str(blocker), str(tmp_path / "blobs")))
    proc = jmapd(config, "config", "check")
    assert proc.returncode == 0 and f"ok: blobs.path: {tmp_path / 'blobs'} writable" in proc.stdout


def test_check_connect_tries_the_smarthost_and_lmtp_port(tmp_path, jmapd_database, relay):  # noqa: F811
    lmtp_port = free_port()
    base = (f"server:\n  data_dir: {tmp_path / 'data'}\ndatabase:\n  url: {jmapd_database}\n"
            f"delivery:\n  lmtp: true\n  lmtp_port: {lmtp_port}\n")
    config = write(tmp_path / "jmapd.yaml", base + f"submission:\n  smarthost:\n    host: 127.0.0.1\n    port: {relay.port}\n"
                   "    security: none\n")
    proc = jmapd(config, "config", "check")
    assert proc.returncode == 0 and "not contacted (add --connect" in proc.stdout  # no network without --connect
    proc = jmapd(config, "config", "check", "--connect")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"ok: submission.smarthost 127.0.0.1:{relay.port} (none): EHLO accepted" in proc.stdout
    assert f"ok: delivery LMTP 127.0.0.1:{lmtp_port}: nothing listens yet, and the address can be bound" in proc.stdout
    assert relay.messages() == []  # a probe sends nothing
    # a dead relay and a port taken by a socket that does not listen
    dead = free_port()
    config.write_text(config.read_text().replace(f"port: {relay.port}", f"port: {dead}"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", lmtp_port))
        proc = jmapd(config, "config", "check", "--connect")
    assert proc.returncode == 1
    assert f"error: submission.smarthost 127.0.0.1:{dead} (none): 421 4.4.1 Could not connect" in proc.stdout
    assert f"error: delivery LMTP 127.0.0.1:{lmtp_port}: cannot listen there: Address already in use" in proc.stdout
    assert "configuration has 2 error(s)" in proc.stderr


def test_check_connect_with_a_wrong_security_setting(tmp_path, jmapd_database, relay):  # noqa: F811
    config = write(
        tmp_path / "jmapd.yaml",
        f"server:\n  data_dir: {tmp_path / 'data'}\ndatabase:\n  url: {jmapd_database}\n"
        f"submission:\n  smarthost:\n    host: 127.0.0.1\n    port: {relay.port}\n    security: starttls\n",
    )
    proc = jmapd(config, "config", "check", "--connect")
    assert proc.returncode == 1
    assert "error: submission.smarthost" in proc.stdout and "does not offer STARTTLS" in proc.stdout


def test_a_plugin_requirement_is_one_line(tmp_path):
    config = write(tmp_path / "jmapd.yaml", f"server:\n  data_dir: {tmp_path / 'data'}\ncapabilities: [delivery]\n")
    proc = jmapd(config, "config", "check")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "jmapd: configuration error: capabilities: plugin 'delivery' requires plugin 'mail', which is not enabled"
    )


def test_show_prints_values_sources_and_masks_secrets(tmp_path):
    config = write(
        tmp_path / "jmapd.yaml",
        f"server:\n  data_dir: {tmp_path / 'data'}\n  workers: 3\n"
        "database:\n  url: postgresql://jmapd:hunter2@db.example:5433/mail\n"
        "metrics:\n  token: scrape-me\n"
        "submission:\n  smarthost:\n    host: relay.example\n    user: me\n    password: s3cret-pw\n",
    )
    proc = jmapd(config, "config", "show", env=clean_env(JMAPD_LIMITS__MAX_SIZE_UPLOAD="1234"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for secret in ("hunter2", "scrape-me", "s3cret-pw"):
        assert secret not in out
    assert "  workers: 3  # file\n" in out
    assert "  max_size_upload: 1234  # env JMAPD_LIMITS__MAX_SIZE_UPLOAD\n" in out
    assert "  max_objects_in_get: 1000  # default\n" in out
    assert "  url: 'postgresql://jmapd:********@db.example:5433/mail'  # file\n" in out
    assert "# database: PostgreSQL database 'mail' on db.example:5433 as role 'jmapd'" in out
    shown = yaml.safe_load(out)  # it is YAML
    assert shown["submission"]["smarthost"] == {**shown["submission"]["smarthost"], "host": "relay.example", "user": "me",
                                                "password": "********"}
    assert shown["metrics"]["token"] == "********"
    assert shown["server"]["data_dir"] == str(tmp_path / "data")


UNREACHABLE = [
    ("user", "list"),
    ("user", "add", "alice", "--password-stdin"),
    ("token", "list"),
    ("migrate",),
    ("gc",),
    ("serve",),
    ("deliver", "--user", "alice"),
    ("contacts", "import", "--user", "alice", "/dev/null"),
]


@pytest.mark.parametrize("args", UNREACHABLE, ids=lambda a: " ".join(a[:2]))
def test_an_unreachable_database_is_one_line_for_every_command(tmp_path, args):
    port = free_port()  # nothing listens there
    config = write(tmp_path / "jmapd.yaml", f"server:\n  data_dir: {tmp_path / 'data'}\n"
                   f"database:\n  url: postgresql://jmapd:pw@127.0.0.1:{port}/mail\n")
    proc = jmapd(config, *args, stdin="pw\n")
    assert proc.returncode == 75, proc.stderr  # EX_TEMPFAIL: an MTA piping to deliver retries
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"jmapd: cannot reach PostgreSQL database 'mail' on 127.0.0.1:{port} as role 'jmapd': ")
    assert "Connection refused" in lines[0] and "pw@" not in lines[0]


def test_check_and_sqlite_paths_name_the_database(tmp_path):
    config = write(tmp_path / "jmapd.yaml", f"server:\n  data_dir: {tmp_path / 'data'}\n"
                   "database:\n  url: sqlite:////proc/no-such/jmapd.sqlite3\n")
    proc = jmapd(config, "config", "check")
    assert proc.returncode == 1
    assert "error: database: cannot open SQLite database /proc/no-such/jmapd.sqlite3: " in proc.stdout
    proc = jmapd(config, "user", "list")
    assert proc.returncode == 75
    assert proc.stderr.strip().startswith("jmapd: cannot open SQLite database /proc/no-such/jmapd.sqlite3: ")


def test_a_refused_role_is_one_line(tmp_path, jmapd_database):
    if not jmapd_database.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no roles")
    from urllib.parse import urlparse

    parsed = urlparse(jmapd_database)
    url = f"postgresql://no_such_role@{parsed.hostname}:{parsed.port or 5432}{parsed.path}"
    config = write(tmp_path / "jmapd.yaml", f"server:\n  data_dir: {tmp_path / 'data'}\ndatabase:\n  url: {url}\n")
    proc = jmapd(config, "user", "list")
    assert proc.returncode == 75
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "as role 'no_such_role'" in proc.stderr and 'role "no_such_role" does not exist' in proc.stderr


def test_an_unusable_blob_path_stops_other_commands_in_one_line(tmp_path, jmapd_database):
    blocker = write(tmp_path / "not-a-dir", "x")
    config = write(
        tmp_path / "jmapd.yaml",
        f"server:\n  data_dir: {tmp_path / 'data'}\ndatabase:\n  url: {jmapd_database}\nblobs:\n  path: {blocker}/blobs\n",
    )
    proc = jmapd(config, "user", "list")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"jmapd: configuration error: blobs.path: cannot create {blocker}/blobs: Not a directory"
