"""Upload, download, Blob/copy and RFC 9404 methods."""

import base64
import hashlib

import pytest


def test_upload_and_download(client):
    up = client.upload(b"hello world", "text/plain")
    assert up["accountId"] == client.account_id and up["size"] == 11 and up["type"] == "text/plain"
    url = client.session["downloadUrl"].format(accountId=client.account_id, blobId=up["blobId"], name="hello.txt", type="text/plain")
    resp = client.http.get(url)
    assert resp.status_code == 200 and resp.content == b"hello world"
    assert resp.headers["content-type"] == "text/plain"
    assert resp.headers["cache-control"].startswith("private, immutable")
    assert resp.headers["content-disposition"] == "inline; filename=\"hello.txt\"; filename*=UTF-8''hello.txt"
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_upload_is_content_addressed(client):
    a = client.upload(b"same bytes")
    b = client.upload(b"same bytes")
    assert a["blobId"] == b["blobId"]
    assert a["blobId"] != client.upload(b"other bytes")["blobId"]


def test_download_unknown_types_are_attachments(client):
    up = client.upload(b"<script>alert(1)</script>", "text/html")
    resp = client.http.get(f"/jmap/download/{client.account_id}/{up['blobId']}/x.html", params={"accept": "text/html"})
    assert resp.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in resp.headers["content-security-policy"]


@pytest.mark.parametrize(
    "name, accept",
    [
        ("evil\r\nSet-Cookie: a=b", "text/plain"),
        ('a".txt', "text/plain"),
        ("ok.txt", "text/plain\r\nSet-Cookie: a=b"),
        ("ok.txt", 'text/plain; x="y'),
        ("ünïcødé näme.pdf", "application/pdf"),
    ],
)
def test_download_no_response_splitting(client, name, accept):
    up = client.upload(b"data")
    from urllib.parse import quote

    resp = client.http.get(
        f"/jmap/download/{client.account_id}/{up['blobId']}/{quote(name, safe='')}?accept={quote(accept, safe='/')}"
    )
    assert resp.status_code == 200
    assert "set-cookie" not in resp.headers
    disposition = resp.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.count('"') == 2
    assert "\n" not in resp.headers["content-type"]
    if "\r\n" in accept or '"' in accept:
        assert resp.headers["content-type"] == "application/octet-stream"


def test_blob_of_another_account_is_not_found(jmap_server):
    alice, bob = jmap_server.client(), jmap_server.client()
    up = alice.upload(b"alice's secret")
    resp = bob.http.get(f"/jmap/download/{bob.account_id}/{up['blobId']}/x")
    assert resp.status_code == 404
    resp = bob.http.get(f"/jmap/download/{alice.account_id}/{up['blobId']}/x")
    assert resp.status_code == 404
    name, out = bob.call("Blob/get", {"ids": [up["blobId"]]})
    assert out["notFound"] == [up["blobId"]]


def test_upload_to_foreign_account_refused(jmap_server):
    alice, bob = jmap_server.client(), jmap_server.client()
    resp = alice.http.post(f"/jmap/upload/{bob.account_id}", content=b"x")
    assert resp.status_code == 404


def test_upload_too_large(make_server):
    server = make_server({"limits": {"max_size_upload": 100}})
    client = server.client()
    resp = client.http.post(f"/jmap/upload/{client.account_id}", content=b"x" * 101)
    assert resp.status_code == 413
    assert resp.json()["limit"] == "maxSizeUpload"
    assert client.session["capabilities"]["urn:ietf:params:jmap:core"]["maxSizeUpload"] == 100


def test_blob_copy(jmap_server):
    from jmapd.db import ensure_connected
    from jmapd.models import AccountAccess, User

    alice, bob = jmap_server.client(), jmap_server.client()
    ensure_connected()
    AccountAccess.create(account=bob.account_id, user=User.get(User.name == alice.user))
    up = alice.upload(b"to copy")
    out = alice.ok("Blob/copy", {"fromAccountId": alice.account_id, "accountId": bob.account_id, "blobIds": [up["blobId"], "Bmissing"]})
    assert out["copied"] == {up["blobId"]: up["blobId"]}
    assert out["notCopied"]["Bmissing"]["type"] == "notFound"
    assert bob.http.get(f"/jmap/download/{bob.account_id}/{up['blobId']}/x").content == b"to copy"


def test_rfc9404_upload_get_lookup(client):
    up = client.upload(b"0123456789")
    out = client.ok("Blob/upload", {"create": {
        "b1": {"data": [{"data:asText": "hello "}, {"data:asBase64": base64.b64encode(b"\xff\xfe").decode()}, {"blobId": up["blobId"], "offset": 2, "length": 3}], "type": "application/x-test"},
        "bad": {"data": [{"blobId": "Bnope"}]},
        "bad2": {"data": [{"data:asBase64": "!!"}]},
    }})
    created = out["created"]["b1"]
    assert created["size"] == 6 + 2 + 3 and created["type"] == "application/x-test"
    assert out["notCreated"]["bad"]["type"] == "blobNotFound"
    assert out["notCreated"]["bad2"]["type"] == "invalidProperties"
    acc = client.account_id
    got = client.request([
        ["Blob/upload", {"accountId": acc, "create": {"t": {"data": [{"data:asText": "text blob"}]}}}, "0"],
        ["Blob/get", {"accountId": acc, "ids": ["#t", created["id"]], "properties": ["data", "size", "digest:sha-256"]}, "1"],
        ["Blob/get", {"accountId": acc, "ids": ["#t"], "properties": ["data:asText"], "offset": 5, "length": 100}, "2"],
    ])["methodResponses"]
    listed = {item["id"]: item for item in got[1][1]["list"]}
    text_id = got[0][1]["created"]["t"]["id"]
    assert listed[text_id]["data:asText"] == "text blob"
    assert listed[text_id]["digest:sha-256"] == base64.b64encode(hashlib.sha256(b"text blob").digest()).decode()
    assert listed[created["id"]]["data:asBase64"] == base64.b64encode(b"hello \xff\xfe234").decode()
    ranged = got[2][1]["list"][0]
    assert ranged["data:asText"] == "blob" and ranged["isTruncated"] is True
    note = client.ok("Note/set", {"create": {"n": {"title": "with blob", "attachmentBlobId": text_id}}})["created"]["n"]["id"]
    look = client.ok("Blob/lookup", {"typeNames": ["Note", "NoteFolder"], "ids": [text_id, "Bnope"]})
    assert look["list"] == [{"id": text_id, "matchedIds": {"Note": [note], "NoteFolder": []}}]
    assert look["notFound"] == ["Bnope"]
    name, err = client.call("Blob/lookup", {"typeNames": ["Nope"], "ids": []})
    assert (name, err["type"]) == ("error", "unknownDataType")
    name, err = client.call("Blob/get", {"ids": [], "properties": ["bogus"]})
    assert (name, err["type"]) == ("error", "invalidArguments")


def test_blob_capability_in_session(client):
    cap = client.session["accounts"][client.account_id]["accountCapabilities"]["urn:ietf:params:jmap:blob"]
    assert "sha-256" in cap["supportedDigestAlgorithms"]
    assert "Note" in cap["supportedTypeNames"]


def test_unreferenced_blobs_collected(jmap_server, client):
    from jmapd.db import ensure_connected

    kept = client.upload(b"kept by a note " + client.user.encode())["blobId"]
    dropped = client.upload(b"nobody wants me " + client.user.encode())["blobId"]
    client.ok("Note/set", {"create": {"n": {"title": "x", "attachmentBlobId": kept}}})
    ensure_connected()
    jmap_server.services.blobs.gc(-1)
    assert client.http.get(f"/jmap/download/{client.account_id}/{kept}/x").status_code == 200
    assert client.http.get(f"/jmap/download/{client.account_id}/{dropped}/x").status_code == 404


def test_database_blob_store(make_server):
    server = make_server({"blobs": {"store": "database"}})
    client = server.client()
    up = client.upload(b"stored in the database " + client.user.encode(), "text/plain")
    resp = client.http.get(f"/jmap/download/{client.account_id}/{up['blobId']}/x.txt")
    assert resp.content == b"stored in the database " + client.user.encode()
    from jmapd.db import ensure_connected
    from jmapd.models import BlobData

    ensure_connected()
    assert BlobData.get(BlobData.blob_id == up["blobId"]).data.startswith(b"stored in the database")


def test_max_concurrent_upload(make_server):
    import threading

    from jmapd.testing import wait_for

    server = make_server({"limits": {"max_concurrent_upload": 1}})
    client = server.client()
    uploader = server.client(client.user, client.password)  # one HTTP client per thread
    release = threading.Event()

    def slow_body():
        yield b"a" * 10
        release.wait(15)
        yield b"b" * 10

    first = threading.Thread(
        target=uploader.http.post, args=(f"/jmap/upload/{client.account_id}",), kwargs={"content": slow_body()}
    )
    first.start()
    assert wait_for(lambda: server.busy("upload", client.user), lambda n: n == 1) == 1
    resp = client.http.post(f"/jmap/upload/{client.account_id}", content=b"x")
    assert resp.status_code == 429 and resp.json()["limit"] == "maxConcurrentUpload"
    release.set()
    first.join()
    assert client.upload(b"after")["size"] == 5


def test_small_blobs_written_alone_live_in_the_database_large_ones_in_files(make_server):
    """blobs.inline_max: a small upload rides in its transaction's commit, a large one is a file;
    both download, the same bytes again are stored once, and gc removes either kind."""
    from jmapd.db import ensure_connected
    from jmapd.models import BlobData

    server = make_server({"blobs": {"inline_max": 1000}})
    client = server.client()
    small, large = (client.user.encode() + b"s" * 1000)[:1000], client.user.encode() + b"L" * 5000

    def blob_files() -> set[str]:
        return {p.name for p in server.services.blobs.path.rglob("*") if p.is_file()}

    before = blob_files()  # (the session's database and blob store also hold earlier tests' mail)
    ups = [client.upload(data) for data in (small, large, small)]
    assert ups[0]["blobId"] == ups[2]["blobId"]
    assert blob_files() - before == {ups[1]["blobId"][1:]}
    ensure_connected()
    assert [r.data for r in BlobData.select().where(BlobData.blob_id == ups[0]["blobId"])] == [small]
    assert not BlobData.select().where(BlobData.blob_id == ups[1]["blobId"]).exists()
    for up, data in zip(ups, (small, large, small), strict=True):
        assert client.http.get(f"/jmap/download/{client.account_id}/{up['blobId']}/x").content == data
    assert server.services.blobs.gc(-1) >= 2  # (and any other test's uploads in this database)
    assert not BlobData.select().where(BlobData.blob_id == ups[0]["blobId"]).exists()
    assert ups[1]["blobId"][1:] not in blob_files()


def test_get_many_reads_what_get_reads(make_server):
    """BlobStore.get_many (Email/import's batch read): a blob kept in the database and one in a
    file come back with their bytes, as get() gives them; another account's upload, an unknown
    id and an id that is no content hash do not."""
    server = make_server({"blobs": {"inline_max": 1000}})
    alice, bob = server.client(), server.client()
    small, large = (alice.user.encode() + b"s" * 900), alice.user.encode() + b"L" * 5000
    mine = [alice.upload(data)["blobId"] for data in (small, large)]
    theirs = bob.upload(bob.user.encode() + b"only bob")["blobId"]
    unknown = "B" + "0" * 64
    store = server.services.blobs
    from jmapd.db import ensure_connected

    ensure_connected()
    got = store.get_many(alice.account_id, [*mine, theirs, unknown, "not-a-blob-id", mine[0]])
    assert got == {mine[0]: small, mine[1]: large}
    assert all(store.get(alice.account_id, b) == got.get(b) for b in [*mine, theirs, unknown])
    assert store.get_many(bob.account_id, [theirs]) == {theirs: bob.user.encode() + b"only bob"}


@pytest.mark.slow
def test_uploads_answered_201_survive_kill_9(tmp_path, jmapd_database):
    """A real `jmapd serve` killed with SIGKILL right after the 201s: every upload, the one kept
    in the database and the one in a file, is there after the restart."""
    import httpx

    from jmapd.testing import ServeProcess

    server = ServeProcess(tmp_path, jmapd_database, workers=1, extra_yaml="blobs:\n  inline_max: 4096\n")
    server.cli("user", "add", "crash", "--password-stdin", stdin="crash-password\n")
    datas = [b"small " * 100, b"large " * 2000]
    server.start()
    try:
        with httpx.Client(base_url=server.url, auth=("crash", "crash-password"), timeout=30) as http:
            account = next(iter(http.get("/.well-known/jmap").json()["primaryAccounts"].values()))
            ids = [http.post(f"/jmap/upload/{account}", content=d).json()["blobId"] for d in datas]
        server.kill9()
        server.start()
        with httpx.Client(base_url=server.url, auth=("crash", "crash-password"), timeout=30) as http:
            assert [http.get(f"/jmap/download/{account}/{i}/x").content for i in ids] == datas
    finally:
        server.stop()
