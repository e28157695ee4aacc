"""The blob store: content-addressed, deduplicated, durable.

A blobId is derived from the SHA-256 of the bytes, so the same content
uploaded twice is stored once. Bytes live on the filesystem (written to a
temporary file, fsynced, renamed, directory fsynced: a successful upload
survives a crash) or in the database for multi-host deployments. Which
accounts may see a blob is recorded separately (``AccountBlob``); objects
that keep a blob alive are ``BlobRef`` rows, and ``gc`` removes the rest.
A sharee's upload into another user's account also names its uploader
(``BlobUploader``), the one sharee it opens to.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .db import insert_rows, later, marks, plain_rows
from .models import AccountBlob, Blob, BlobData, BlobRef, BlobUploader, now

PREFIX = "B"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def blob_id_for(data: bytes) -> str:
    return PREFIX + hashlib.sha256(data).hexdigest()


def is_content_id(blob_id: str) -> bool:
    return len(blob_id) == 65 and blob_id.startswith(PREFIX) and all(c in "0123456789abcdef" for c in blob_id[1:])


def _syncfs(path: Path) -> bool:
    """syncfs(2) of the filesystem holding ``path`` (Linux); False where there is none."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        if call(fd) != 0:
            raise OSError(ctypes.get_errno(), "syncfs failed", str(path))
    finally:
        os.close(fd)
    return True


class BlobStore:
    def __init__(self, kind: str, path: Path, inline_max: int = 0) -> None:
        self.kind = kind
        self.path = path
        #: A blob stored alone (an upload, a delivery) of at most this many
        #: octets goes into the database with the rows that point at it.
        self.inline_max = inline_max if kind == "filesystem" else 0
        #: Per thread: files written inside :meth:`deferred_sync`, not yet durable.
        self._local = threading.local()
        #: Fan-out directories known to exist (nothing removes them).
        self._dirs: set[Path] = set()
        if kind == "filesystem":
            try:
                path.mkdir(mode=0o700, parents=True, exist_ok=True)  # blob files are private (mkstemp: 0600)
            except OSError as exc:  # named for the operator, not a traceback
                from .config import ConfigError

                raise ConfigError(f"blobs.path: cannot create {path}: {exc.strerror}") from None

    @staticmethod
    def id_for(data: bytes) -> str:
        """The blobId ``data`` has (or would have) once stored."""
        return blob_id_for(data)

    def _file(self, blob_id: str) -> Path:
        digest = blob_id[1:]
        return self.path / digest[:2] / digest[2:4] / digest

    def _write_file(self, blob_id: str, data: bytes) -> None:
        target = self._file(blob_id)
        if target.exists():
            return
        pending: list[Path] | None = getattr(self._local, "pending", None)
        if target.parent not in self._dirs:  # two syscalls a blob saved on a bulk import
            for directory in (target.parent.parent, target.parent):  # mkdir(parents=True) ignores mode for parents
                if not directory.is_dir():
                    directory.mkdir(mode=0o700, exist_ok=True)
                    # A new directory's entry lives in its parent: unsynced, a
                    # crash could take the directory, and the blob a success
                    # answer promised, with it (deferred_sync's syncfs covers it).
                    if pending is None:
                        _fsync_dir(directory.parent)
            self._dirs.add(target.parent)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if pending is None:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if pending is not None:
            pending.append(target)
            return
        _fsync_dir(target.parent)

    @contextlib.contextmanager
    def deferred_sync(self) -> Iterator[None]:
        """Make the blobs written in the block durable together, at its end.

        For bulk writers (``jmapd import``): instead of two fsyncs per blob,
        one syncfs(2) of the blob filesystem (or, where there is none, the
        fsyncs at the end). The block must end before the transaction whose
        rows point at these blobs commits; an exception skips nothing that
        matters (uncommitted rows point at nothing, ``gc`` takes the files).
        """
        if self.kind != "filesystem" or getattr(self._local, "pending", None) is not None:
            yield
            return
        pending: list[Path] = []
        self._local.pending = pending
        try:
            yield
        finally:
            self._local.pending = None
        if pending and not _syncfs(self.path):
            for file in pending:
                fd = os.open(file, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            for directory in {f.parent for f in pending}:
                _fsync_dir(directory)

    def _inline(self, blob_id: str, data: bytes) -> bool:
        """Whether ``data`` goes into the database rather than a file.

        NOTE(durability): a file costs two or three fsyncs of its own (file,
        directory, a new fan-out directory) before the transaction's commit
        fsyncs the database; a small blob stored alone rides in that commit
        instead, so an upload or a delivery is durable after one fsync (the
        WAL's, or PostgreSQL's commit), not four. :meth:`read` finds either.
        Batches (:meth:`deferred_sync`) keep files: one syncfs covers them.
        Content already on disk as a file is not stored twice.
        """
        return (
            len(data) <= self.inline_max
            and getattr(self._local, "pending", None) is None
            and not self._file(blob_id).exists()
        )

    def put(self, account_id: str, data: bytes, content_type: str = "application/octet-stream",
            uploader: str | None = None) -> str:
        """Store bytes (idempotently) and make them visible to ``account_id``.

        Bytes are made durable before the rows that point at them commit
        (or, kept in the database, by that very commit). ``uploader``: the
        Principal of a sharee storing them in an account not theirs, to whom
        (and to nobody else of the sharees) the blob is then open.
        """
        blob_id = blob_id_for(data)
        if self.kind == "filesystem" and not self._inline(blob_id, data):
            self._write_file(blob_id, data)
        elif self.kind == "filesystem" or not plain_rows("SELECT 1 FROM jmap_blob_data WHERE blob_id = ?", (blob_id,)):
            # Small (inline): the same bytes again are ignored by the INSERT, one statement fewer.
            later("INSERT INTO jmap_blob_data (blob_id, data) VALUES (?, ?) ON CONFLICT DO NOTHING", (blob_id, data))
        # NOTE(perf): plain SQL, sent with the next statement (jmapd.db.later): every upload and delivery runs these
        stamp = now()
        later("INSERT INTO jmap_blob (id, size, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
              (blob_id, len(data), stamp))
        later("INSERT INTO jmap_account_blob (account_id, blob_id, type, created) VALUES (?, ?, ?, ?)"
              " ON CONFLICT (account_id, blob_id) DO UPDATE SET created = excluded.created",
              (account_id, blob_id, content_type[:255], stamp))
        if uploader is not None:
            BlobUploader.insert(account_id=account_id, blob_id=blob_id, principal=uploader).on_conflict(
                conflict_target=[BlobUploader.account_id, BlobUploader.blob_id, BlobUploader.principal],
                update={BlobUploader.created: now()},
            ).execute()
        return blob_id

    def put_many(self, account_id: str, datas: list[bytes], content_type: str = "application/octet-stream",
                 ids: list[str] | None = None) -> list[str]:
        """:meth:`put` for a batch: the files written, then one INSERT per table.

        For bulk writers (``jmapd import``, Email/import), with
        :meth:`deferred_sync` around the transaction so the bytes are durable
        before its rows commit, as with :meth:`put`. ``ids``: the blob ids the
        caller already computed (:meth:`id_for` of each), to hash each once.
        """
        if ids is None:
            ids = [blob_id_for(data) for data in datas]
        distinct: dict[str, int] = {}
        for blob_id, data in zip(ids, datas, strict=True):
            if blob_id in distinct:
                continue
            distinct[blob_id] = len(data)
            if self.kind == "filesystem" and not self._inline(blob_id, data):
                self._write_file(blob_id, data)
            elif self.kind == "filesystem" or not BlobData.select().where(BlobData.blob_id == blob_id).exists():
                later("INSERT INTO jmap_blob_data (blob_id, data) VALUES (?, ?) ON CONFLICT DO NOTHING", (blob_id, data))
        stamp, kind = now(), content_type[:255]
        items = sorted(distinct.items())
        for chunk in range(0, len(items), 300):
            part = items[chunk:chunk + 300]
            insert_rows(Blob, [{"id": b, "size": n, "created": stamp} for b, n in part],
                        conflict="ON CONFLICT DO NOTHING", later=True)
            insert_rows(AccountBlob, [{"account_id": account_id, "blob_id": b, "type": kind, "created": stamp}
                                      for b, _ in part],
                        conflict='ON CONFLICT ("account_id", "blob_id") DO UPDATE SET "created" = excluded."created"',
                        later=True)
        return ids

    def visible(self, account_id: str, blob_id: str) -> bool:
        return (
            AccountBlob.select()
            .where((AccountBlob.account_id == account_id) & (AccountBlob.blob_id == blob_id))
            .exists()
        )

    def uploaded_by(self, account_id: str, blob_id: str, principal_id: str) -> bool:
        """Whether ``principal_id`` uploaded ``blob_id`` into ``account_id`` as a sharee
        (and :meth:`gc` has not expired the upload)."""
        return bool(
            BlobUploader.select()
            .where((BlobUploader.account_id == account_id) & (BlobUploader.blob_id == blob_id)
                   & (BlobUploader.principal == principal_id))
            .exists()
        )

    def info(self, account_id: str, blob_id: str) -> tuple[int, str] | None:
        row = (
            AccountBlob.select(Blob.size, AccountBlob.type)
            .join(Blob, on=(Blob.id == AccountBlob.blob_id))
            .where((AccountBlob.account_id == account_id) & (AccountBlob.blob_id == blob_id))
            .tuples()
            .first()
        )
        return (row[0], row[1]) if row else None

    def read(self, blob_id: str) -> bytes | None:
        """Bytes of a stored blob, without an access check (callers check)."""
        if self.kind == "filesystem":
            try:
                return self._file(blob_id).read_bytes()
            except (FileNotFoundError, NotADirectoryError):
                pass
        row = BlobData.get_or_none(BlobData.blob_id == blob_id)
        return row.data if row else None

    def get(self, account_id: str, blob_id: str) -> bytes | None:
        if not is_content_id(blob_id) or not self.visible(account_id, blob_id):
            return None
        return self.read(blob_id)

    def get_many(self, account_id: str, blob_ids: Iterable[str]) -> dict[str, bytes]:
        """:meth:`get` of many blobs: those visible to the account and stored, by id.

        Two statements per 500 ids (which are visible, then the bytes kept in
        the database) instead of two per blob, each a round trip on
        PostgreSQL: what an Email/import of 50 messages reads first."""
        ids = sorted({b for b in blob_ids if is_content_id(b)})
        out: dict[str, bytes] = {}
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            visible = [r[0] for r in plain_rows(
                f"SELECT blob_id FROM jmap_account_blob WHERE account_id = ? AND blob_id IN ({marks(len(part))})",
                (account_id, *part))]
            if not visible:
                continue
            inline = {r[0]: bytes(r[1]) for r in plain_rows(
                f"SELECT blob_id, data FROM jmap_blob_data WHERE blob_id IN ({marks(len(visible))})", visible)}
            for blob_id in visible:
                data = inline.get(blob_id)
                if data is None:
                    data = self.read(blob_id)
                if data is not None:
                    out[blob_id] = data
        return out

    def add_ref(self, account_id: str, blob_id: str, type_name: str, object_id: str) -> None:
        BlobRef.insert(account_id=account_id, blob_id=blob_id, type_name=type_name, object_id=object_id).execute()
        AccountBlob.insert(account_id=account_id, blob_id=blob_id).on_conflict_ignore().execute()

    def drop_refs(self, account_id: str, type_name: str, object_id: str) -> None:
        BlobRef.delete().where(
            (BlobRef.account_id == account_id) & (BlobRef.type_name == type_name) & (BlobRef.object_id == object_id)
        ).execute()

    def gc(self, ttl_seconds: int) -> int:
        """Forget unreferenced uploads older than ``ttl_seconds``; delete bytes
        no account can see any more. Returns blobs deleted."""
        cutoff = now() - datetime.timedelta(seconds=ttl_seconds)
        referenced = BlobRef.select(BlobRef.id).where(
            (BlobRef.account_id == AccountBlob.account_id) & (BlobRef.blob_id == AccountBlob.blob_id)
        )
        AccountBlob.delete().where((AccountBlob.created < cutoff) & ~pw_exists(referenced)).execute()
        # a sharee's upload opens to them until it expires; an object that
        # keeps it opens it through the plugin's own rule (jmapd_shared_blob)
        BlobUploader.delete().where(BlobUploader.created < cutoff).execute()
        orphans = [
            row.id
            for row in Blob.select(Blob.id).where(
                ~pw_exists(AccountBlob.select(AccountBlob.blob_id).where(AccountBlob.blob_id == Blob.id))
                & (Blob.created < cutoff)
            )
        ]
        for blob_id in orphans:
            Blob.delete().where(Blob.id == blob_id).execute()
            BlobData.delete().where(BlobData.blob_id == blob_id).execute()
            if self.kind == "filesystem":
                self._file(blob_id).unlink(missing_ok=True)
        return len(orphans)


def pw_exists(query: Any) -> Any:
    import peewee

    return peewee.fn.EXISTS(query)
