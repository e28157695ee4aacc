"""The operator's command line, run as a real process."""

import os
import subprocess
import sys

import pytest


@pytest.fixture
def jmapd_cli(tmp_path, jmapd_database):
    """Run ``jmapd`` against a config file of its own (SQLite in tmp_path,
    or a fresh schema-less PostgreSQL database is not needed: each CLI test
    uses its own SQLite file so user names cannot clash)."""
    config = tmp_path / "jmapd.yaml"
    config.write_text(f"server:\n  data_dir: {tmp_path / 'data'}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}

    def run(*args, stdin=None, ok=True):
        proc = subprocess.run(
            [sys.executable, "-m", "jmapd.cli", "--config", str(config), *args],
            input=stdin, capture_output=True, text=True, env=env, timeout=120,
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def test_migrate_is_idempotent(jmapd_cli):
    first = jmapd_cli("migrate")
    assert "applied core" in first.stdout
    again = jmapd_cli("migrate")
    assert "schema up to date" in again.stdout


def test_user_lifecycle(jmapd_cli):
    assert "created user alice" in jmapd_cli("user", "add", "alice", "--password-stdin", stdin="s3cret\n").stdout
    assert jmapd_cli("user", "add", "alice", "--password-stdin", stdin="x\n", ok=False).returncode == 1
    assert jmapd_cli("user", "list").stdout.split() == ["alice"]
    assert "changed" in jmapd_cli("user", "passwd", "alice", "--password-stdin", stdin="n3w\n").stdout
    assert jmapd_cli("user", "add", "bob", "--password-stdin", stdin="\n", ok=False).returncode != 0
    assert "deleted" in jmapd_cli("user", "delete", "alice").stdout
    assert jmapd_cli("user", "list").stdout.strip() == ""


def test_tokens(jmapd_cli):
    jmapd_cli("user", "add", "carol", "--password-stdin", stdin="pw\n")
    token = jmapd_cli("token", "create", "carol", "laptop").stdout.strip()
    assert token.startswith("jmapd_") and len(token) > 30
    assert "carol\tlaptop" in jmapd_cli("token", "list").stdout
    assert "revoked 1" in jmapd_cli("token", "revoke", "laptop").stdout
    assert "carol" not in jmapd_cli("token", "list").stdout


def test_config_check_and_sample(jmapd_cli, tmp_path):
    assert "configuration OK" in jmapd_cli("config", "check").stdout
    sample = jmapd_cli("config", "sample").stdout
    assert "max_size_upload: 50000000" in sample and "example:" in sample
    (tmp_path / "jmapd.yaml").write_text("limits:\n  max_size_uplod: 1\n")
    bad = jmapd_cli("config", "check", ok=False)
    assert bad.returncode == 2
    assert "limits.max_size_uplod: unknown key" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_plugins_listed(jmapd_cli):
    out = jmapd_cli("plugins").stdout
    assert "example\tjmapd_example.plugin\tenabled" in out


def test_sample_config_in_etc_is_current():
    """etc/jmapd.example.yaml is generated; regenerate with `jmapd config sample`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    generated = subprocess.run(
        [sys.executable, "-m", "jmapd.cli", "config", "sample", "--exclude", "example"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    path = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "jmapd.example.yaml")
    with open(path) as fh:
        assert fh.read() == generated


def test_share_principal_group_commands(jmapd_cli):
    for name in ("alice", "bob"):
        jmapd_cli("user", "add", name, "--password-stdin", stdin="pw\n")
    out = jmapd_cli("share", "grant", "alice", "--to", "bob", "--rights", "submit").stdout
    assert "bob may now submit" in out
    assert jmapd_cli("share", "grant", "alice", "--to", "alice", ok=False).returncode == 1
    assert jmapd_cli("share", "grant", "nobody", "--to", "bob", ok=False).returncode == 1
    assert "no longer" in jmapd_cli("share", "revoke", "alice", "--to", "bob").stdout
    assert jmapd_cli("share", "revoke", "alice", "--to", "bob", ok=False).returncode == 1
    assert "created group principal team" in jmapd_cli("principal", "add", "team", "--type", "group").stdout
    jmapd_cli("principal", "add", "projector", "--type", "resource")
    listed = jmapd_cli("principal", "list").stdout
    assert "\tgroup\tteam" in listed and "\tresource\tprojector" in listed and "\tindividual\talice" in listed
    jmapd_cli("group", "members", "add", "team", "alice", "bob")
    assert jmapd_cli("group", "members", "list", "team").stdout.split() == ["alice", "bob"]
    jmapd_cli("group", "members", "remove", "team", "alice")
    assert jmapd_cli("group", "members", "list", "team").stdout.split() == ["bob"]
    assert jmapd_cli("group", "members", "add", "projector", "bob", ok=False).returncode == 1
    assert "deleted" in jmapd_cli("principal", "delete", "team").stdout
    assert "team" not in jmapd_cli("principal", "list").stdout


def test_quota_set_and_show(jmapd_cli):
    jmapd_cli("user", "add", "dora", "--password-stdin", stdin="pw\n")
    out = jmapd_cli("quota", "set", "dora", "--storage", "5GiB", "--count", "Note=10").stdout
    assert f"storage\taccount\toctets\tused 0\tof {5 * 1024**3}" in out
    assert jmapd_cli("quota", "set", "dora", "--storage", "lots", ok=False).returncode == 1
    assert jmapd_cli("quota", "set", "nobody", "--storage", "1G", ok=False).returncode == 1
    jmapd_cli("quota", "set", "dora", "--storage", "default")
    assert "storage" not in jmapd_cli("quota", "show", "dora").stdout
