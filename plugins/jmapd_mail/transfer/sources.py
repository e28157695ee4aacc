"""Reading mail out of files: Maildir (Maildir++ and nested), mbox (mboxo/mboxrd), .eml directories.

Every reader yields :class:`SourceMessage` values one at a time (memory stays
flat in the number of messages). Bytes are normalised to CRLF line ends, the
RFC 5322 form IMAP servers hand out, so the same message read from a file and
from a server has the same content key; mbox bookkeeping headers (``Status``,
``X-Status``, ``X-Keywords``, ``X-Mozilla-*``, ...) become keywords and are
taken out of the stored message, as Dovecot does when it serves an mbox.
"""

from __future__ import annotations

import datetime
import email.utils
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import utf7

#: Flag letters of a Maildir ``:2,`` suffix (T, "trashed", is IMAP \Deleted: no keyword).
MAILDIR_FLAGS = {"D": "$draft", "F": "$flagged", "P": "$forwarded", "R": "$answered", "S": "$seen"}
#: mbox ``Status:``/``X-Status:`` letters (D, deleted-pending-expunge, has no keyword).
STATUS_FLAGS = {"R": "$seen"}
X_STATUS_FLAGS = {"A": "$answered", "F": "$flagged", "T": "$draft"}
#: Thunderbird's X-Mozilla-Status bits.
MOZ_READ, MOZ_REPLIED, MOZ_FLAGGED, MOZ_EXPUNGED, MOZ_FORWARDED = 0x1, 0x2, 0x4, 0x8, 0x1000
#: Headers that are mbox bookkeeping, not part of the message.
MBOX_META = {
    b"status", b"x-status", b"x-keywords", b"x-uid", b"x-imap", b"x-imapbase",
    b"x-mozilla-status", b"x-mozilla-status2", b"x-mozilla-keys",
}
#: ``From sender date`` separators: the asctime date is what says it is one
#: (a body line "From here on ..." that an mboxo writer left unquoted is not).
FROM_LINE = re.compile(
    rb"^From \S+\s+(?:[A-Z][a-z]{2} )?([A-Z][a-z]{2}) +(\d{1,2}) (\d{1,2}):(\d\d)(?::(\d\d))?"
    rb"(?: +([A-Z]{3,4}|[+-]\d{4}))? +(\d{4})(?: +([+-]\d{4}))?\s*$"
)
FROM_QUOTED = re.compile(rb"^>+From ")
MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


@dataclass
class SourceMessage:
    """One message to import; ``origin`` names it in reports (file, offset or UID)."""

    folder: tuple[str, ...]
    raw: bytes
    keywords: set[str] = field(default_factory=set)
    received_at: datetime.datetime | None = None
    origin: str = ""
    #: IMAP only: the UID, for the per-folder resume point.
    uid: int | None = None


@dataclass
class SourceFolder:
    """A folder of a source, with what the source says about its role (IMAP SPECIAL-USE)."""

    path: tuple[str, ...]
    role: str | None = None
    selectable: bool = True


def crlf(data: bytes) -> bytes:
    """Line ends as CRLF (bare LF and bare CR alike)."""
    if b"\r" not in data:
        return data.replace(b"\n", b"\r\n")
    return re.sub(rb"\r\n|\r|\n", b"\r\n", data)


def utc(ts: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).replace(tzinfo=None, microsecond=0)


# -- Maildir ---------------------------------------------------------------------

def _maildir_keywords(directory: Path) -> dict[str, str]:
    """Dovecot's ``dovecot-keywords`` file: letter a..z → keyword name."""
    names: dict[str, str] = {}
    try:
        text = (directory / "dovecot-keywords").read_text("utf-8", "replace")
    except OSError:
        return names
    for line in text.splitlines():
        number, _, name = line.partition(" ")
        if number.isdigit() and int(number) < 26 and name:
            names[chr(ord("a") + int(number))] = name
    return names


def maildir_flags(filename: str, custom: dict[str, str]) -> set[str]:
    """Keywords from the ``:2,FLAGS`` info of a Maildir file name."""
    _, sep, info = filename.rpartition(":2,")
    if not sep:
        _, sep, info = filename.rpartition("!2,")  # the separator some Windows-hosted Maildirs use
    keywords: set[str] = set()
    for letter in info if sep else "":
        if letter in MAILDIR_FLAGS:
            keywords.add(MAILDIR_FLAGS[letter])
        elif letter in custom:
            keywords.add(custom[letter])
    return keywords


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() or (path / "new").is_dir()


def maildir_folders(root: Path) -> list[tuple[tuple[str, ...], Path]]:
    """(folder path, directory) of every folder under ``root``.

    ``root`` itself is the inbox (empty path). Maildir++ folders are the
    ``.A.B`` directories at the top (names in modified UTF-7, as Dovecot and
    Courier write them); other directories that are Maildirs, or hold
    ``.eml`` files, are nested folders named by their relative path.
    """
    found: list[tuple[tuple[str, ...], Path]] = []
    if _is_maildir(root) or any(root.glob("*.eml")):
        found.append(((), root))
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if not entry.is_dir() or entry.name in ("cur", "new", "tmp"):
            continue
        if entry.name.startswith(".") and _is_maildir(entry):
            parts = tuple(utf7.decode(p) for p in entry.name[1:].split(".") if p)
            if parts:
                found.append((parts, entry))
        elif not entry.name.startswith("."):
            for sub_path, sub_dir in maildir_folders(entry):
                found.append(((entry.name, *sub_path), sub_dir))
    return found


def read_maildir(root: Path) -> Iterator[SourceMessage]:
    """Every message of a Maildir tree (or .eml directory), folder by folder, oldest file first."""
    for path, directory in maildir_folders(root):
        custom = _maildir_keywords(directory)
        files: list[tuple[float, Path]] = []
        for sub in ("new", "cur"):
            if (directory / sub).is_dir():
                files.extend((f.stat().st_mtime, f) for f in (directory / sub).iterdir() if f.is_file()
                             and not f.name.startswith("."))
        files.extend((f.stat().st_mtime, f) for f in directory.glob("*.eml") if f.is_file())
        files.sort()
        for mtime, file in files:
            keywords = maildir_flags(file.name, custom) if file.parent.name == "cur" else set()
            yield SourceMessage(path, crlf(file.read_bytes()), keywords, utc(mtime), origin=str(file))


# -- mbox --------------------------------------------------------------------------

def from_line_date(line: bytes) -> datetime.datetime | None:
    """The UTC date of an mbox ``From `` line (asctime, optionally with a zone), or None."""
    m = FROM_LINE.match(line.rstrip(b"\r\n"))
    if not m or m.group(1).decode() not in MONTHS:
        return None
    month, day, hour, minute, second = MONTHS[m.group(1).decode()], int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5) or 0)
    try:
        dt = datetime.datetime(int(m.group(7)), month, day, hour, minute, second)
    except ValueError:
        return None
    zone = m.group(8) or (m.group(6) if m.group(6) and m.group(6)[:1] in b"+-" else None)
    if zone:
        sign = 1 if zone[:1] == b"+" else -1
        dt -= sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    return dt


def _mbox_message(lines: list[bytes], received: datetime.datetime | None, path: tuple[str, ...], origin: str) -> SourceMessage | None:
    """One mbox entry: bookkeeping headers to keywords, ``>From`` unquoted (mboxrd), CRLF."""
    keywords: set[str] = set()
    out: list[bytes] = []
    in_header = True
    skip_continuation = False
    expunged = False
    for line in lines:
        if in_header:
            if line in (b"\n", b"\r\n"):
                in_header = False
                out.append(line)
                continue
            if line[:1] in (b" ", b"\t"):
                if not skip_continuation:
                    out.append(line)
                continue
            name, _, value = line.partition(b":")
            skip_continuation = name.strip().lower() in MBOX_META
            if not skip_continuation:
                out.append(line)
                continue
            lname, text = name.strip().lower(), value.strip().decode("latin-1")
            if lname == b"status":
                keywords.update(STATUS_FLAGS[c] for c in text if c in STATUS_FLAGS)
            elif lname == b"x-status":
                keywords.update(X_STATUS_FLAGS[c] for c in text if c in X_STATUS_FLAGS)
            elif lname in (b"x-keywords", b"x-mozilla-keys"):
                keywords.update(k for k in re.split(r"[\s,]+", text) if k)
            elif lname == b"x-mozilla-status":
                try:
                    bits = int(text, 16)
                except ValueError:
                    bits = 0
                expunged = bool(bits & MOZ_EXPUNGED)
                for bit, kw in ((MOZ_READ, "$seen"), (MOZ_REPLIED, "$answered"), (MOZ_FLAGGED, "$flagged"),
                                (MOZ_FORWARDED, "$forwarded")):
                    if bits & bit:
                        keywords.add(kw)
            continue
        out.append(line[1:] if FROM_QUOTED.match(line) else line)
    if expunged:  # deleted in Thunderbird, still in the file until it compacts the folder
        return None
    if out and out[-1] in (b"\n", b"\r\n"):
        out.pop()  # the blank line that separates entries belongs to the mbox, not the message
    return SourceMessage(path, crlf(b"".join(out)), keywords, received, origin=origin)


def read_mbox(file: Path, path: tuple[str, ...]) -> Iterator[SourceMessage]:
    """The messages of one mbox file, streamed.

    A new entry starts at a ``From `` line with a date, at the start of the
    file or after an empty line; a ``From `` line in a body that is not so
    placed, or has no date, is body text (some mboxo writers do not quote).
    """
    lines: list[bytes] = []
    received: datetime.datetime | None = None
    start = 0
    offset = 0
    previous_blank = True
    with file.open("rb") as fh:
        for line in fh:
            if line.startswith(b"From ") and previous_blank and FROM_LINE.match(line.rstrip(b"\r\n")):
                if lines or offset:
                    msg = _mbox_message(lines, received, path, f"{file}@{start}")
                    if msg is not None:
                        yield msg
                lines, received, start = [], from_line_date(line), offset
            else:
                lines.append(line)
            previous_blank = line in (b"\n", b"\r\n")
            offset += len(line)
    if lines or offset:
        msg = _mbox_message(lines, received, path, f"{file}@{start}")
        if msg is not None:
            yield msg


def is_mbox(file: Path) -> bool:
    """A file whose first line is an mbox ``From `` line (an empty file counts: an empty folder)."""
    try:
        with file.open("rb") as fh:
            first = fh.readline()
    except OSError:
        return False
    return first == b"" or bool(FROM_LINE.match(first.rstrip(b"\r\n")))


def mbox_folders(root: Path, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Path]]:
    """(folder path, file) of each mbox in a directory tree: one file per folder,
    children of ``Name`` in ``Name.sbd/`` (Thunderbird) or in a directory ``Name/``."""
    found: list[tuple[tuple[str, ...], Path]] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.suffix in (".msf", ".dat", ".json", ".html"):
            continue
        if entry.is_dir():
            name = entry.name[:-4] if entry.name.endswith(".sbd") else entry.name
            found.extend(mbox_folders(entry, (*prefix, name)))
        elif entry.is_file() and is_mbox(entry):
            found.append(((*prefix, entry.name), entry))
    return found


def read_mbox_tree(target: Path, mailbox: str | None) -> Iterator[SourceMessage]:
    """One mbox file (into ``mailbox``, else a folder named after the file) or a directory of them."""
    if target.is_dir():
        for path, file in mbox_folders(target):
            yield from read_mbox(file, (*((mailbox,) if mailbox else ()), *path))
    else:
        yield from read_mbox(target, (mailbox,) if mailbox else (target.stem or target.name,))


def header_date(raw: bytes) -> datetime.datetime | None:
    """The Date header as naive UTC, for sources with no received date of their own."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    m = re.search(rb"(?im)^date:[ \t]*(.*(?:\r\n[ \t].*)*)", head)
    if not m:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(m.group(1).decode("latin-1").replace("\r\n", ""))
    except (TypeError, ValueError):
        return None
    if dt.tzinfo is None:
        return dt
    return dt.astimezone(datetime.UTC).replace(tzinfo=None)


def file_size(path: Path) -> int:
    """Bytes to read under ``path`` (for the progress bar of file sources)."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())

