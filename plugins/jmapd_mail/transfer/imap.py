"""Reading mail out of an IMAP account (RFC 3501/9051) for ``jmapd import imap``.

Two passes over the folders: the first selects each one read-only and
lists the UIDs above its resume point (so the progress bar knows the
total before the first byte of mail moves); the second fetches them in
batches bounded by count and by octets (``RFC822.SIZE`` first, so a
10 MB message does not ride in a batch with a hundred others) with
``BODY.PEEK[]``, which leaves ``\\Seen`` on the source as it was.

Resume is per folder by UIDVALIDITY and the highest UID imported, which
the importer writes in the transaction of the batch that held that UID:
after a kill -9 the next run starts where the last committed batch ended.
When a folder's UIDVALIDITY changed, every message is looked at again and
the importer's content keys keep what is already in from being stored
twice.
"""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .importer import Importer
from .sources import SourceFolder, SourceMessage, crlf

#: SPECIAL-USE attributes (RFC 6154) → Mailbox roles (RFC 8457).
SPECIAL_USE = {
    b"\\sent": "sent", b"\\trash": "trash", b"\\drafts": "drafts", b"\\junk": "junk", b"\\archive": "archive",
}
#: Messages per FETCH, and octets per FETCH (by RFC822.SIZE).
FETCH_COUNT = 100
FETCH_OCTETS = 8_000_000
#: UIDs per size FETCH and per UID set on the wire (keeps command lines short).
UID_CHUNK = 500


@dataclass
class Folder:
    """One source folder as the first pass found it."""

    name: str  # as the server names it (decoded from modified UTF-7)
    path: tuple[str, ...]
    role: str | None
    uidvalidity: int
    uids: list[int]


def connect(host: str, port: int | None, *, security: str, login: str, password: str,
            cafile: str | None = None, timeout: float = 60.0) -> Any:
    """A logged-in IMAPClient; ``security`` is ``tls`` (implicit), ``starttls`` or ``none``."""
    from imapclient import IMAPClient

    context = ssl.create_default_context(cafile=cafile) if security != "none" else None
    client = IMAPClient(host, port=port or (993 if security == "tls" else 143), ssl=security == "tls",
                        ssl_context=context, timeout=timeout)
    if security == "starttls":
        client.starttls(context)
    client.normalise_times = False  # INTERNALDATE with its zone, not local time
    client.login(login, password)
    return client


def folder_path(name: str, delimiter: bytes | None, prefix: str) -> tuple[str, ...]:
    """A folder name as a path of names: the personal namespace prefix off, INBOX by its one name."""
    sep = delimiter.decode() if delimiter else ""
    if prefix and name.startswith(prefix) and name != prefix.rstrip(sep):
        name = name[len(prefix):]
    parts = tuple(p for p in name.split(sep)) if sep else (name,)
    if parts and parts[0].upper() == "INBOX":
        parts = ("INBOX", *parts[1:])
    return parts


def personal_prefix(client: Any) -> str:
    """The personal namespace's prefix (``INBOX.`` on Courier-style servers), '' without NAMESPACE."""
    if b"NAMESPACE" not in client.capabilities():
        return ""
    personal = client.namespace().personal
    return str(personal[0][0]) if personal else ""


def scan(client: Any, importer: Importer, source: str) -> list[Folder]:
    """First pass: every selectable folder, its role, and the UIDs still to import."""
    prefix = personal_prefix(client)
    folders: list[Folder] = []
    for flags, delimiter, name in client.list_folders():
        lowered = {f.lower() for f in flags}
        if b"\\noselect" in lowered or b"\\nonexistent" in lowered:
            continue
        role = next((SPECIAL_USE[f] for f in lowered if f in SPECIAL_USE), None)
        path = folder_path(name, delimiter, prefix)
        importer.declare(SourceFolder(path, role))
        status = client.select_folder(name, readonly=True)
        uidvalidity = int(status[b"UIDVALIDITY"])
        last = importer.resume_point(source, name, uidvalidity)
        uids = []
        if int(status.get(b"EXISTS", 0)):
            uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
        folders.append(Folder(name, path, role, uidvalidity, uids))
        client.unselect_folder() if b"UNSELECT" in client.capabilities() else client.close_folder()
    return folders


def _batches(client: Any, uids: list[int]) -> Iterator[list[int]]:
    """UIDs in fetch batches bounded by count and by total size."""
    for start in range(0, len(uids), UID_CHUNK):
        chunk = uids[start:start + UID_CHUNK]
        sizes = client.fetch(chunk, ["RFC822.SIZE"])
        batch: list[int] = []
        octets = 0
        for uid in chunk:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
            if batch and (len(batch) >= FETCH_COUNT or octets + size > FETCH_OCTETS):
                yield batch
                batch, octets = [], 0
            batch.append(uid)
            octets += size
        if batch:
            yield batch


def received(value: Any) -> datetime.datetime | None:
    """INTERNALDATE as the naive UTC datetime the store keeps."""
    if not isinstance(value, datetime.datetime):
        return None
    when: datetime.datetime = value
    if when.tzinfo is not None:
        when = when.astimezone(datetime.UTC).replace(tzinfo=None)
    return when.replace(microsecond=0)


def keywords(flags: Any) -> set[str]:
    """IMAP flags as the importer's keyword names (system flags are mapped there)."""
    return {f.decode("utf-8", "replace") if isinstance(f, bytes) else str(f) for f in flags or ()}


def read_imap(client: Any, importer: Importer, source: str, folders: list[Folder]) -> Iterator[SourceMessage]:
    """Second pass: every pending message, folder by folder, advancing each folder's resume point.

    The resume point for a UID is noted just before the message is handed
    over: the importer keeps it with its queue and writes it in the
    transaction of the batch that holds that message, never before.
    """
    for folder in folders:
        if not folder.uids:
            continue
        if importer.progress:
            importer.progress.describe("/".join(folder.path))
        client.select_folder(folder.name, readonly=True)
        for batch in _batches(client, folder.uids):
            fetched = client.fetch(batch, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
            for uid in batch:
                data = fetched.get(uid)
                if data is None:  # expunged since the first pass
                    importer.note_uid(source, folder.name, folder.uidvalidity, uid)
                    continue
                raw = data.get(b"BODY[]") or b""
                importer.note_uid(source, folder.name, folder.uidvalidity, uid)
                yield SourceMessage(folder.path, crlf(raw), keywords(data.get(b"FLAGS")),
                                    received(data.get(b"INTERNALDATE")), origin=f"{folder.name} UID {uid}", uid=uid)
