"""Import benchmark (issue #14): how fast mail moves in.

    python bench/import.py [--count 3000] [--database URL] [--skip-jmap] [--skip-maildir] [--imap]

Writes --count messages of bench/mail.py's corpus (median about 8.7 KB,
threads, attachments, non-ASCII) as a Maildir++ tree in five folders, then
times, each into a fresh account:

  * ``jmapd import maildir`` (messages/s, and the importer's peak RSS);
  * with --imap and Dovecot installed: the same mail APPENDed to a throw-away
    Dovecot (tests/mail/dovecot.py), then ``jmapd import imap``;
  * JMAP: upload + ``Email/import`` 50 per request, one client, against
    ``jmapd serve --workers 2`` (skip with --skip-jmap).

--database points the server at PostgreSQL (a database of its own: the
benchmark creates tables); the default is a SQLite file in a temp dir.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, scratch_dir  # noqa: E402
from mail import USING, Corpus  # noqa: E402

FOLDERS = ["", ".Archive", ".Archive.2020", ".Lists", ".Sent"]
T0 = 1_600_000_000


def write_maildir(root: Path, count: int) -> list[int]:
    corpus = Corpus()
    sizes = []
    for folder in FOLDERS:
        for sub in ("cur", "new", "tmp"):
            (root / folder / sub).mkdir(parents=True, exist_ok=True) if folder else (root / sub).mkdir(
                parents=True, exist_ok=True)
    for i in range(count):
        raw = corpus.message(i, count)
        sizes.append(len(raw))
        folder = FOLDERS[i % len(FOLDERS)]
        path = (root / folder if folder else root) / "cur" / f"{T0 + i}.M{i}P1.bench,S={len(raw)}:2,{'S' if i % 3 else ''}"
        path.write_bytes(raw)
        os.utime(path, (T0 + i, T0 + i))
    return sizes


def timed_cli(server: Server, *args: str, stdin: str | None = None) -> tuple[float, str, float]:
    """(seconds, stderr, peak RSS MB of the child) of one jmapd CLI run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(server.config), *args],
                         input=stdin, capture_output=True, text=True, env=env)
    elapsed = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed:\n{out.stderr}")
    return elapsed, out.stderr, max(peak, before) / 1024


def jmap_import(server: Server, user: str, password: str, count: int) -> tuple[float, float]:
    """(seconds in all, seconds of the Email/import calls alone)."""
    corpus = Corpus()
    http = httpx.Client(base_url=server.url, auth=(user, password), timeout=120)
    session = http.get("/.well-known/jmap").json()
    account = next(a for a, v in session["accounts"].items() if v["isPersonal"])
    boxes = http.post("/jmap/api", json={"using": USING, "methodCalls": [
        ["Mailbox/get", {"accountId": account, "ids": None}, "0"]]}).json()["methodResponses"][0][1]["list"]
    inbox = next(b["id"] for b in boxes if b["role"] == "inbox")
    started = time.monotonic()
    importing = 0.0
    for start in range(0, count, 50):
        emails = {}
        for i in range(start, min(count, start + 50)):
            blob = http.post(f"/jmap/upload/{account}", content=corpus.message(i, count),
                             headers={"Content-Type": "message/rfc822"}).json()["blobId"]
            emails[f"e{i}"] = {"blobId": blob, "mailboxIds": {inbox: True}, "keywords": {"$seen": True}}
        call = time.monotonic()
        resp = http.post("/jmap/api", json={"using": USING, "methodCalls": [
            ["Email/import", {"accountId": account, "emails": emails}, "0"]]}).json()
        importing += time.monotonic() - call
        created = resp["methodResponses"][0][1].get("created") or {}
        assert len(created) == len(emails), resp
    return time.monotonic() - started, importing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--database")
    parser.add_argument("--skip-jmap", action="store_true")
    parser.add_argument("--skip-maildir", action="store_true", help="only the JMAP (and --imap) figures")
    parser.add_argument("--imap", action="store_true", help="also import from a throw-away Dovecot")
    args = parser.parse_args()

    work = scratch_dir("jmapd-bench-import-")
    maildir = work / "Maildir"
    sizes = write_maildir(maildir, args.count)
    print(f"corpus: {args.count} messages, {sum(sizes) / 1e6:.1f} MB, median {statistics.median(sizes) / 1000:.1f} KB")
    server = Server(database=args.database)
    db = "PostgreSQL" if args.database else "SQLite"
    server.cli("migrate")
    if not args.skip_maildir:
        user, _ = server.user("maildir")
        secs, err, peak = timed_cli(server, "import", "maildir", "--user", user, str(maildir))
        print(f"maildir → {db}: {args.count / secs:.0f} msg/s ({secs:.1f} s), importer peak RSS {peak:.0f} MB")
        print("   " + err.strip().splitlines()[-1])

    if args.imap:
        sys.path.insert(0, str(Path(__file__).parent.parent / "tests" / "mail"))
        import dovecot  # type: ignore[import-not-found]

        if dovecot.DOVECOT is None:
            print("imap: skipped, " + dovecot.MISSING)
        else:
            imap_server = dovecot.start()
            try:
                login, password = imap_server.add_user()
                client = imap_server.client(login, password)
                corpus = Corpus()
                names = {folder: (folder[1:].replace(".", "/") or "INBOX") for folder in FOLDERS}
                for name in names.values():
                    if name != "INBOX":
                        client.create_folder(name)
                for i in range(args.count):
                    client.append(names[FOLDERS[i % len(FOLDERS)]], corpus.message(i, args.count))
                client.logout()
                user2, _ = server.user("imap")
                secs, err, peak = timed_cli(server, "import", "imap", "--user", user2, "--host", "127.0.0.1",
                                            "--port", str(imap_server.port), "--login", login,
                                            "--password-stdin", stdin=password + "\n")
                print(f"imap (Dovecot) → {db}: {args.count / secs:.0f} msg/s ({secs:.1f} s), peak RSS {peak:.0f} MB")
            finally:
                imap_server.stop()

    if not args.skip_jmap:
        user3, password3 = server.user("jmap", "jmap-password")
        server.start()
        try:
            secs, importing = jmap_import(server, user3, password3, args.count)
            print(f"JMAP upload + Email/import (50 per call) → {db}: {args.count / secs:.0f} msg/s ({secs:.1f} s;"
                  f" Email/import alone {args.count / importing:.0f} msg/s, {importing:.1f} s)")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
