"""Submission needs mail: enabling it alone stops start-up with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from jmapd.app import build_registry, load_config

MESSAGE = "urn:ietf:params:jmap:submission requires urn:ietf:params:jmap:mail, which is not enabled"


def write_config(tmp_path, capabilities):
    path = tmp_path / "jmapd.yaml"
    path.write_text(
        f"capabilities: [{', '.join(capabilities)}]\n"
        f"server:\n  data_dir: {tmp_path / 'data'}\n"
        "submission:\n  smarthost:\n    host: 127.0.0.1\n"
    )
    return path


def test_submission_requires_mail(tmp_path):
    cfg, pm = load_config(str(write_config(tmp_path, ["submission"])), {})
    with pytest.raises(ValueError) as raised:
        build_registry(pm, cfg)
    assert str(raised.value) == MESSAGE
    cfg, pm = load_config(str(write_config(tmp_path, ["mail", "submission"])), {})
    assert "urn:ietf:params:jmap:submission" in build_registry(pm, cfg).capabilities


def test_app_without_mail_does_not_start(tmp_path):
    """create_app in a process of its own (it binds the global database)."""
    path = write_config(tmp_path, ["submission"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    script = (
        "import sys\n"
        "from jmapd.app import create_app, load_config\n"
        "try:\n"
        "    create_app(*load_config(sys.argv[1]))\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert (proc.returncode, proc.stdout.strip()) == (3, MESSAGE), proc.stderr
    served = subprocess.run(
        [sys.executable, "-m", "jmapd.cli", "--config", str(path), "migrate"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert served.returncode != 0
    assert MESSAGE in served.stderr
