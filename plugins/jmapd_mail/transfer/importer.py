"""Writing imported messages: folders to Mailboxes, batches, content keys, the report.

A batch is one write transaction: its blobs are durable before it commits,
and each message's content key (SHA-256 of its bytes, per Mailbox) and the
IMAP resume point are written with it. So whatever the report counted as
imported survives a kill -9, and a re-run imports only what is missing.
The same bytes already imported into another Mailbox of the account are
added to that Email's Mailboxes instead of stored twice (Gmail labels,
an export of an Email in two Mailboxes).
"""

from __future__ import annotations

import datetime
import hashlib
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jmapd.db import tuples, write_transaction
from jmapd.models import new_id
from jmapd.state import CREATED, UPDATED, ChangeLog

from .. import bulk, store
from ..bulk import NewEmail
from ..domain.parse import parse_message
from ..models import EmailMailbox, ImportKey, ImportState, Mailbox
from .sources import SourceFolder, SourceMessage

#: Well-known folder names (case-folded) of the top level → Mailbox role (RFC 8457 names).
ROLE_NAMES = {
    "inbox": "inbox",
    "drafts": "drafts", "draft": "drafts",
    "sent": "sent", "sent items": "sent", "sent messages": "sent", "sent mail": "sent",
    "trash": "trash", "deleted items": "trash", "deleted messages": "trash", "bin": "trash",
    "junk": "junk", "spam": "junk", "junk e-mail": "junk", "junk email": "junk",
    "archive": "archive", "archives": "archive",
}
BATCH = 200
BATCH_BYTES = 16_000_000


@dataclass
class Report:
    """What a run did; the CLI prints it at the end."""

    imported: int = 0
    present: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    mailboxes_created: int = 0
    started: float = field(default_factory=time.monotonic)

    def summary(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.imported / elapsed if elapsed > 0 else 0.0
        return (f"{self.imported} imported, {self.present} already present, {len(self.failed)} failed,"
                f" {self.mailboxes_created} mailboxes created, {elapsed:.1f} s ({rate:.0f} messages/s)")


class Progress:
    """A tqdm bar on a terminal; otherwise a line on stderr every few seconds."""

    def __init__(self, total: int | None, out: Any = sys.stderr, every: float = 5.0) -> None:
        self.out, self.every, self.count, self.total = out, every, 0, total
        self.started = self.last = time.monotonic()
        self.bar: Any = None
        if getattr(out, "isatty", lambda: False)():
            from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type information

            self.bar = tqdm(total=total, unit="msg", file=out, dynamic_ncols=True)

    def describe(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_description(text[:30])

    def update(self, n: int) -> None:
        self.count += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = self.count / (now - self.started)
            of = f"/{self.total}" if self.total else ""
            print(f"{self.count}{of} messages, {rate:.0f}/s", file=self.out, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def clean_keywords(keywords: Iterable[str], report: Report | None = None, origin: str = "") -> list[str]:
    """Keywords JMAP can hold (lower-cased); IMAP system flags mapped, the rest dropped."""
    out = set()
    for keyword in keywords:
        k = keyword.lower()
        k = {"\\seen": "$seen", "\\answered": "$answered", "\\flagged": "$flagged", "\\draft": "$draft"}.get(k, k)
        if k.startswith("\\"):
            continue  # \Recent, \Deleted, ...: state of the old server, not of the message
        if store.valid_keyword(k):
            out.add(k)
    return sorted(out)


class Importer:
    """Imports :class:`SourceMessage` values into one account's Mailboxes."""

    def __init__(self, services: Any, account_id: str, *, dry_run: bool = False, out: Any = sys.stderr) -> None:
        self.services, self.account_id, self.dry_run, self.out = services, account_id, dry_run, out
        self.report = Report()
        self.changes = ChangeLog()
        self._paths: dict[tuple[str, ...], str] = {}
        self._roles: dict[tuple[str, ...], str | None] = {}
        self._batch: list[tuple[str, SourceMessage, str]] = []
        self._batch_bytes = 0
        self._resume: dict[tuple[str, str], tuple[int, int]] = {}
        #: Type states of the transactions that committed, told to listeners by :meth:`finish`.
        self._settled: dict[str, dict[str, str]] = {}
        self.progress: Progress | None = None

    # -- Mailboxes -----------------------------------------------------------

    def declare(self, folder: SourceFolder) -> None:
        """Note a source folder's role (SPECIAL-USE) before its messages arrive."""
        self._roles[folder.path] = folder.role

    def mailbox_for(self, path: tuple[str, ...]) -> str:
        """The Mailbox id of a folder path, made (with its parents) if missing.

        The top-level INBOX, a SPECIAL-USE folder and a well-known name
        (Sent, Trash, ...) go to the account's Mailbox with that role when
        it has one; other names match a sibling by name, or are created.
        """
        if not path:
            path = ("INBOX",)
        if path in self._paths:
            return self._paths[path]
        parent = self.mailbox_for(path[:-1]) if len(path) > 1 else None
        name = path[-1]
        role = self._roles.get(path) or (ROLE_NAMES.get(name.casefold()) if parent is None else None)
        if name.upper() == "INBOX" and parent is None:
            role = "inbox"
        rows = list(Mailbox.select(Mailbox.id, Mailbox.name, Mailbox.role, Mailbox.parent_id).where(
            Mailbox.account_id == self.account_id))
        found = next((r.id for r in rows if role and r.role == role), None)
        if found is None:
            found = next((r.id for r in rows if r.parent_id == parent and r.name == name), None)
        if found is None:
            if role and any(r.role == role for r in rows):
                role = None
            found = self._create_mailbox(name, parent, role)
        self._paths[path] = found
        return found

    def _create_mailbox(self, name: str, parent: str | None, role: str | None) -> str:
        mailbox_id = new_id("m")
        self.report.mailboxes_created += 1
        if self.dry_run:
            print(f"would create mailbox {name!r}" + (f" (role {role})" if role else ""), file=self.out)
            return mailbox_id
        with write_transaction(self.account_id):
            Mailbox.insert(id=mailbox_id, account_id=self.account_id, name=name, parent_id=parent, role=role).execute()
            self.changes.record(self.account_id, "Mailbox", mailbox_id, CREATED)
            self.changes.flush()
        self._settle()
        return mailbox_id

    # -- resume points (IMAP) -------------------------------------------------

    def resume_point(self, source: str, folder: str, uidvalidity: int) -> int:
        """The highest UID already imported from this folder, 0 if none or UIDVALIDITY changed."""
        row = ImportState.get_or_none((ImportState.account_id == self.account_id) & (ImportState.source == source)
                                      & (ImportState.folder == folder))
        if row is None or row.uidvalidity != uidvalidity:
            return 0
        return int(row.last_uid)

    def note_uid(self, source: str, folder: str, uidvalidity: int, uid: int) -> None:
        """Advance the folder's resume point with the next committed batch."""
        self._resume[(source, folder)] = (uidvalidity, max(uid, self._resume.get((source, folder), (0, 0))[1]))

    # -- messages ------------------------------------------------------------

    def add(self, message: SourceMessage) -> None:
        """Queue one message; a full batch is written."""
        mailbox_id = self.mailbox_for(message.folder)
        self._batch.append((mailbox_id, message, digest(message.raw)))
        self._batch_bytes += len(message.raw)
        if len(self._batch) >= BATCH or self._batch_bytes >= BATCH_BYTES:
            self.flush()

    def run(self, messages: Iterable[SourceMessage]) -> Report:
        for message in messages:
            self.add(message)
        self.finish()
        return self.report

    def finish(self) -> None:
        """Write what is queued and tell listeners once (one StateChange per type)."""
        try:
            self.flush()
        finally:
            self.tell()

    def interrupted(self) -> None:
        """Ctrl-C: drop what is queued (a re-run imports it) and tell listeners what committed."""
        self._batch, self._batch_bytes, self._resume = [], 0, {}
        self.tell()

    def tell(self) -> None:
        """The one ``changes_committed`` of a run, with the states of what committed."""
        settled, self._settled = self._settled, {}
        if settled:
            self.services.changes_committed(settled)

    def _settle(self) -> None:
        """A transaction committed: its type states are kept for :meth:`tell` (one whose
        commit an interruption stopped leaves its states out)."""
        for account_id, changed in self.changes.committed.items():
            self._settled.setdefault(account_id, {}).update(changed)
        self.changes.committed = {}

    def flush(self) -> None:
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        resume, self._resume = self._resume, {}
        if not batch and not resume:
            return
        parsed = {}
        for i, (_, message, _) in enumerate(batch):
            if message.raw.strip() == b"":
                self._fail(message, "empty message")
                continue
            p = parse_message(message.raw)
            if not p.headers:
                self._fail(message, "no header fields: not a message")
                continue
            parsed[i] = p
        if self.dry_run:
            present = self._present(batch)
            for i, (mailbox_id, message, key) in enumerate(batch):
                if i in parsed and (mailbox_id, key) not in present:
                    print(f"would import {message.origin} ({len(message.raw)} octets)", file=self.out)
                    self.report.imported += 1
                elif i in parsed:
                    self.report.present += 1
            if self.progress:
                self.progress.update(len(batch))
            return
        imported = present_count = 0
        # The blobs of the batch are made durable together (one syncfs) as the inner block ends,
        # before the transaction whose rows point at them commits.
        with write_transaction(self.account_id), self.services.blobs.deferred_sync():
            present = self._present(batch)
            by_digest = self._by_digest([key for i, (_, _, key) in enumerate(batch) if i in parsed])
            keys = []
            # New content is stored in one bulk write; the same bytes for another Mailbox
            # of the batch join that Email's Mailboxes, as for an Email stored before.
            fresh: dict[str, tuple[NewEmail, list[tuple[str, SourceMessage]]]] = {}
            for i, (mailbox_id, message, key) in enumerate(batch):
                if i not in parsed:
                    continue
                if (mailbox_id, key) in present:
                    present_count += 1
                    continue
                present.add((mailbox_id, key))
                if key in fresh:
                    fresh[key][0].mailbox_ids.append(mailbox_id)
                    fresh[key][1].append((mailbox_id, message))
                    continue
                email_id = by_digest.get(key)
                if email_id is None:
                    fresh[key] = (NewEmail(message.raw, [mailbox_id], clean_keywords(message.keywords), parsed[i],
                                           received_at(message)), [(mailbox_id, message)])
                    continue
                try:
                    with self.changes.savepoint():
                        mailboxes = {r[0] for r in tuples(EmailMailbox.select(EmailMailbox.mailbox_id).where(
                            EmailMailbox.email_id == email_id))}
                        if store.set_mailboxes(self.changes, self.account_id, email_id, mailboxes | {mailbox_id}):
                            self.changes.record(self.account_id, "Email", email_id, UPDATED, props=["mailboxIds"])
                except Exception as exc:  # one broken message never stops the run
                    self._fail(message, f"{type(exc).__name__}: {exc}")
                    continue
                keys.append({"account_id": self.account_id, "mailbox_id": mailbox_id, "digest": key, "email_id": email_id})
                imported += 1
            for key, result, sources in self._create(list(fresh.items())):
                for mailbox_id, message in sources:
                    if isinstance(result, Exception):
                        self._fail(message, f"{type(result).__name__}: {result}")
                        continue
                    keys.append({"account_id": self.account_id, "mailbox_id": mailbox_id, "digest": key,
                                 "email_id": result["id"]})
                    imported += 1
            for chunk in range(0, len(keys), 300):
                ImportKey.insert_many(keys[chunk:chunk + 300]).execute()
            for (source, folder), (uidvalidity, uid) in resume.items():
                updated = ImportState.update(uidvalidity=uidvalidity, last_uid=uid).where(
                    (ImportState.account_id == self.account_id) & (ImportState.source == source)
                    & (ImportState.folder == folder)).execute()
                if not updated:
                    ImportState.insert(account_id=self.account_id, source=source, folder=folder,
                                       uidvalidity=uidvalidity, last_uid=uid).execute()
            self.changes.flush()
        self._settle()
        self.report.imported += imported
        self.report.present += present_count
        if self.progress:
            self.progress.update(len(batch))

    def _create(self, fresh: list[tuple[str, tuple[NewEmail, list[tuple[str, SourceMessage]]]]]) -> Iterator[
            tuple[str, dict[str, Any] | Exception, list[tuple[str, SourceMessage]]]]:
        """Store the batch's new Emails: in one bulk write, or (when that fails) one at a time,
        so that a message the database refuses is reported alone."""
        if not fresh:
            return
        try:
            with self.changes.savepoint():
                results: list[dict[str, Any] | Exception] = list(bulk.create_emails(
                    self.services, self.changes, self.account_id, [item for _, (item, _) in fresh]))
        except Exception:
            results = []
            for _, (item, _) in fresh:
                try:
                    with self.changes.savepoint():
                        results.append(bulk.create_one(self.services, self.changes, self.account_id, item))
                except Exception as exc:  # one broken message never stops the run
                    results.append(exc)
        for (key, (_, sources)), result in zip(fresh, results, strict=True):
            yield key, result, sources

    def _fail(self, message: SourceMessage, reason: str) -> None:
        self.report.failed.append((message.origin, reason))
        print(f"skipped {message.origin}: {reason}", file=self.out)

    def _present(self, batch: list[tuple[str, SourceMessage, str]]) -> set[tuple[str, str]]:
        keys = sorted({key for _, _, key in batch})
        found: set[tuple[str, str]] = set()
        for chunk in range(0, len(keys), 300):
            rows = tuples(ImportKey.select(ImportKey.mailbox_id, ImportKey.digest).where(
                (ImportKey.account_id == self.account_id) & ImportKey.digest.in_(keys[chunk:chunk + 300])))
            found.update((m, d) for m, d in rows)
        return found

    def _by_digest(self, keys: list[str]) -> dict[str, str]:
        """Emails this account already got from an import, by content key."""
        out: dict[str, str] = {}
        unique = sorted(set(keys))
        for chunk in range(0, len(unique), 300):
            rows = tuples(ImportKey.select(ImportKey.digest, ImportKey.email_id).where(
                (ImportKey.account_id == self.account_id) & ImportKey.digest.in_(unique[chunk:chunk + 300])))
            for d, email_id in rows:
                out[d] = email_id
        if out:  # only Emails that still exist
            from ..models import Email

            alive = {r[0] for r in tuples(Email.select(Email.id).where(
                (Email.account_id == self.account_id) & Email.id.in_(list(set(out.values())))))}
            out = {d: e for d, e in out.items() if e in alive}
        return out


def received_at(message: SourceMessage) -> datetime.datetime | None:
    from .sources import header_date

    return message.received_at or header_date(message.raw)
