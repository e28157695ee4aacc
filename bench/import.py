"""Import benchmark (issue #14): how fast mail moves in.

    python bench/import.py [--count 3000] [--database URL] [--skip-jmap] [--skip-maildir] [--imap]

Writes --count messages of bench/mail.py's corpus (median about 8.7 KB,
threads, attachments, non-ASCII) as a Maildir++ tree in five folders, then
times, each into a fresh account:

  * ``jmapd import maildir`` (messages/s, and the importer's peak RSS);
  * with --imap and Dovecot installed: the same mail APPENDed to a throw-away
    Dovecot (tests/mail/dovecot.py), then ``jmapd import imap``;
  * JMAP: upload + ``Email/import`` 50 per request against ``jmapd serve
    --workers 2``, once over one connection (each upload waits for the one
    before) and once pipelined as a migration tool would run it (4 upload
    connections, the next batch uploading while this one imports), and once
    with the bytes in the request (Blob/upload, RFC 9404, back-referenced by
    the Email/import of the same request: one request per 50), each with
    the server's CPU per message and, on PostgreSQL, that of the database's
    backends (skip both with --skip-jmap).

--database points the server at PostgreSQL: a database named after it with
``_import`` appended is dropped and made anew for the run; the default is a
SQLite file in a temp dir. Each CLI import also prints its CPU time per
message and its peak RSS and PSS (sampled every 0.2 s): run --count 2000 and
--count 10000 to see that memory does not grow with the number of messages.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, process_tree, scratch_dir  # noqa: E402
from mail import USING, Corpus, _fresh_pg  # noqa: E402

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


@dataclass
class Run:
    """One jmapd CLI run: wall seconds, its CPU seconds, its peak RSS and PSS (MB), its stderr."""

    seconds: float
    cpu: float
    rss_mb: float
    pss_mb: float
    stderr: str


def _memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of one process in MB, 0 once it is gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0, 0.0
    fields = {line.split(":")[0]: int(line.split()[1]) for line in rollup.splitlines()[1:] if line.endswith("kB")}
    return fields.get("Rss", 0) / 1024, fields.get("Pss", 0) / 1024


def timed_cli(server: Server, *args: str, stdin: str | None = None) -> Run:
    """Run a jmapd CLI command, sampling its memory every 0.2 s (the peak is what stays flat or not
    as the message count grows) and reading its CPU time from wait4."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "jmapd.cli", "--config", str(server.config), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stdin is not None and proc.stderr is not None
    if stdin is not None:
        proc.stdin.write(stdin.encode())
    proc.stdin.close()
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read() if proc.stderr else b""), daemon=True)
    reader.start()
    rss = pss = 0.0
    while proc.poll() is None:
        r, p = _memory(proc.pid)
        rss, pss = max(rss, r), max(pss, p)
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    reader.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    stderr = b"".join(err).decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed:\n{stderr}")
    return Run(elapsed, cpu, rss, pss, stderr)


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and every process below it."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


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


def jmap_import_pipelined(server: Server, user: str, password: str, count: int, uploaders: int = 4) -> float:
    """Seconds for the same import as a migration tool would run it: ``uploaders`` connections
    upload the next batch of 50 while the current one's Email/import runs (as bench/mail.py's
    fill does), so the server's two workers and the database work side by side."""
    import concurrent.futures

    corpus = Corpus()
    clients = [httpx.Client(base_url=server.url, auth=(user, password), timeout=120) for _ in range(uploaders + 1)]
    http = clients[-1]
    session = http.get("/.well-known/jmap").json()
    account = next(a for a, v in session["accounts"].items() if v["isPersonal"])
    boxes = http.post("/jmap/api", json={"using": USING, "methodCalls": [
        ["Mailbox/get", {"accountId": account, "ids": None}, "0"]]}).json()["methodResponses"][0][1]["list"]
    inbox = next(b["id"] for b in boxes if b["role"] == "inbox")
    pool = concurrent.futures.ThreadPoolExecutor(uploaders)

    def upload(i: int) -> str:
        resp = clients[i % uploaders].post(f"/jmap/upload/{account}", content=corpus.message(i, count),
                                           headers={"Content-Type": "message/rfc822"})
        resp.raise_for_status()
        return str(resp.json()["blobId"])

    def prepare(start: int) -> list[tuple[int, str]]:
        ids = list(range(start, min(count, start + 50)))
        return list(zip(ids, pool.map(upload, ids), strict=True))

    started = time.monotonic()
    starts = list(range(0, count, 50))
    pending = prepare(starts[0]) if starts else []
    for n in range(len(starts)):
        nxt = pool.submit(prepare, starts[n + 1]) if n + 1 < len(starts) else None
        emails = {f"e{i}": {"blobId": blob, "mailboxIds": {inbox: True}, "keywords": {"$seen": True}}
                  for i, blob in pending}
        resp = http.post("/jmap/api", json={"using": USING, "methodCalls": [
            ["Email/import", {"accountId": account, "emails": emails}, "0"]]}).json()
        assert len(resp["methodResponses"][0][1].get("created") or {}) == len(emails), resp
        pending = nxt.result() if nxt else []
    elapsed = time.monotonic() - started
    pool.shutdown()
    for c in clients:
        c.close()
    return elapsed


def jmap_import_blob_upload(server: Server, user: str, password: str, count: int) -> float:
    """Seconds for the same import with the bytes in the API request itself: one request per 50
    messages, a Blob/upload (RFC 9404, base64) and the Email/import that back-references it
    (as bench/mail.py's fill does), so there is no HTTP upload and no upload transaction per message."""
    import base64

    corpus = Corpus()
    http = httpx.Client(base_url=server.url, auth=(user, password), timeout=300)
    session = http.get("/.well-known/jmap").json()
    account = next(a for a, v in session["accounts"].items() if v["isPersonal"])
    boxes = http.post("/jmap/api", json={"using": USING, "methodCalls": [
        ["Mailbox/get", {"accountId": account, "ids": None}, "0"]]}).json()["methodResponses"][0][1]["list"]
    inbox = next(b["id"] for b in boxes if b["role"] == "inbox")
    started = time.monotonic()
    for start in range(0, count, 50):
        uploads: dict[str, Any] = {}
        emails: dict[str, Any] = {}
        for i in range(start, min(count, start + 50)):
            raw = corpus.message(i, count)
            if len(raw) > 1_000_000:  # kept out of the request's size limit, as bench/mail.py does
                blob = http.post(f"/jmap/upload/{account}", content=raw,
                                 headers={"Content-Type": "message/rfc822"}).json()["blobId"]
            else:
                uploads[f"b{i}"] = {"data": [{"data:asBase64": base64.b64encode(raw).decode()}], "type": "message/rfc822"}
                blob = f"#b{i}"
            emails[f"e{i}"] = {"blobId": blob, "mailboxIds": {inbox: True}, "keywords": {"$seen": True}}
        resp = http.post("/jmap/api", json={"using": [*USING, "urn:ietf:params:jmap:blob"], "methodCalls": [
            ["Blob/upload", {"accountId": account, "create": uploads}, "u"],
            ["Email/import", {"accountId": account, "emails": emails}, "0"]]}).json()
        assert len(resp["methodResponses"][-1][1].get("created") or {}) == len(emails), resp
    http.close()
    return time.monotonic() - started


def database_cpu(url: str | None) -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to the bench's database
    (the server is shared: other databases' backends are not counted); 0 on SQLite."""
    if not url:
        return 0.0
    from urllib.parse import urlparse

    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                        (urlparse(url).path.lstrip("/"),))
            pids = [r[0] for r in cur.fetchall()]
    finally:
        conn.close()
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


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
    database = _fresh_pg(args.database, "_import") if args.database else None
    server = Server(database=database)
    db = "PostgreSQL" if args.database else "SQLite"
    server.cli("migrate")
    if not args.skip_maildir:
        user, _ = server.user("maildir")
        run = timed_cli(server, "import", "maildir", "--user", user, str(maildir))
        print(f"maildir → {db}: {args.count / run.seconds:.0f} msg/s ({run.seconds:.1f} s; importer CPU"
              f" {run.cpu * 1000 / args.count:.2f} ms/msg, peak RSS {run.rss_mb:.0f} MB, PSS {run.pss_mb:.0f} MB)")
        print("   " + run.stderr.strip().splitlines()[-1])

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
                run = timed_cli(server, "import", "imap", "--user", user2, "--host", "127.0.0.1",
                                "--port", str(imap_server.port), "--login", login,
                                "--password-stdin", stdin=password + "\n")
                print(f"imap (Dovecot) → {db}: {args.count / run.seconds:.0f} msg/s ({run.seconds:.1f} s; importer CPU"
                      f" {run.cpu * 1000 / args.count:.2f} ms/msg, peak RSS {run.rss_mb:.0f} MB, PSS {run.pss_mb:.0f} MB)")
            finally:
                imap_server.stop()

    if not args.skip_jmap:
        user3, password3 = server.user("jmap", "jmap-password")
        user4, password4 = server.user("jmap4", "jmap-password")
        user5, password5 = server.user("jmapblob", "jmap-password")
        server.start()
        try:
            assert server.proc is not None
            # The backends of the server's pools exist once it answered a request.
            httpx.get(server.url + "/.well-known/jmap", auth=(user3, password3), timeout=60)
            cpu0, db0 = tree_cpu(server.proc.pid), database_cpu(database)
            secs, importing = jmap_import(server, user3, password3, args.count)
            cpu, db_cpu = tree_cpu(server.proc.pid) - cpu0, database_cpu(database) - db0
            print(f"JMAP upload + Email/import (50 per call, one connection) → {db}: {args.count / secs:.0f} msg/s"
                  f" ({secs:.1f} s; Email/import alone {args.count / importing:.0f} msg/s, {importing:.1f} s;"
                  f" CPU per message: server {cpu * 1000 / args.count:.2f} ms"
                  + (f", PostgreSQL {db_cpu * 1000 / args.count:.2f} ms" if database else "") + ")")
            cpu0, db0 = tree_cpu(server.proc.pid), database_cpu(database)
            secs = jmap_import_pipelined(server, user4, password4, args.count)
            cpu, db_cpu = tree_cpu(server.proc.pid) - cpu0, database_cpu(database) - db0
            print(f"JMAP pipelined (4 upload connections, next batch uploading during Email/import) → {db}:"
                  f" {args.count / secs:.0f} msg/s ({secs:.1f} s; CPU per message: server {cpu * 1000 / args.count:.2f} ms"
                  + (f", PostgreSQL {db_cpu * 1000 / args.count:.2f} ms" if database else "") + ")")
            cpu0, db0 = tree_cpu(server.proc.pid), database_cpu(database)
            secs = jmap_import_blob_upload(server, user5, password5, args.count)
            cpu, db_cpu = tree_cpu(server.proc.pid) - cpu0, database_cpu(database) - db0
            print(f"JMAP Blob/upload + Email/import in one request per 50 (RFC 9404) → {db}:"
                  f" {args.count / secs:.0f} msg/s ({secs:.1f} s; CPU per message: server {cpu * 1000 / args.count:.2f} ms"
                  + (f", PostgreSQL {db_cpu * 1000 / args.count:.2f} ms" if database else "") + ")")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
