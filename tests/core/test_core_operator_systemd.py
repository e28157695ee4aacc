"""etc/jmapd.service: a unit systemd accepts, whose commands are real jmapd commands."""

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "etc" / "jmapd.service"


def directives():
    out = []
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.append((key, value))
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path):
    jmapd = Path(sys.executable).with_name("jmapd")
    unit = tmp_path / "jmapd.service"
    unit.write_text(UNIT.read_text().replace("/opt/jmapd/bin/jmapd", str(jmapd)))
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr  # an unknown key is only a warning: none


def test_the_units_commands_are_jmapd_commands():
    from jmapd.cli import build_parser

    found = dict(directives())
    assert found["Environment"].startswith("JMAPD_CONFIG=")
    assert found["ExecReload"] == "/bin/kill -HUP $MAINPID"  # what reloads the TLS certificate
    commands = [value for key, value in directives() if key.startswith("Exec") and "jmapd" in value]
    assert len(commands) == 2
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "/opt/jmapd/bin/jmapd"
        args = build_parser().parse_args(argv[1:])
        assert args.command in ("serve", "config")
    assert "etc/jmapd.service" in (ROOT / "docs" / "operator.rst").read_text()
