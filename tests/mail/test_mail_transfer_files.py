"""``jmapd import maildir|mbox`` and ``jmapd export``, end to end through the CLI.

Fixtures are laid out the way real software writes them: a Dovecot
Maildir++ (``.Folder.Sub``, modified UTF-7 names, ``dovecot-keywords``,
``:2,`` flags), a mutt mbox (``Status``/``X-Status``, ``>From`` quoting, an
unquoted ``From`` in a body), a Thunderbird profile (``.sbd`` folders,
``X-Mozilla-Status`` with an expunged-but-not-compacted message).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jmapd.testing import wait_for

from .transfer_helpers import cli_env, jmapd, snapshot, write_config

T0 = 1_600_000_000  # 2020-09-13T12:26:40Z


def message(n: int, subject: str = "", body: str = "", extra: str = "") -> bytes:
    """An LF-ended message as files hold them."""
    text = (f"From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: {subject or f'message {n}'}\n"
            f"Date: Tue, 01 Jun 2021 10:00:00 +0200\nMessage-ID: <m{n}@example.com>\n{extra}"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{body or f'Body {n}.'}\n")
    return text.encode()


def maildir_file(folder: Path, n: int, flags: str, data: bytes, sub: str = "cur") -> Path:
    for s in ("cur", "new", "tmp"):
        (folder / s).mkdir(parents=True, exist_ok=True)
    name = f"{T0 + n}.M{n}P1.host,S={len(data)},W={len(data)}" + (f":2,{flags}" if sub == "cur" else "")
    file = folder / sub / name
    file.write_bytes(data)
    os.utime(file, (T0 + n, T0 + n))
    return file


@pytest.fixture
def config(tmp_path, jmapd_data_dir, jmapd_database):
    return write_config(tmp_path, jmapd_data_dir, jmapd_database)


def dovecot_maildir(root: Path) -> None:
    maildir_file(root, 1, "S", message(1))
    maildir_file(root, 2, "", message(2), sub="new")
    maildir_file(root, 3, "FRS", message(3))
    maildir_file(root / ".Sent", 4, "S", message(4))
    maildir_file(root / ".Archive", 5, "S", message(5))
    maildir_file(root / ".Archive.2020", 6, "Sab", message(6))
    (root / ".Archive.2020" / "dovecot-keywords").write_text("0 $label1\n1 project-x\n")
    maildir_file(root / ".Entw&APw-rfe", 7, "D", message(7))  # "Entwürfe", not a role name
    maildir_file(root / ".Projects.Q&AOQ-", 8, "T", message(8))  # Q + "ä", trashed flag: no keyword
    (root / "dovecot-uidlist").write_text("3 V1 N9\n")
    (root / "subscriptions").write_text("Sent\nArchive\n")


def test_maildir_import_folders_flags_dates_and_rerun(jmap_server, config, tmp_path):
    client = jmap_server.client()
    root = tmp_path / "Maildir"
    dovecot_maildir(root)
    (root / "cur" / f"{T0 + 9}.M9P1.host:2,S").write_bytes(b"")  # a broken (empty) file: reported, skipped
    done = jmapd(config, "import", "maildir", "--user", client.user, str(root))
    assert done.returncode == 1, done.stderr
    assert "8 imported, 0 already present, 1 failed" in done.stderr, done.stderr
    assert "empty message" in done.stderr
    snap = snapshot(client)
    mail, roles = snap["mail"], snap["roles"]
    assert mail["Inbox"] == {
        "m1@example.com": (["$seen"], "2020-09-13T12:26:41Z", len(message(1)) + message(1).count(b"\n")),
        "m2@example.com": ([], "2020-09-13T12:26:42Z", len(message(2)) + message(2).count(b"\n")),
        "m3@example.com": (["$answered", "$flagged", "$seen"], "2020-09-13T12:26:43Z", mail["Inbox"]["m3@example.com"][2]),
    }
    assert list(mail["Sent"]) == ["m4@example.com"] and roles["Sent"] == "sent"
    assert list(mail["Archive"]) == ["m5@example.com"] and roles["Archive"] == "archive"
    assert mail["Archive/2020"]["m6@example.com"][0] == ["$label1", "$seen", "project-x"]
    assert mail["Entwürfe"]["m7@example.com"][0] == ["$draft"]
    assert mail["Projects/Qä"]["m8@example.com"][0] == []
    # The stored bytes are the file's, with CRLF line ends.
    blob = next(e["blobId"] for e in snap["emails"] if e["messageId"] == ["m1@example.com"])
    url = client.session["downloadUrl"].replace("{accountId}", client.account_id).replace("{blobId}", blob)
    url = url.replace("{name}", "m.eml").replace("{type}", "message/rfc822")
    assert client.http.get(url).content == message(1).replace(b"\n", b"\r\n")
    again = jmapd(config, "import", "maildir", "--user", client.user, str(root))
    assert "0 imported, 8 already present, 1 failed" in again.stderr, again.stderr
    assert snapshot(client)["mail"] == mail
    maildir_file(root / ".Sent", 10, "S", message(10))
    dry = jmapd(config, "import", "maildir", "--user", client.user, "--dry-run", str(root))
    assert "would import" in dry.stderr and "dry run: 1 imported, 8 already present" in dry.stderr, dry.stderr
    assert "m10@example.com" not in snapshot(client)["mail"]["Sent"]
    more = jmapd(config, "import", "maildir", "--user", client.user, str(root))
    assert "1 imported, 8 already present" in more.stderr, more.stderr
    assert "m10@example.com" in snapshot(client)["mail"]["Sent"]


MUTT = b"""From alice@example.com Tue Jun  1 08:00:00 2021
Status: RO
X-Status: AF
From: Alice <alice@example.com>
Subject: first
Message-ID: <mutt1@example.com>

Hello.
>From the quoted line (mboxrd).
>>From a twice quoted line.
From here on, an unquoted line with no date stays body text.

From bob@example.org Wed Jun  2 09:30:00 2021 +0200
Status: O
From: Bob <bob@example.org>
Subject: second
Message-ID: <mutt2@example.com>

Unread.

"""

THUNDERBIRD_INBOX = b"""From - Thu Jun 03 10:00:00 2021
X-Mozilla-Status: 0001
X-Mozilla-Status2: 00000000
X-Mozilla-Keys: $label1
From: Carol <carol@example.net>
Subject: read, labelled
Message-ID: <tb1@example.net>

Read.

From - Thu Jun 03 11:00:00 2021
X-Mozilla-Status: 0009
X-Mozilla-Status2: 00000000
From: Carol <carol@example.net>
Subject: deleted in Thunderbird, not compacted
Message-ID: <tb2@example.net>

Gone.

"""


def test_mbox_import_mutt_and_thunderbird_layouts(jmap_server, config, tmp_path):
    client = jmap_server.client()
    mutt = tmp_path / "mutt-inbox"
    mutt.write_bytes(MUTT)
    done = jmapd(config, "import", "mbox", "--user", client.user, "--mailbox", "INBOX", str(mutt))
    assert done.returncode == 0 and "2 imported, 0 already present, 0 failed" in done.stderr, done.stderr
    snap = snapshot(client)
    assert snap["mail"]["Inbox"] == {
        "mutt1@example.com": (["$answered", "$flagged", "$seen"], "2021-06-01T08:00:00Z", snap["mail"]["Inbox"]["mutt1@example.com"][2]),
        "mutt2@example.com": ([], "2021-06-02T07:30:00Z", snap["mail"]["Inbox"]["mutt2@example.com"][2]),
    }
    ids = client.ok("Email/query", {"filter": {"subject": "first"}})["ids"]
    got = client.ok("Email/get", {"ids": ids, "properties": ["bodyValues", "textBody"], "fetchTextBodyValues": True})
    text = next(iter(got["list"][0]["bodyValues"].values()))["value"]
    assert text == ("Hello.\nFrom the quoted line (mboxrd).\n>From a twice quoted line.\n"
                    "From here on, an unquoted line with no date stays body text.\n")

    profile = tmp_path / "Mail" / "Local Folders"
    (profile / "Inbox.sbd").mkdir(parents=True)
    (profile / "Inbox").write_bytes(THUNDERBIRD_INBOX)
    (profile / "Inbox.msf").write_text("// mork index, not an mbox")
    (profile / "Inbox.sbd" / "Lists").write_bytes(MUTT.replace(b"mutt", b"list"))
    (profile / "Trash").write_bytes(b"")
    tb = jmapd(config, "import", "mbox", "--user", client.user, str(profile))
    assert tb.returncode == 0 and "3 imported, 0 already present, 0 failed" in tb.stderr, tb.stderr
    snap = snapshot(client)
    assert snap["mail"]["Inbox"]["tb1@example.net"][0] == ["$label1", "$seen"]
    assert "tb2@example.net" not in snap["mail"]["Inbox"]  # expunged flag: not imported
    assert set(snap["mail"]["Inbox/Lists"]) == {"list1@example.com", "list2@example.com"}
    assert snap["roles"]["Trash"] == "trash"
    again = jmapd(config, "import", "mbox", "--user", client.user, str(profile))
    assert "0 imported, 3 already present" in again.stderr, again.stderr


def test_round_trip_export_import_same_mail(jmap_server, config, tmp_path):
    source = jmap_server.client()
    root = tmp_path / "Maildir"
    dovecot_maildir(root)
    mutt = tmp_path / "mutt"
    mutt.write_bytes(MUTT)
    assert jmapd(config, "import", "maildir", "--user", source.user, str(root)).returncode == 0
    assert jmapd(config, "import", "mbox", "--user", source.user, "--mailbox", "Lists", str(mutt)).returncode == 0
    # One Email in two Mailboxes must come back as one Email in two Mailboxes.
    first = source.ok("Email/query", {"filter": {"subject": "message 1"}})["ids"][0]
    archive = next(b["id"] for b in source.ok("Mailbox/get", {"ids": None})["list"] if b["name"] == "Lists")
    source.ok("Email/set", {"update": {first: {f"mailboxIds/{archive}": True}}})
    before = snapshot(source)
    blobs = {tuple(e["messageId"]): e["blobId"] for e in before["emails"]}
    for fmt in ("maildir", "mbox"):
        out = tmp_path / f"export-{fmt}"
        done = jmapd(config, "export", "--user", source.user, "--format", fmt, str(out))
        assert done.returncode == 0 and f"{len(before['emails']) + 1} messages exported" in done.stderr, done.stderr
        target = jmap_server.client()
        back = jmapd(config, "import", fmt, "--user", target.user, str(out))
        assert back.returncode == 0, back.stderr
        after = snapshot(target)
        assert after["mail"] == before["mail"], fmt
        assert after["roles"] == before["roles"], fmt
        assert len(after["emails"]) == len(before["emails"])
        # Same bytes: content-addressed blob ids are equal.
        assert {tuple(e["messageId"]): e["blobId"] for e in after["emails"]} == blobs, fmt


def test_kill_9_then_resume_imports_only_what_is_missing(jmap_server, config, tmp_path):
    client = jmap_server.client()
    root = tmp_path / "big"
    n = 1200
    for i in range(n):
        maildir_file(root, i, "S" if i % 2 else "", message(i, body=f"number {i}\n" * 40))
    proc = subprocess.Popen([sys.executable, "-m", "jmapd.cli", "--config", str(config), "import", "maildir",
                             "--user", client.user, str(root)], env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def imported() -> int:
        return int(client.ok("Email/query", {"calculateTotal": True, "limit": 1})["total"])

    assert wait_for(lambda: imported() >= 200, timeout=120, interval=0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    partial = imported()
    assert 200 <= partial < n  # killed mid-run, and every committed batch is there
    done = jmapd(config, "import", "maildir", "--user", client.user, str(root))
    assert done.returncode == 0, done.stderr
    assert f"{n - partial} imported, {partial} already present, 0 failed" in done.stderr, done.stderr
    got = snapshot(client)["emails"]
    assert sorted(e["messageId"][0] for e in got) == sorted(f"m{i}@example.com" for i in range(n))
    assert sum(1 for e in got if e["keywords"].get("$seen")) == n // 2


def test_ctrl_c_keeps_what_committed_then_resume(jmap_server, config, tmp_path):
    client = jmap_server.client()
    root = tmp_path / "big"
    n = 1200
    for i in range(n):
        maildir_file(root, i, "S", message(i, body=f"number {i}\n" * 40))
    proc = subprocess.Popen([sys.executable, "-m", "jmapd.cli", "--config", str(config), "import", "maildir",
                             "--user", client.user, str(root)], env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def imported() -> int:
        return int(client.ok("Email/query", {"calculateTotal": True, "limit": 1})["total"])

    assert wait_for(lambda: imported() >= 200, timeout=120, interval=0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted; what was imported is kept" in err, err
    partial = imported()
    assert 200 <= partial < n
    # The report counts what committed, which is what the account holds.
    assert f"{partial} imported, 0 already present, 0 failed" in err, err
    done = jmapd(config, "import", "maildir", "--user", client.user, str(root))
    assert f"{n - partial} imported, {partial} already present, 0 failed" in done.stderr, done.stderr
    assert imported() == n


def test_nested_maildirs_and_eml_directories(jmap_server, config, tmp_path):
    """mutt/offlineimap-style nested Maildirs (folders are directories with cur/new, children inside)
    and a directory of .eml files, as a whole tree and with --mailbox on its own."""
    client = jmap_server.client()
    root = tmp_path / "Mail"
    maildir_file(root, 1, "S", message(1))
    maildir_file(root / "Work", 2, "F", message(2))
    maildir_file(root / "Work" / "Clients", 3, "", message(3), sub="new")
    (root / "Saved").mkdir()
    for n in (4, 5):
        eml = root / "Saved" / f"letter {n}.eml"
        eml.write_bytes(message(n))
        os.utime(eml, (T0 + n, T0 + n))
    done = jmapd(config, "import", "maildir", "--user", client.user, str(root))
    assert done.returncode == 0 and "5 imported, 0 already present, 0 failed" in done.stderr, done.stderr
    mail = snapshot(client)["mail"]
    assert list(mail["Inbox"]) == ["m1@example.com"]
    assert mail["Work"] == {"m2@example.com": (["$flagged"], "2020-09-13T12:26:42Z", mail["Work"]["m2@example.com"][2])}
    assert list(mail["Work/Clients"]) == ["m3@example.com"]
    assert {k: v[:2] for k, v in mail["Saved"].items()} == {
        "m4@example.com": ([], "2020-09-13T12:26:44Z"), "m5@example.com": ([], "2020-09-13T12:26:45Z")}

    letters = tmp_path / "letters"
    letters.mkdir()
    (letters / "a.eml").write_bytes(message(6))
    (letters / "notes.txt").write_text("not mail")
    alone = jmapd(config, "import", "maildir", "--user", client.user, "--mailbox", "Letters", str(letters))
    assert alone.returncode == 0 and "1 imported, 0 already present" in alone.stderr, alone.stderr
    assert list(snapshot(client)["mail"]["Letters"]) == ["m6@example.com"]


def test_export_one_mailbox_and_import_it_back(jmap_server, config, tmp_path):
    source = jmap_server.client()
    root = tmp_path / "Maildir"
    dovecot_maildir(root)
    assert jmapd(config, "import", "maildir", "--user", source.user, str(root)).returncode == 0
    before = snapshot(source)["mail"]
    for fmt in ("maildir", "mbox"):
        out = tmp_path / f"archive-{fmt}"
        done = jmapd(config, "export", "--user", source.user, "--format", fmt, "--mailbox", "Archive/2020", str(out))
        assert done.returncode == 0 and "1 messages exported from 1 mailboxes" in done.stderr, done.stderr
        if fmt == "mbox":
            assert out.is_file() and out.read_bytes().count(b"\nFrom ") + out.read_bytes().startswith(b"From ") == 1
        target = jmap_server.client()
        back = jmapd(config, "import", fmt, "--user", target.user, "--mailbox", "Old", str(out))
        assert back.returncode == 0 and "1 imported" in back.stderr, back.stderr
        assert snapshot(target)["mail"]["Old"] == before["Archive/2020"], fmt
    by_role = jmapd(config, "export", "--user", source.user, "--format", "mbox", "--mailbox", "sent",
                    str(tmp_path / "sent.mbox"))
    assert by_role.returncode == 0 and b"<m4@example.com>" in (tmp_path / "sent.mbox").read_bytes()
    missing = jmapd(config, "export", "--user", source.user, "--format", "mbox", "--mailbox", "Nope",
                    str(tmp_path / "x"))
    assert missing.returncode != 0 and "no mailbox 'Nope'" in missing.stderr


def test_progress_bar_on_a_terminal(jmap_server, config, tmp_path):
    """On a terminal the import draws tqdm's bar (the total known up front for a Maildir)."""
    import fcntl
    import pty
    import struct
    import termios

    client = jmap_server.client()
    root = tmp_path / "Maildir"
    for i in range(30):
        maildir_file(root, i, "S", message(i))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0 x 0
    proc = subprocess.Popen([sys.executable, "-m", "jmapd.cli", "--config", str(config), "import", "maildir",
                             "--user", client.user, str(root)], env=cli_env(), stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave)
    os.close(slave)
    screen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0, screen
    text = screen.decode(errors="replace")
    assert "100%|" in text and "30/30" in text and "msg/s" in text, text
    assert "30 imported, 0 already present, 0 failed" in text


def test_progress_line_without_a_terminal():
    """Not a terminal: a plain line (count, total, rate) at most every ``every`` seconds, none before."""
    import io

    from jmapd_mail.transfer.importer import Progress

    out = io.StringIO()
    quiet = Progress(450, out=out, every=3600)
    quiet.update(200)
    assert out.getvalue() == ""  # the interval has not passed
    out = io.StringIO()
    chatty = Progress(450, out=out, every=0)
    chatty.update(200)
    chatty.update(200)
    lines = out.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == ["200/450 messages", "400/450 messages"]
    assert all(line.endswith("/s") for line in lines)
