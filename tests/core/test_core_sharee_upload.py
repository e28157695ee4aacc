"""Uploads by a sharee of single objects (RFC 8620 §6.1, RFC 9404, RFC 9425), over real HTTP.

The Board test type declares ``Sharing(upload=("mayWrite",))``: a sharee
holding mayWrite on some Board may upload into the owner's account (upload
URL, Blob/upload, Blob/copy), the upload is charged to the owner's quota
and opens to that sharee alone; a reader is refused (403 / ``forbidden``),
and a second sharee never reaches the first one's upload, nor the owner's.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the Board/Card test plugin lives beside us
from test_core_sharing import BOARDS, BoardsPlugin, fresh, ok, principal_id, share  # noqa: E402

CORE = "urn:ietf:params:jmap:core"
BLOB = "urn:ietf:params:jmap:blob"
QUOTA = "urn:ietf:params:jmap:quota"
BLOB_USING = [CORE, BOARDS, BLOB]
FORBIDDEN = "urn:ietf:params:jmap:error:forbidden"


@pytest.fixture(scope="module")
def server(jmapd_database: str, jmapd_data_dir: Path) -> Any:
    from jmapd.testing import start_server

    srv = start_server({}, jmapd_data_dir, jmapd_database, [BoardsPlugin()])
    yield srv
    srv.stop()


class Team:
    """An owner with one Board shared with a writer and a second writer, and a private upload."""

    def __init__(self, server: Any) -> None:
        self.owner, self.writer, self.other = server.client(), server.client(), server.client()
        self.acc = self.owner.account_id
        self.board = ok(self.owner, "Board/set", {"accountId": self.acc, "create": {"b": {"name": "Team"}}})[
            "created"]["b"]["id"]
        for sharee in (self.writer, self.other):
            share(self.owner, self.board, principal_id(sharee), mayRead=True, mayWrite=True)
            fresh(sharee)
        self.private = self.owner.upload(b"the owner's own upload")["blobId"]

    def upload(self, client: Any, data: bytes) -> Any:
        return client.http.post(f"/jmap/upload/{self.acc}", content=data, headers={"Content-Type": "text/plain"})

    def status(self, client: Any, blob: str) -> int:
        return int(client.http.get(f"/jmap/download/{self.acc}/{blob}/f").status_code)

    def call(self, client: Any, method: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return client.call(method, {"accountId": self.acc, **args}, BLOB_USING)

    def blob_ok(self, client: Any, method: str, args: dict[str, Any]) -> dict[str, Any]:
        name, out = self.call(client, method, args)
        assert name != "error", f"{method}: {out}"
        return out


@pytest.fixture
def team(server: Any) -> Team:
    return Team(server)


def test_writer_uploads_and_reads_back_only_their_own(team: Team) -> None:
    resp = team.upload(team.writer, b"the writer's file")
    assert resp.status_code == 201, resp.text
    up = resp.json()
    assert up["accountId"] == team.acc and up["size"] == len(b"the writer's file") and up["type"] == "text/plain"
    mine = up["blobId"]
    assert team.writer.download(mine, account_id=team.acc) == b"the writer's file"
    assert team.owner.download(mine) == b"the writer's file"  # the owner's account holds it
    got = team.blob_ok(team.writer, "Blob/get", {"ids": [mine, team.private], "properties": ["data:asText"]})
    assert got["list"] == [{"id": mine, "data:asText": "the writer's file"}] and got["notFound"] == [team.private]
    looked = team.blob_ok(team.writer, "Blob/lookup", {"typeNames": ["Card"], "ids": [mine, team.private]})
    assert looked["list"] == [{"id": mine, "matchedIds": {"Card": []}}] and looked["notFound"] == [team.private]
    # still nothing of the owner's
    assert team.status(team.writer, team.private) == 404
    # the second sharee, with the same rights, reaches none of it
    assert team.status(team.other, mine) == 404
    assert team.blob_ok(team.other, "Blob/get", {"ids": [mine]})["notFound"] == [mine]
    assert team.blob_ok(team.other, "Blob/lookup", {"typeNames": ["Card"], "ids": [mine]})["notFound"] == [mine]
    copied = team.other.ok("Blob/copy", {"fromAccountId": team.acc, "accountId": team.other.account_id,
                                         "blobIds": [mine]}, BLOB_USING)
    assert copied["copied"] is None and copied["notCopied"][mine]["type"] == "notFound"
    out = team.blob_ok(team.other, "Blob/upload", {"create": {"u": {"data": [{"blobId": mine}]}}})
    assert out["notCreated"]["u"]["type"] == "blobNotFound"
    # ... until they upload the same bytes themselves: they know them then
    assert team.upload(team.other, b"the writer's file").json()["blobId"] == mine
    assert team.other.download(mine, account_id=team.acc) == b"the writer's file"


def test_blob_upload_and_copy_into_the_shared_account(team: Team) -> None:
    out = team.blob_ok(team.writer, "Blob/upload", {"create": {"u": {"data": [{"data:asText": "made by Blob/upload"}],
                                                                      "type": "text/plain"}}})
    made = out["created"]["u"]["id"]
    assert team.writer.download(made, account_id=team.acc) == b"made by Blob/upload"
    assert team.status(team.other, made) == 404
    own = team.writer.upload(b"from the writer's own account")["blobId"]
    copied = team.writer.ok("Blob/copy", {"fromAccountId": team.writer.account_id, "accountId": team.acc,
                                          "blobIds": [own]}, BLOB_USING)
    assert copied["copied"] == {own: own} and copied["notCopied"] is None
    assert team.writer.download(own, account_id=team.acc) == b"from the writer's own account"
    assert team.status(team.other, own) == 404


def test_reader_is_refused_and_stores_nothing(team: Team, server: Any) -> None:
    share(team.owner, team.board, principal_id(team.other), mayRead=True)  # mayWrite taken away
    fresh(team.other)
    before = _blob_rows(server)
    resp = team.upload(team.other, b"a reader's attempt")
    assert resp.status_code == 403 and resp.json()["type"] == FORBIDDEN
    name, err = team.call(team.other, "Blob/upload", {"create": {"u": {"data": [{"data:asText": "x"}]}}})
    assert (name, err["type"]) == ("error", "forbidden")
    own = team.other.upload(b"the reader's own bytes")["blobId"]
    name, err = team.other.call("Blob/copy", {"fromAccountId": team.other.account_id, "accountId": team.acc,
                                              "blobIds": [own]}, BLOB_USING)
    assert (name, err["type"]) == ("error", "forbidden")
    after = _blob_rows(server)
    assert after == before | {(team.other.account_id, own)}
    # an account they cannot see at all stays not found
    stranger = server.client()
    assert team.upload(stranger, b"x").status_code == 404


def _blob_rows(server: Any) -> set[tuple[str, str]]:
    from jmapd.db import ensure_connected, tuples
    from jmapd.models import AccountBlob

    ensure_connected()
    return set(tuples(AccountBlob.select(AccountBlob.account_id, AccountBlob.blob_id)))


def test_a_sharee_upload_counts_against_the_owner_quota(team: Team) -> None:
    from jmapd import quota
    from jmapd.db import ensure_connected, write_transaction
    from jmapd.state import ChangeLog

    ensure_connected()
    log = ChangeLog()
    with write_transaction(team.acc):
        quota.set_limit(log, team.acc, "octets", "", 600)
        log.flush()

    def used(client: Any) -> int:
        got = client.ok("Quota/get", {"ids": None}, [CORE, BOARDS, QUOTA])["list"]
        return int({q["id"]: q for q in got}["storage"]["used"])

    start = used(team.owner)
    assert team.upload(team.writer, b"w" * 200).status_code == 201
    assert used(team.owner) == start + 200
    big = team.upload(team.writer, b"v" * 500)
    assert big.status_code == 413 and big.json()["type"] == "urn:ietf:params:jmap:error:overQuota"
    out = team.blob_ok(team.writer, "Blob/upload", {"create": {"u": {"data": [{"data:asText": "u" * 500}]}}})
    assert out["notCreated"]["u"]["type"] == "overQuota"
    own = team.writer.upload(b"c" * 500)["blobId"]
    copied = team.writer.ok("Blob/copy", {"fromAccountId": team.writer.account_id, "accountId": team.acc,
                                          "blobIds": [own]}, BLOB_USING)
    assert copied["copied"] is None and copied["notCopied"][own]["type"] == "overQuota"
    assert used(team.owner) == start + 200


def test_gc_expires_the_sharee_upload(team: Team, server: Any) -> None:
    from jmapd.db import ensure_connected
    from jmapd.models import AccountBlob, BlobUploader

    mine = team.upload(team.writer, b"soon forgotten").json()["blobId"]
    assert team.status(team.writer, mine) == 200
    ensure_connected()
    old = datetime.datetime(2000, 1, 1)
    BlobUploader.update(created=old).where(BlobUploader.account_id == team.acc).execute()
    AccountBlob.update(created=old).where(AccountBlob.account_id == team.acc).execute()
    server.services.blobs.gc(3600)
    assert not BlobUploader.select().where(BlobUploader.account_id == team.acc).exists()
    assert team.status(team.writer, mine) == 404


def test_deleted_sharee_takes_their_upload_records(team: Team, server: Any) -> None:
    from jmapd.db import ensure_connected
    from jmapd.models import BlobUploader, User
    from jmapd.users import delete_user

    mine = team.upload(team.writer, b"written then gone").json()["blobId"]
    ensure_connected()
    assert BlobUploader.select().where(BlobUploader.blob_id == mine).count() == 1
    delete_user(server.services, User.get(User.name == team.writer.user), keep_data=False)
    assert not BlobUploader.select().where(BlobUploader.blob_id == mine).exists()
    assert team.owner.download(mine) == b"written then gone"  # the owner's account keeps the bytes
