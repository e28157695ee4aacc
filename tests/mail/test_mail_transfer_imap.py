"""``jmapd import imap`` against a real Dovecot, end to end through the CLI.

Dovecot is filled over IMAP APPEND (flags, INTERNALDATE, nested and
non-ASCII folders, SPECIAL-USE), then imported into a jmapd account and
read back over JMAP. Incremental runs, a changed UIDVALIDITY, a message over
10 MB, a folder of 5,000 messages, kill -9 and resume, STARTTLS, and a wrong
password are each covered.
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys

import pytest

from jmapd.testing import wait_for

from . import dovecot as dc
from .transfer_helpers import cli_env, jmapd, snapshot, write_config

if dc.DOVECOT is None:
    pytest.skip(dc.MISSING, allow_module_level=True)

UTC = datetime.UTC


@pytest.fixture(scope="module")
def imap_server():
    server = dc.start()
    yield server
    server.stop()


@pytest.fixture
def config(tmp_path, jmapd_data_dir, jmapd_database):
    return write_config(tmp_path, jmapd_data_dir, jmapd_database)


def message(n: int, body: str = "") -> bytes:
    return (f"From: Carol <carol@example.net>\r\nTo: alice@example.com\r\nSubject: imap {n}\r\n"
            f"Date: Wed, 02 Jun 2021 09:00:00 +0000\r\nMessage-ID: <imap{n}@example.net>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body or f'Body {n}.'}\r\n").encode()


def at(day: int) -> datetime.datetime:
    return datetime.datetime(2021, 6, day, 8, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))


def all_emails(client) -> list[dict]:
    """Every Email of the account, paged (a query answers at most the server's limit per call)."""
    ids: list[str] = []
    while True:
        page = client.ok("Email/query", {"position": len(ids), "limit": 1000})["ids"]
        if not page:
            break
        ids += page
    out: list[dict] = []
    for i in range(0, len(ids), 500):
        out += client.ok("Email/get", {"ids": ids[i:i + 500], "properties": [
            "messageId", "keywords", "size", "blobId"]})["list"]
    return out


def run_import(config, user, imap_server, login, password, *extra: str, timeout: float = 600):
    return jmapd(config, "import", "imap", "--user", user, "--host", "127.0.0.1", "--port", str(imap_server.port),
                 "--login", login, "--password-stdin", *extra, stdin=password + "\n", timeout=timeout)


def test_imap_import_folders_flags_dates_roles_then_incremental(jmap_server, config, imap_server):
    client = jmap_server.client()
    login, password = imap_server.add_user()
    imap = imap_server.client(login, password)
    for folder in ("Sent", "Papierkorb", "Archive", "Archive/2020", "Entwürfe", "Entwürfe/Ünter"):
        imap.create_folder(folder)
    imap.append("INBOX", message(1), flags=[b"\\Seen"], msg_time=at(1))
    imap.append("INBOX", message(2), flags=[b"\\Flagged", b"\\Answered", b"project-x"], msg_time=at(2))
    imap.append("INBOX", message(3), flags=[], msg_time=at(3))
    imap.append("Sent", message(4), flags=[b"\\Seen"], msg_time=at(4))
    imap.append("Papierkorb", message(5), flags=[b"\\Seen", b"\\Deleted"], msg_time=at(5))
    imap.append("Archive/2020", message(6), flags=[b"\\Seen", b"$Label1"], msg_time=at(6))
    imap.append("Entwürfe/Ünter", message(7), flags=[b"\\Draft"], msg_time=at(7))

    done = run_import(config, client.user, imap_server, login, password)
    assert done.returncode == 0, done.stderr
    assert "7 imported, 0 already present, 0 failed" in done.stderr, done.stderr
    snap = snapshot(client)
    mail = snap["mail"]
    assert mail["Inbox"] == {
        "imap1@example.net": (["$seen"], "2021-06-01T06:30:00Z", len(message(1))),
        "imap2@example.net": (["$answered", "$flagged", "project-x"], "2021-06-02T06:30:00Z", len(message(2))),
        "imap3@example.net": ([], "2021-06-03T06:30:00Z", len(message(3))),
    }
    # SPECIAL-USE names the role whatever the folder is called: "Papierkorb" (\Trash) is filled into
    # the account's Trash, not made beside it; \Deleted is the old server's state, not a keyword.
    assert snap["roles"]["Sent"] == "sent" and snap["roles"]["Trash"] == "trash"
    assert "Papierkorb" not in mail and list(mail["Sent"]) == ["imap4@example.net"]
    assert mail["Trash"] == {"imap5@example.net": (["$seen"], "2021-06-05T06:30:00Z", len(message(5)))}
    assert mail["Archive/2020"] == {"imap6@example.net": (["$label1", "$seen"], "2021-06-06T06:30:00Z",
                                                            len(message(6)))}
    assert mail["Entwürfe/Ünter"] == {"imap7@example.net": (["$draft"], "2021-06-07T06:30:00Z",
                                                              len(message(7)))}
    assert mail["Archive"] == {} and mail["Entwürfe"] == {}
    # The source is untouched: BODY.PEEK[] left \Seen as it was.
    imap.select_folder("INBOX", readonly=True)
    assert [b"\\Seen" in f[b"FLAGS"] for _, f in sorted(imap.fetch(imap.search(["ALL"]), ["FLAGS"]).items())] == [True, False, False]

    again = run_import(config, client.user, imap_server, login, password)
    assert again.returncode == 0 and "0 imported, 0 already present, 0 failed" in again.stderr, again.stderr

    # New mail on the source: only it is fetched.
    imap.append("INBOX", message(8), flags=[], msg_time=at(8))
    imap.append("Archive/2020", message(9), flags=[b"\\Seen"], msg_time=at(9))
    more = run_import(config, client.user, imap_server, login, password)
    assert more.returncode == 0 and "2 imported, 0 already present, 0 failed" in more.stderr, more.stderr
    mail = snapshot(client)["mail"]
    assert set(mail["Inbox"]) == {f"imap{n}@example.net" for n in (1, 2, 3, 8)}
    assert set(mail["Archive/2020"]) == {"imap6@example.net", "imap9@example.net"}

    # A folder recreated on the source gets a new UIDVALIDITY: looked at again, nothing stored twice.
    imap.delete_folder("Archive/2020")
    imap.create_folder("Archive/2020")
    imap.append("Archive/2020", message(6), flags=[b"\\Seen"], msg_time=at(6))
    imap.append("Archive/2020", message(10), flags=[], msg_time=at(10))
    redo = run_import(config, client.user, imap_server, login, password)
    assert redo.returncode == 0 and "1 imported, 1 already present, 0 failed" in redo.stderr, redo.stderr
    final = snapshot(client)
    assert set(final["mail"]["Archive/2020"]) == {f"imap{n}@example.net" for n in (6, 9, 10)}
    assert len(final["emails"]) == 10
    imap.logout()


def test_imap_big_folder_big_message_kill_9_and_resume(jmap_server, config, imap_server):
    client = jmap_server.client()
    login, password = imap_server.add_user()
    imap = imap_server.client(login, password)
    imap.create_folder("Lists")
    n = 5000
    for start in range(0, n, 500):
        imap.multiappend("Lists", [message(i) for i in range(start, min(n, start + 500))])
    big = message(99999, body=("x" * 998 + "\r\n") * 11_000)  # 11 MB
    assert len(big) > 10_000_000
    imap.append("INBOX", big, flags=[b"\\Seen"], msg_time=at(9))
    imap.logout()

    proc = subprocess.Popen(
        [sys.executable, "-m", "jmapd.cli", "--config", str(config), "import", "imap", "--user", client.user,
         "--host", "127.0.0.1", "--port", str(imap_server.port), "--login", login, "--password-stdin"],
        env=cli_env(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(password.encode() + b"\n")
    proc.stdin.close()

    def imported() -> int:
        return int(client.ok("Email/query", {"calculateTotal": True, "limit": 1})["total"])

    assert wait_for(lambda: imported() >= 600, timeout=300, interval=0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = imported()
    assert 600 <= partial < n + 1  # killed mid-run; every committed batch is there

    done = run_import(config, client.user, imap_server, login, password)
    assert done.returncode == 0, done.stderr
    summary = [line for line in done.stderr.splitlines() if " imported, " in line][-1]
    got_new = int(summary.split(" imported")[0])
    present = int(summary.split(", ")[1].split(" already")[0])
    # The resume point was written with each committed batch: nothing is fetched twice.
    assert got_new + partial == n + 1 and present == 0, done.stderr
    emails = all_emails(client)
    assert len(emails) == n + 1
    assert sorted(e["messageId"][0] for e in emails) == sorted([f"imap{i}@example.net" for i in range(n)]
                                                               + ["imap99999@example.net"])
    big_email = next(e for e in emails if e["messageId"] == ["imap99999@example.net"])
    assert big_email["size"] == len(big) and big_email["keywords"] == {"$seen": True}
    body = client.download(big_email["blobId"])
    assert body == big


def test_imap_starttls_dry_run_and_wrong_password(jmap_server, config, imap_server):
    client = jmap_server.client()
    login, password = imap_server.add_user()
    imap = imap_server.client(login, password)
    imap.append("INBOX", message(1), flags=[b"\\Seen"], msg_time=at(1))
    imap.logout()

    wrong = run_import(config, client.user, imap_server, login, "not-the-password", "--starttls",
                       "--cafile", imap_server.cafile)
    assert wrong.returncode != 0
    assert "cannot log in to 127.0.0.1" in wrong.stderr and "Traceback" not in wrong.stderr, wrong.stderr

    untrusted = run_import(config, client.user, imap_server, login, password, "--starttls")
    assert untrusted.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr, untrusted.stderr

    dry = run_import(config, client.user, imap_server, login, password, "--starttls", "--cafile",
                     imap_server.cafile, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would import INBOX UID 1" in dry.stderr and "dry run: 1 imported" in dry.stderr, dry.stderr
    assert client.ok("Email/query", {"calculateTotal": True})["total"] == 0

    real = run_import(config, client.user, imap_server, login, password, "--starttls", "--cafile",
                      imap_server.cafile)
    assert real.returncode == 0 and "1 imported, 0 already present" in real.stderr, real.stderr
    assert client.ok("Email/query", {"calculateTotal": True})["total"] == 1

    # Implicit TLS (imaps) on its own port: a wrong CA is refused, the right one works.
    imap = imap_server.client(login, password)
    imap.append("INBOX", message(2), flags=[], msg_time=at(2))
    imap.logout()
    refused = run_import(config, client.user, imap_server, login, password, "--tls", "--port",
                         str(imap_server.tls_port))
    assert refused.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr, refused.stderr
    tls = run_import(config, client.user, imap_server, login, password, "--tls", "--port",
                     str(imap_server.tls_port), "--cafile", imap_server.cafile)
    # Another port is another source (its own resume points): the message imported over STARTTLS
    # is fetched again and recognised by its content, not stored twice.
    assert tls.returncode == 0 and "1 imported, 1 already present" in tls.stderr, tls.stderr
    assert client.ok("Email/query", {"calculateTotal": True})["total"] == 2


def test_imap_password_prompt_and_progress_bar_on_a_terminal(jmap_server, config, imap_server):
    """Without --password-stdin the password is asked for on the terminal (not echoed, not read
    from stdin), and the terminal gets tqdm's bar with the total from the first pass."""
    import fcntl
    import pty
    import struct
    import termios

    client = jmap_server.client()
    login, password = imap_server.add_user()
    imap = imap_server.client(login, password)
    imap.multiappend("INBOX", [message(i) for i in range(12)])
    imap.logout()
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "jmapd.cli", "--config", str(config), "import", "imap", "--user", client.user,
         "--host", "127.0.0.1", "--port", str(imap_server.port), "--login", login],
        env=cli_env(), stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))  # the pty is its controlling terminal
    os.close(slave)
    screen = b""
    prompted = False
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
        if not prompted and b"IMAP password for " in screen:
            os.write(master, password.encode() + b"\n")
            prompted = True
    os.close(master)
    assert proc.wait(timeout=120) == 0, screen
    text = screen.decode(errors="replace")
    assert f"IMAP password for {login}@127.0.0.1: " in text and password not in text, text
    assert "100%|" in text and "12/12" in text, text
    assert "12 imported, 0 already present, 0 failed" in text, text
    assert client.ok("Email/query", {"calculateTotal": True})["total"] == 12
