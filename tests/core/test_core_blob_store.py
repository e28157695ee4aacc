"""The blob store's bulk mode: blobs written together are made durable together."""

from __future__ import annotations

import os

import pytest

from jmapd.blobs import BlobStore, blob_id_for


def test_deferred_sync_writes_every_blob_and_syncs_once_at_the_end(tmp_path, monkeypatch):
    store = BlobStore("filesystem", tmp_path / "blobs")
    fsyncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    synced: list[str] = []
    import jmapd.blobs as blobs

    real_syncfs = blobs._syncfs
    monkeypatch.setattr(blobs, "_syncfs", lambda path: (synced.append(str(path)), real_syncfs(path))[1])

    store._write_file(blob_id_for(b"single"), b"single")  # outside the block: file and directory fsynced,
    assert len(fsyncs) == 4 and synced == []  # and the two new fan-out directories' parents
    fsyncs.clear()
    datas = [f"blob {i}".encode() for i in range(20)]
    with store.deferred_sync():
        for data in datas:
            store._write_file(blob_id_for(data), data)
        with store.deferred_sync():  # nested: the outer block syncs
            store._write_file(blob_id_for(b"inner"), b"inner")
        assert synced == []
    assert synced == [str(tmp_path / "blobs")]
    if real_syncfs(tmp_path / "blobs"):  # Linux: one syncfs(2), no fsync per blob
        assert fsyncs == []
    else:  # elsewhere: the fsyncs happen at the end instead
        assert len(fsyncs) >= len(datas)
    for data in [*datas, b"inner"]:
        assert store.read(blob_id_for(data)) == data
    assert not list((tmp_path / "blobs").rglob(".tmp-*"))


def test_deferred_sync_after_an_error_syncs_nothing_and_leaves_normal_mode(tmp_path, monkeypatch):
    store = BlobStore("filesystem", tmp_path / "blobs")
    import jmapd.blobs as blobs

    synced: list[str] = []
    monkeypatch.setattr(blobs, "_syncfs", lambda path: synced.append(str(path)) or True)
    with pytest.raises(RuntimeError), store.deferred_sync():
        store._write_file(blob_id_for(b"a"), b"a")
        raise RuntimeError("the transaction fails")
    assert synced == []  # its rows roll back; gc takes the file
    fsyncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    leaf = store._file(blob_id_for(b"b")).parent
    new_dirs = sum(not d.is_dir() for d in (leaf.parent, leaf))
    store._write_file(blob_id_for(b"b"), b"b")
    assert len(fsyncs) == 2 + new_dirs  # back to fsync per blob (and per new directory)


def test_new_fan_out_directories_are_made_durable(tmp_path, monkeypatch):
    """A blob in a new fan-out directory survives a crash only if the new
    directory's entry in its parent is synced too."""
    import jmapd.blobs as blobs

    store = BlobStore("filesystem", tmp_path / "blobs")
    synced: list[str] = []
    real = blobs._fsync_dir
    monkeypatch.setattr(blobs, "_fsync_dir", lambda d: (synced.append(str(d)), real(d))[1])
    blob_id = blob_id_for(b"first")
    store._write_file(blob_id, b"first")
    leaf = store._file(blob_id).parent
    assert synced == [str(leaf.parent.parent), str(leaf.parent), str(leaf)]
