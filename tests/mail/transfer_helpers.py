"""Helpers of the ``jmapd import``/``export`` tests: the CLI as a subprocess, account snapshots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


def write_config(tmp_path: Path, data_dir: Path, database: str) -> Path:
    config = tmp_path / "jmapd.yaml"
    config.write_text(yaml.safe_dump({"server": {"data_dir": str(data_dir)}, "database": {"url": database}}))
    return config


def cli_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}


def jmapd(config: Path, *args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), *args],
                          input=stdin, capture_output=True, text=True, env=cli_env(), timeout=timeout)


def snapshot(client: Any) -> dict[str, Any]:
    """Mailbox paths → {Message-ID: (keywords, receivedAt, size)}, and role by path, over HTTP."""
    boxes = client.ok("Mailbox/get", {"ids": None})["list"]
    by_id = {b["id"]: b for b in boxes}

    def path(b: dict[str, Any]) -> str:
        return (path(by_id[b["parentId"]]) + "/" if b["parentId"] else "") + b["name"]

    ids = client.ok("Email/query", {"limit": 100000})["ids"]
    emails = []
    for i in range(0, len(ids), 400):
        emails += client.ok("Email/get", {"ids": ids[i:i + 400], "properties": [
            "messageId", "keywords", "receivedAt", "mailboxIds", "size", "blobId", "subject", "id"]})["list"]
    out: dict[str, dict[str, Any]] = {path(b): {} for b in boxes}
    for e in emails:
        for m in e["mailboxIds"]:
            key = (e["messageId"] or [e["subject"]])[0]
            out[path(by_id[m])][key] = (sorted(e["keywords"]), e["receivedAt"], e["size"])
    return {"mail": out, "roles": {path(b): b["role"] for b in boxes if b["role"]}, "emails": emails}
