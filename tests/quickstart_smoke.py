"""The README's first command, checked: a plain `pip install .` (runtime
dependencies only, no test extras) must serve the session with the demo
account. Run by tests/run.sh; not a pytest module.

    python tests/quickstart_smoke.py
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from base64 import b64encode
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="jmapd-quickstart-"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(ROOT)], check=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    env["JMAPD_DATA_DIR"] = str(work / "data")
    proc = subprocess.Popen(
        [str(venv / "bin" / "jmapd"), "serve", "--demo", "--bind", f"127.0.0.1:{port}"],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                print(proc.stdout.read().decode(), file=sys.stderr)
                print("quick start: jmapd serve --demo exited", file=sys.stderr)
                return 1
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            print("quick start: server never became ready", file=sys.stderr)
            return 1
        password = (work / "data" / "demo-password.txt").read_text().strip()
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/.well-known/jmap",
            headers={"Authorization": "Basic " + b64encode(f"demo:{password}".encode()).decode()},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read().decode()
        assert '"username":"demo"' in body, body
        print(f"quick start OK: demo session served by a plain install ({len(body)} bytes)")
        return 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
