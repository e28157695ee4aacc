"""Files under the data directory are private to the server user whatever the
umask: the SQLite database (and its WAL), the blob tree and every blob."""

import os
import stat
import subprocess
import sys


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_database_and_blobs_are_private(tmp_path):
    data = tmp_path / "data"
    config = tmp_path / "jmapd.yaml"
    config.write_text(f"server:\n  data_dir: {data}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    script = (
        "import os, sys; os.umask(0o022); from jmapd.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    for args in (["migrate"], ["user", "add", "alice", "--password-stdin"]):
        proc = subprocess.run([sys.executable, "-c", script, "--config", str(config), *args],
                              input="pw-1\n", capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
    assert mode(data) == 0o700
    assert mode(data / "jmapd.sqlite3") == 0o600
    for suffix in ("-wal", "-shm"):
        if (data / f"jmapd.sqlite3{suffix}").exists():
            assert mode(data / f"jmapd.sqlite3{suffix}") == 0o600
    # a blob written by a server process with the same umask
    blob_script = (
        "import os; os.umask(0o022)\n"
        "from pathlib import Path\n"
        "from jmapd.blobs import BlobStore\n"
        f"store = BlobStore('filesystem', Path({str(data / 'blobs')!r}))\n"
        "store._write_file('B' + 'ab' * 32, b'secret mail')\n"
    )
    proc = subprocess.run([sys.executable, "-c", blob_script], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    files = [p for p in (data / "blobs").rglob("*")]
    assert files and all(mode(p) == (0o700 if p.is_dir() else 0o600) for p in files)
    assert mode(data / "blobs") == 0o700
