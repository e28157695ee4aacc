"""``jmapd backup DIR`` and ``jmapd restore DIR``: everything a server needs
to come back, in one directory.

A backup is the database (SQLite's online backup API, consistent while the
server runs; ``pg_dump`` for PostgreSQL), then the blobs (immutable and
content-addressed, so copied after the database snapshot they hold every
blob it references), then the files that live beside the data: the
configuration, the TLS pair and whatever the plugins name through
``jmapd_backup_files`` (the events plugin's VAPID key — without it every
existing Web Push subscription stops working after a restore). A manifest
records where each file came from, so ``restore`` puts it back there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from .cli_setup import _load

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"


def _files(cfg: Any, pm: Any) -> list[Path]:
    """The key files of this deployment that exist now."""
    named: list[str | Path] = []
    if cfg.source:
        named.append(cfg.source)
    named += [cfg.server.tls.cert_file, cfg.server.tls.key_file]
    for result in pm.hook.jmapd_backup_files(config=cfg):
        named += result or []
    out: list[Path] = []
    for name in named:
        if name and Path(name).is_file() and Path(name).resolve() not in out:
            out.append(Path(name).resolve())
    return out


def _fail(message: str) -> int:
    print(f"jmapd: {message}", file=sys.stderr)
    return 1


def cmd_backup(args: argparse.Namespace) -> int:
    cfg, pm = _load(args)
    target = Path(args.directory)
    if target.exists() and any(target.iterdir()):
        return _fail(f"{target} is not empty: a backup goes into a new directory")
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    url = cfg.database_url
    manifest: dict[str, Any] = {"database": None, "blobs": False, "files": {}}
    if url.startswith("sqlite:///"):
        source = sqlite3.connect(url[len("sqlite:///"):])
        dest = sqlite3.connect(target / SQLITE_FILE)
        try:
            source.backup(dest)  # consistent even while the server writes
        finally:
            dest.close()
            source.close()
        manifest["database"] = SQLITE_FILE
    elif shutil.which("pg_dump"):
        proc = subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={target / PG_FILE}", url],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            return _fail(f"pg_dump failed: {proc.stderr.strip()}")
        manifest["database"] = PG_FILE
    else:
        return _fail("pg_dump is not installed: install the PostgreSQL client (or back up with your "
                     "base backup and WAL archiving, and the blobs and files as docs/operator.rst says)")
    blobs = cfg.blob_path
    if cfg.blobs.store == "filesystem" and blobs.is_dir():
        shutil.copytree(blobs, target / "blobs", ignore=shutil.ignore_patterns(".tmp-*"))
        manifest["blobs"] = True
    (target / "files").mkdir()
    for n, path in enumerate(_files(cfg, pm)):
        stored = f"{n}-{path.name}"
        shutil.copy2(path, target / "files" / stored)
        manifest["files"][stored] = str(path)
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"backed up the database, {'the blobs, ' if manifest['blobs'] else ''}"
          f"{len(manifest['files'])} file(s) to {target}")
    return 0


def _pg_has_tables(url: str) -> bool:
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            row = cur.fetchone()
            return bool(row and row[0])
    finally:
        conn.close()


def cmd_restore(args: argparse.Namespace) -> int:
    cfg, pm = _load(args)
    source = Path(args.directory)
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        return _fail(f"{source} is not a jmapd backup ({exc})")
    url = cfg.database_url
    if manifest["database"] == SQLITE_FILE:
        if not url.startswith("sqlite:///"):
            return _fail("the backup holds a SQLite database; this configuration names PostgreSQL")
        db = Path(url[len("sqlite:///"):])
        if db.exists() and not args.force:
            return _fail(f"{db} exists: stop the server and pass --force to replace it")
        db.parent.mkdir(parents=True, exist_ok=True)
        for extra in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            extra.unlink(missing_ok=True)
        restored = sqlite3.connect(db)
        backup = sqlite3.connect(source / SQLITE_FILE)
        try:
            backup.backup(restored)
        finally:
            backup.close()
            restored.close()
    elif manifest["database"] == PG_FILE:
        if url.startswith("sqlite:///"):
            return _fail("the backup holds a PostgreSQL dump; this configuration names SQLite")
        if not shutil.which("pg_restore"):
            return _fail("pg_restore is not installed: install the PostgreSQL client")
        if _pg_has_tables(url) and not args.force:
            return _fail("the database holds tables: stop the server and pass --force to replace them")
        proc = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={url}",
                               str(source / PG_FILE)], capture_output=True, text=True)
        if proc.returncode != 0:
            return _fail(f"pg_restore failed: {proc.stderr.strip()}")
    if manifest["blobs"]:
        shutil.copytree(source / "blobs", cfg.blob_path, dirs_exist_ok=True)
    for stored, original in manifest["files"].items():
        path = Path(original)
        if path.exists() and not args.force:
            print(f"kept {path} (exists; --force replaces it)")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "files" / stored, path)
    print(f"restored {source}")
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("backup", help="the database, blobs and key files into a new directory")
    p.add_argument("directory")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="put a backup back (stop the server first)")
    p.add_argument("directory")
    p.add_argument("--force", action="store_true", help="replace an existing database and files")
    p.set_defaults(func=cmd_restore)
