"""Plugins discovered through entry points and enabled per deployment."""

import pytest

from jmapd.app import load_config
from jmapd.config import ConfigError
from jmapd.plugins import PluginError

NOTES = "urn:example:notes"
CORE = "urn:ietf:params:jmap:core"


def test_third_party_plugin_is_discovered_and_works(client):
    assert NOTES in client.session["capabilities"]
    assert client.session["capabilities"][NOTES] == {"maxNoteSize": 100000}
    assert client.session["accounts"][client.account_id]["accountCapabilities"][NOTES] == {"mayCreateFolder": True}
    assert client.session["primaryAccounts"][NOTES] == client.account_id


def test_disabled_plugin_contributes_nothing(make_server):
    server = make_server({"capabilities": []})
    client = server.client()
    assert NOTES not in client.session["capabilities"]
    assert NOTES not in client.session["accounts"][client.account_id]["accountCapabilities"]
    resp = client.post({"using": [CORE, NOTES], "methodCalls": []})
    assert resp.status_code == 400 and resp.json()["type"].endswith("unknownCapability")
    out = client.request([["Note/get", {"accountId": client.account_id, "ids": []}, "0"]], using=[CORE])
    assert out["methodResponses"][0][1]["type"] == "unknownMethod"


def test_plugin_config_section(make_server):
    server = make_server({"example": {"max_note_size": 5}})
    assert server.client().session["capabilities"][NOTES] == {"maxNoteSize": 5}


def test_unknown_plugin_name_fails_start(tmp_path):
    path = tmp_path / "jmapd.yaml"
    path.write_text("capabilities: [example, nosuchplugin]\n")
    with pytest.raises(PluginError, match="nosuchplugin"):
        load_config(str(path), {})


@pytest.mark.parametrize(
    "text, message",
    [
        ("limits:\n  max_size_uplod: 5\n", "limits.max_size_uplod: unknown key"),
        ("limits:\n  max_size_upload: lots\n", "limits.max_size_upload: expected an integer"),
        ("example:\n  max_note_size: [1]\n", "example.max_note_size: expected an integer"),
        ("example:\n  colour: red\n", "example.colour: unknown key"),
        ("database:\n  url: mysql://x\n", "database.url"),
        ("- a list\n", "top level must be a mapping"),
        ("server: {bind: [\n", "not valid YAML"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, message):
    path = tmp_path / "jmapd.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_config(str(path), {})


def test_environment_overrides(tmp_path):
    path = tmp_path / "jmapd.yaml"
    path.write_text("limits:\n  max_size_upload: 5\n")
    cfg, _ = load_config(str(path), {"JMAPD_LIMITS__MAX_SIZE_UPLOAD": "77", "JMAPD_EXAMPLE__MAX_NOTE_SIZE": "9", "JMAPD_SERVER__TRUSTED_PROXIES": "[10.0.0.1]"})
    assert cfg.limits.max_size_upload == 77
    assert cfg.section("example").max_note_size == 9
    assert cfg.server.trusted_proxies == ["10.0.0.1"]
    with pytest.raises(ConfigError, match="limits.max_calls_in_request"):
        load_config(str(path), {"JMAPD_LIMITS__MAX_CALLS_IN_REQUEST": "many"})


def test_defaults_without_config_file(tmp_path):
    cfg, pm = load_config(None, {"JMAPD_DATA_DIR": str(tmp_path)})
    assert cfg.database_url == f"sqlite:///{tmp_path / 'jmapd.sqlite3'}"
    assert cfg.blob_path == tmp_path / "blobs"
    names = [name for name, _ in pm.list_name_plugin()]
    assert "example" in names  # every installed plugin enabled by default


def test_missing_required_capability_is_a_clean_startup_error(tmp_path):
    import os
    import subprocess
    import sys

    path = tmp_path / "jmapd.yaml"
    path.write_text(f"capabilities: [submission]\nserver:\n  data_dir: {tmp_path}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    proc = subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(path), "migrate"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert "requires urn:ietf:params:jmap:mail, which is not enabled" in proc.stderr
    assert "Traceback" not in proc.stderr
