"""``jmapd export``: an account's mail as Maildir++ or mbox files.

What :mod:`.importer` reads back from an export is the same mail: the
same bytes (line ends as LF, as Dovecot, mutt and Thunderbird write files;
the importer restores CRLF), keywords as Maildir flags / ``Status``,
``X-Status`` and ``X-Keywords`` headers, receivedAt as the file's mtime /
the ``From `` line date, and the Mailbox tree as folders.
"""

from __future__ import annotations

import datetime
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jmapd.db import tuples

from ..models import Email, EmailMailbox, Mailbox
from . import utf7

if TYPE_CHECKING:
    from jmapd.services import Services

MAILDIR_LETTERS = {"$draft": "D", "$flagged": "F", "$forwarded": "P", "$answered": "R", "$seen": "S"}
X_STATUS_LETTERS = {"$answered": "A", "$flagged": "F", "$draft": "T"}
PAGE = 500


def mailbox_paths(account_id: str) -> list[tuple[str, tuple[str, ...], str | None]]:
    """(id, path of names from the top, role) of every Mailbox, parents first."""
    rows = {r.id: r for r in Mailbox.select().where(Mailbox.account_id == account_id)}

    def path(mailbox_id: str, seen: frozenset[str] = frozenset()) -> tuple[str, ...]:
        row = rows[mailbox_id]
        if row.parent_id in rows and row.parent_id not in seen:
            return (*path(row.parent_id, seen | {mailbox_id}), row.name)
        return (row.name,)

    out = [(i, path(i), r.role) for i, r in rows.items()]
    return sorted(out, key=lambda item: (len(item[1]), item[1]))


def messages(account_id: str, mailbox_id: str) -> Iterator[tuple[str, int, list[str], datetime.datetime, Any]]:
    """(blob id, seq, keywords, receivedAt, summary) of a Mailbox's Emails, oldest first, a page at a time."""
    last: tuple[datetime.datetime, int] | None = None
    while True:
        query = (Email.select(Email.blob_id, Email.seq, Email.keywords, EmailMailbox.received_at, Email.summary)
                 .join(EmailMailbox, on=(EmailMailbox.email_id == Email.id))
                 .where((EmailMailbox.mailbox_id == mailbox_id) & (Email.account_id == account_id)))
        if last is not None:
            query = query.where((EmailMailbox.received_at > last[0])
                                | ((EmailMailbox.received_at == last[0]) & (Email.seq > last[1])))
        rows = list(tuples(query.order_by(EmailMailbox.received_at, Email.seq).limit(PAGE)))
        yield from rows
        if len(rows) < PAGE:
            return
        last = (rows[-1][3], rows[-1][1])


def lf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n")


def _timestamp(when: datetime.datetime) -> float:
    return when.replace(tzinfo=datetime.UTC).timestamp()


class Exporter:
    def __init__(self, services: Services, account_id: str, out: Any = sys.stderr) -> None:
        self.services, self.account_id, self.out = services, account_id, out
        self.count = 0
        self.mailboxes = 0

    def selected(self, name: str | None) -> list[tuple[str, tuple[str, ...], str | None]]:
        boxes = mailbox_paths(self.account_id)
        if name is None:
            return boxes
        chosen = [b for b in boxes if "/".join(b[1]) == name or b[1][-1] == name or b[2] == name.lower()]
        if not chosen:
            raise SystemExit(f"jmapd export: no mailbox {name!r}")
        return chosen[:1]

    def _raw(self, blob_id: str) -> bytes | None:
        raw = self.services.blobs.read(blob_id)
        if raw is None:
            print(f"blob {blob_id} missing: skipped", file=self.out)
        return raw

    # -- Maildir ---------------------------------------------------------------

    def maildir(self, root: Path, name: str | None, progress: Any = None) -> None:
        """Maildir++: the inbox is ``root`` itself, other Mailboxes ``.Parent.Child`` (modified UTF-7)."""
        for mailbox_id, path, role in self.selected(name):
            if role == "inbox" and len(path) == 1 or name is not None:
                directory = root
            else:
                directory = root / ("." + ".".join(utf7.encode(p, also="./") for p in path))
            for sub in ("cur", "new", "tmp"):
                (directory / sub).mkdir(parents=True, exist_ok=True)
            self.mailboxes += 1
            custom: dict[str, str] = {}
            for blob_id, seq, keywords, received, _ in messages(self.account_id, mailbox_id):
                raw = self._raw(blob_id)
                if raw is None:
                    continue
                flags = []
                for keyword in keywords or []:
                    if keyword in MAILDIR_LETTERS:
                        flags.append(MAILDIR_LETTERS[keyword])
                    elif keyword in custom or len(custom) < 26:
                        flags.append(custom.setdefault(keyword, chr(ord("a") + len(custom))))
                data = lf(raw)
                ts = _timestamp(received)
                file = directory / "cur" / f"{int(ts)}.M{seq}P{os.getpid()}.jmapd,S={len(data)}:2,{''.join(sorted(flags))}"
                file.write_bytes(data)
                os.utime(file, (ts, ts))
                self.count += 1
                if progress is not None:
                    progress.update(1)
            if custom:
                lines = "".join(f"{ord(letter) - ord('a')} {keyword}\n" for keyword, letter in custom.items())
                (directory / "dovecot-keywords").write_text(lines)

    # -- mbox --------------------------------------------------------------------

    def mbox(self, target: Path, name: str | None, progress: Any = None) -> None:
        """One mbox file per Mailbox (children in ``Name.sbd/``, as Thunderbird lays them out),
        or the one Mailbox ``name`` into the file ``target``; mboxrd quoting."""
        for mailbox_id, path, _ in self.selected(name):
            if name is not None:
                file = target
            else:
                file = target.joinpath(*(p.replace("/", "_") + ".sbd" for p in path[:-1]), path[-1].replace("/", "_"))
            file.parent.mkdir(parents=True, exist_ok=True)
            self.mailboxes += 1
            with file.open("wb") as fh:
                for blob_id, _, keywords, received, summary in messages(self.account_id, mailbox_id):
                    raw = self._raw(blob_id)
                    if raw is None:
                        continue
                    fh.write(mbox_entry(raw, keywords or [], received, summary))
                    self.count += 1
                    if progress is not None:
                        progress.update(1)


QUOTE = re.compile(rb"^(>*From )", re.MULTILINE)


def mbox_entry(raw: bytes, keywords: list[str], received: datetime.datetime, summary: Any) -> bytes:
    """One mboxrd entry: ``From `` line, the message with its keywords as headers, a blank line."""
    sender = "MAILER-DAEMON"
    addresses = (summary or {}).get("from") or []
    if addresses and isinstance(addresses[0].get("email"), str) and re.fullmatch(r"\S+@\S+", addresses[0]["email"]):
        sender = addresses[0]["email"]
    data = lf(raw)
    head, sep, body = data.partition(b"\n\n")
    if not sep:
        head, body = data.rstrip(b"\n"), b""
    status = "RO" if "$seen" in keywords else "O"
    x_status = "".join(letter for kw, letter in X_STATUS_LETTERS.items() if kw in keywords)
    custom = [k for k in keywords if k != "$seen" and k not in X_STATUS_LETTERS]
    meta = f"Status: {status}\n" + (f"X-Status: {x_status}\n" if x_status else "")
    meta += f"X-Keywords: {' '.join(custom)}\n" if custom else ""
    message = head.rstrip(b"\n") + b"\n" + meta.encode() + b"\n" + body
    if not message.endswith(b"\n"):
        message += b"\n"
    date = f"{received:%a %b} {received.day:2d} {received:%H:%M:%S %Y}"  # asctime, in UTC
    return f"From {sender} {date}\n".encode() + QUOTE.sub(rb">\1", message) + b"\n"
