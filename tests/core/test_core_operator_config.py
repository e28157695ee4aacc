"""Configuration that cannot trap an operator: stray environment variables,
errors that name their source, plugin commands that never vanish, disabled
plugins' sections, and etc/gunicorn.conf.py reading the YAML file."""

import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from jmapd.app import load_config
from jmapd.config import ConfigError
from jmapd.testing import free_port

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    env.update(extra)
    return env


def jmapd(config, *args, env=None, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "jmapd.cli", "--config", str(config), *args],
        input=stdin, capture_output=True, text=True, env=env or clean_env(), timeout=120,
    )


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "jmapd.yaml"
    path.write_text(f"server:\n  data_dir: {tmp_path / 'data'}\n")
    return path


def test_stray_variables_are_ignored_with_one_warning(tmp_path, caplog):
    stray = f"JMAPD_VENV_{uuid.uuid4().hex[:6].upper()}"
    other = f"JMAPD_BIND_{uuid.uuid4().hex[:6].upper()}"
    environ = {stray: "/opt/venv", other: "0.0.0.0:1", "JMAPD_LIMITS__MAX_SIZE_UPLOAD": "77",
               "JMAPD_LIMITS__NO_SUCH_LIMIT": "1", "JMAPD_EXAMPLE__MAX_NOTE_SIZE": "9"}
    with caplog.at_level(logging.WARNING, logger="jmapd"):
        cfg, _ = load_config(None, environ)
        load_config(None, environ)  # a second load in the same process does not repeat it
    assert cfg.limits.max_size_upload == 77
    assert cfg.section("example").max_note_size == 9
    warnings = [r.getMessage() for r in caplog.records if "ignoring environment" in r.getMessage()]
    assert len(warnings) == 1
    assert stray in warnings[0] and other in warnings[0] and "JMAPD_LIMITS__NO_SUCH_LIMIT" in warnings[0]
    assert "MAX_SIZE_UPLOAD" not in warnings[0]


def test_string_keys_take_the_text_as_it_is():
    cfg, _ = load_config(None, {"JMAPD_AUTH__REALM": "yes", "JMAPD_SERVER__BASE_URL": "null"})
    assert cfg.auth.realm == "yes"
    assert cfg.server.base_url is None


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("JMAPD_LIMITS__MAX_CALLS_IN_REQUEST", "many", "JMAPD_LIMITS__MAX_CALLS_IN_REQUEST (limits.max_calls_in_request): expected an integer"),
        ("JMAPD_LOG__ACCESS_LOG", "perhaps", "JMAPD_LOG__ACCESS_LOG (log.access_log): expected true or false"),
        ("JMAPD_SERVER__TRUSTED_PROXIES", "[1, [", "JMAPD_SERVER__TRUSTED_PROXIES (server.trusted_proxies): not a valid YAML value"),
        ("JMAPD_CAPABILITIES", "mail", "JMAPD_CAPABILITIES (capabilities): expected a list"),
    ],
)
def test_a_bad_variable_is_named(name, value, message):
    with pytest.raises(ConfigError) as info:
        load_config(None, {name: value})
    assert str(info.value).startswith(message)


def test_cli_with_our_own_launchers_variables(config_file):
    """tests/run.sh exports JMAPD_VENV and JMAPD_TEST_PG_URL; etc/gunicorn.conf.py used to read JMAPD_BIND."""
    env = clean_env(JMAPD_VENV="/opt/venv", JMAPD_TEST_PG_URL="postgresql://x@y/z", JMAPD_BIND="0.0.0.0:9")
    proc = jmapd(config_file, "deliver", "--help", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "--user" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if "ignoring environment variables" in line]
    assert len(warnings) == 1, proc.stderr
    assert "JMAPD_BIND, JMAPD_TEST_PG_URL, JMAPD_VENV" in warnings[0]
    proc = jmapd(config_file, "plugins", env=env)
    assert proc.returncode == 0 and "delivery" in proc.stdout


def test_cli_names_a_bad_variable(config_file):
    proc = jmapd(config_file, "config", "check", env=clean_env(JMAPD_LIMITS__MAX_SIZE_UPLOAD="big"))
    assert proc.returncode == 2
    assert "configuration error: JMAPD_LIMITS__MAX_SIZE_UPLOAD (limits.max_size_upload)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_broken_config_file_keeps_plugin_commands(tmp_path):
    config = tmp_path / "jmapd.yaml"
    config.write_text("limits:\n  max_size_uplod: 5\n")
    proc = jmapd(config, "--help")
    assert proc.returncode == 0
    assert "deliver" in proc.stdout and "contacts" in proc.stdout  # plugin commands still listed
    assert "configuration error: limits.max_size_uplod: unknown key" in proc.stderr
    # running a plugin command reports the error once instead of "invalid choice: 'deliver'"
    proc = jmapd(config, "deliver", "--user", "alice", stdin="Subject: x\r\n\r\nhi\r\n")
    assert proc.returncode == 2
    assert "invalid choice" not in proc.stderr
    assert proc.stderr.count("limits.max_size_uplod: unknown key") == 1
    # an unreadable file is named too
    proc = jmapd(tmp_path / "missing.yaml", "deliver", "--help")
    assert "deliver" in proc.stdout and "cannot read config file" in proc.stderr and str(tmp_path / "missing.yaml") in proc.stderr


def test_disabled_plugins_section_is_accepted(tmp_path):
    config = tmp_path / "jmapd.yaml"
    config.write_text(
        f"server:\n  data_dir: {tmp_path / 'data'}\n"
        "capabilities: [mail, delivery]\n"
        "submission:\n  smarthost:\n    host: relay.example.net\n"
        "vacation:\n  period_days: 3\n"
    )
    cfg, _ = load_config(str(config), {"JMAPD_SUBMISSION__SMARTHOST__PORT": "25"})
    assert cfg.inactive_sections == ["submission", "vacation"]
    assert "submission" not in cfg.plugins
    proc = jmapd(config, "config", "check")
    assert proc.returncode == 0, proc.stderr
    assert "note: section 'submission' is ignored: plugin 'submission' is not enabled" in proc.stdout
    assert "note: section 'vacation' is ignored" in proc.stdout
    assert "configuration OK" in proc.stdout
    # a section nobody declares is still an error
    config.write_text("capabilities: [mail]\nsubmision:\n  x: 1\n")
    with pytest.raises(ConfigError, match="submision: unknown key"):
        load_config(str(config), {})


def _gunicorn(config, home, env_extra=None):
    env = clean_env(JMAPD_CONFIG=str(config), HOME=str(home), **(env_extra or {}))
    env.pop("XDG_RUNTIME_DIR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "etc" / "gunicorn.conf.py")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, cwd=str(home),
    )


def _wait_ready(url, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError("gunicorn exited: " + proc.stderr.read().decode()[-3000:])
        time.sleep(0.2)
    return False


def _stop(proc):
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_gunicorn_conf_reads_the_yaml(tmp_path, jmapd_database):
    """Two instances on one host, each on the bind and worker count of its own YAML file,
    with stray JMAPD_* variables set; gunicorn's per-user control socket is not created."""
    home = tmp_path / "home"
    home.mkdir()
    procs, urls = [], []
    try:
        for i in range(2):
            port = free_port()
            config = tmp_path / f"jmapd{i}.yaml"
            config.write_text(
                f"server:\n  bind: 127.0.0.1:{port}\n  workers: {i + 1}\n  data_dir: {tmp_path / f'data{i}'}\n"
                f"database:\n  url: {jmapd_database}\nlog:\n  access_log: false\n"
            )
            procs.append(_gunicorn(config, home, {"JMAPD_VENV": "/opt/venv", "JMAPD_WORKERS": "7"}))
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            assert _wait_ready(url, proc)
        for i, proc in enumerate(procs):
            workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
            assert len(workers) == i + 1
        assert not (home / ".gunicorn").exists()
    finally:
        for proc in procs:
            _stop(proc)
    stderr = procs[0].stderr.read().decode()
    assert "ignoring environment variables that name no configuration key: JMAPD_VENV, JMAPD_WORKERS" in stderr
    # the warning comes from the master, not once more per worker
    assert stderr.count("ignoring environment variables") == 1, stderr


def test_gunicorn_conf_names_a_config_error(tmp_path):
    config = tmp_path / "jmapd.yaml"
    config.write_text("server:\n  workers: many\n")
    proc = _gunicorn(config, tmp_path)
    try:
        proc.wait(timeout=60)
    finally:
        _stop(proc)
    assert proc.returncode != 0
    assert "server.workers: expected an integer" in proc.stderr.read().decode()


@pytest.mark.parametrize("name, why", [("", "empty"), ("al ice", "whitespace"), ("a:b", "contains ':'"),
                                       ("tab\tname", "whitespace"), ("x" * 255, "longer than 254")])
def test_user_names_are_validated(config_file, name, why):
    proc = jmapd(config_file, "user", "add", name, "--password-stdin", stdin="pw-1\n")
    assert proc.returncode == 1 and why in proc.stderr
    proc = jmapd(config_file, "user", "add", "alice@example.com", "--password-stdin", stdin="pw-1\n")
    assert proc.returncode == 0, proc.stderr
    assert jmapd(config_file, "user", "list").stdout.split() == ["alice@example.com"]
