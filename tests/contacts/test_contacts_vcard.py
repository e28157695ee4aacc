"""vCard in and out: ContactCard/parse, export blobs, ``jmapd contacts import/export``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from jmapd_contacts.testing import CONTACTS, CONTACTS_PARSE, books, call, default_book, download, ok

DATA = Path(__file__).parent / "domain" / "data"
VCF = """BEGIN:VCARD\r
VERSION:4.0\r
UID:urn:uuid:cli-1\r
FN:Ada Lovelace\r
N:Lovelace;Ada;;;\r
EMAIL;TYPE=work:ada@example.com\r
X-FAVOURITE-ENGINE:analytical\r
END:VCARD\r
BEGIN:VCARD\r
VERSION:4.0\r
FN:Broken\r
BDAY:not-a-date-at-all\r
N:;\r
EMAIL:\r
END:VCARD\r
BEGIN:VCARD\r
VERSION:3.0\r
UID:cli-2\r
FN:Charles Babbage\r
N:Babbage;Charles;;;\r
TEL;TYPE=CELL:+44 1234\r
END:VCARD\r
"""


def test_parse_real_exporters_without_storing(client):
    blobs = {name: client.upload((DATA / name).read_bytes(), "text/vcard")["blobId"]
             for name in ("apple.vcf", "google.vcf", "outlook.vcf", "nextcloud.vcf", "thunderbird.vcf")}
    junk = client.upload(b"hello, not a vcard", "text/plain")["blobId"]
    response = ok(client, "ContactCard/parse", {"blobIds": [*blobs.values(), junk, "Gmissing"]})
    assert set(response["parsed"]) == set(blobs.values())
    # Stalwart's shape: each blob parses to one Card (the first of a file of several)
    google = response["parsed"][blobs["google.vcf"]]
    assert google["@type"] == "Card" and "Pérez" in str(google["name"]), google
    apple = response["parsed"][blobs["apple.vcf"]]
    assert apple["@type"] == "Card" and "Appleseed" in str(apple["name"])
    assert response["notParsable"] == [junk] and response["notFound"] == ["Gmissing"]
    assert ok(client, "ContactCard/query", {})["ids"] == []  # nothing stored
    some = ok(client, "ContactCard/parse", {"blobIds": [blobs["apple.vcf"]], "properties": ["uid", "cryptoKeys"]})
    assert list(some["parsed"][blobs["apple.vcf"]]) == ["uid"]  # listed members the card has
    name, err = call(client, "ContactCard/parse", {"blobIds": [junk], "properties": ["extra"]})
    assert (name, err["type"]) == ("error", "invalidArguments")


def test_parse_is_announced_and_needs_only_its_own_capability(client):
    """A client written for Stalwart checks the session for
    urn:ietf:params:jmap:contacts:parse and names only it (with core) in ``using``."""
    session = client.session
    assert session["capabilities"][CONTACTS_PARSE] == {}
    assert session["accounts"][client.account_id]["accountCapabilities"][CONTACTS_PARSE] == {}
    blob = client.upload((DATA / "apple.vcf").read_bytes(), "text/vcard")["blobId"]
    args = {"accountId": client.account_id, "blobIds": [blob]}
    name, out = client.call("ContactCard/parse", args, ["urn:ietf:params:jmap:core", CONTACTS_PARSE])
    assert name == "ContactCard/parse" and out["parsed"][blob]["@type"] == "Card", out
    name, out = client.call("ContactCard/parse", args, ["urn:ietf:params:jmap:core", CONTACTS])
    assert (name, out["type"]) == ("error", "unknownMethod")


def test_parsed_cards_store_and_export_round_trip(client):
    book = default_book(client)
    blob = client.upload((DATA / "apple.vcf").read_bytes(), "text/vcard")["blobId"]
    parsed = ok(client, "ContactCard/parse", {"blobIds": [blob]})["parsed"][blob]
    made = ok(client, "ContactCard/set", {"create": {"c": {**parsed, "addressBookIds": {book: True}}}})["created"]["c"]
    stored = ok(client, "ContactCard/get", {"ids": [made["id"]]})["list"][0]
    photo = next(m for m in stored["media"].values() if m["kind"] == "photo")
    assert "blobId" in photo and photo["mediaType"] == "image/jpeg"  # PHOTO in base64 became a blob
    exported = download(client, "V" + made["id"], "card.vcf", "text/vcard")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/vcard")
    again = client.upload(exported.content, "text/vcard")["blobId"]
    back = ok(client, "ContactCard/parse", {"blobIds": [again]})["parsed"][again]
    for key in ("name", "emails", "phones", "addresses", "uid", "notes", "organizations"):
        assert back.get(key) == parsed.get(key), key
    assert any(m.get("uri", "").startswith("data:image/jpeg;base64,") for m in back["media"].values())
    whole = download(client, "V" + book, "book.vcf", "text/vcard")
    assert whole.text.count("BEGIN:VCARD") == 1
    assert download(client, "VkNoSuchCard").status_code == 404


def _cli(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
    return subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "contacts", *args],
                          input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_cli_import_reports_bad_cards_and_does_not_duplicate(jmapd_database, jmapd_data_dir, jmap_server, tmp_path):
    client = jmap_server.client()
    books(client)
    config = tmp_path / "jmapd.yaml"
    config.write_text(yaml.safe_dump({"server": {"data_dir": str(jmapd_data_dir)}, "database": {"url": jmapd_database}}))
    vcf = tmp_path / "people.vcf"
    vcf.write_text(VCF)
    done = _cli(config, "import", str(vcf), "--user", client.user, "--address-book", "Imported")
    assert done.returncode == 1, done.stderr  # one card failed
    assert "line 9:" in done.stderr and "2 created, 0 updated, 1 failed" in done.stderr, done.stderr
    imported = next(b["id"] for b in books(client) if b["name"] == "Imported")
    ids = ok(client, "ContactCard/query", {"filter": {"inAddressBook": imported}})["ids"]
    assert len(ids) == 2
    ada = ok(client, "ContactCard/get", {"ids": ids})["list"]
    assert {c["uid"] for c in ada} == {"urn:uuid:cli-1", "cli-2"}
    assert any("vCardProps" in c for c in ada)  # X-FAVOURITE-ENGINE kept
    again = _cli(config, "import", str(vcf), "--user", client.user, "--address-book", "Imported")
    assert "0 created, 2 updated, 1 failed" in again.stderr, again.stderr
    assert len(ok(client, "ContactCard/query", {})["ids"]) == 2
    out = _cli(config, "export", "--user", client.user, "--address-book", "Imported")
    assert out.returncode == 0 and out.stdout.count("BEGIN:VCARD") == 2 and "X-FAVOURITE-ENGINE" in out.stdout
    assert "2 cards exported" in out.stderr
    nobody = _cli(config, "export", "--user", "no-such-user-x")
    assert nobody.returncode != 0 and "no such user" in nobody.stderr




def test_reimport_of_a_changed_vcard_removes_what_it_no_longer_has(jmapd_database, jmapd_data_dir, jmap_server,
                                                                   tmp_path):
    client = jmap_server.client()
    books(client)
    config = tmp_path / "jmapd.yaml"
    config.write_text(yaml.safe_dump({"server": {"data_dir": str(jmapd_data_dir)}, "database": {"url": jmapd_database}}))
    first = ("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:re-1\r\nFN:Ada Lovelace\r\nNOTE:likes engines\r\n"
             "EMAIL:ada@example.com\r\nTEL:+44 1\r\nX-ENGINE:analytical\r\nCATEGORIES:friends\r\nEND:VCARD\r\n")
    second = ("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:re-1\r\nFN:Ada King\r\n"
              "EMAIL:ada@example.org\r\nEND:VCARD\r\n")
    vcf = tmp_path / "ada.vcf"
    vcf.write_text(first)
    assert _cli(config, "import", str(vcf), "--user", client.user).returncode == 0
    (card,) = ok(client, "ContactCard/get", {"ids": None})["list"]
    assert {"notes", "phones", "vCardProps", "keywords"} <= set(card)
    vcf.write_text(second)
    done = _cli(config, "import", str(vcf), "--user", client.user)
    assert done.returncode == 0 and "0 created, 1 updated, 0 failed" in done.stderr, done.stderr
    (again,) = ok(client, "ContactCard/get", {"ids": None})["list"]
    assert again["id"] == card["id"] and again["uid"] == "urn:uuid:re-1" and again["created"] == card["created"]
    assert not {"notes", "phones", "vCardProps", "keywords"} & set(again), again
    assert again["name"] == {"full": "Ada King"}
    assert [e["address"] for e in again["emails"].values()] == ["ada@example.org"]


def test_cli_import_draws_a_progress_bar_on_a_terminal(jmapd_database, jmapd_data_dir, jmap_server, tmp_path):
    """On a terminal (stderr a pty) the import shows tqdm's bar, then the summary."""
    import fcntl
    import pty
    import struct
    import termios

    client = jmap_server.client()
    books(client)
    config = tmp_path / "jmapd.yaml"
    config.write_text(yaml.safe_dump({"server": {"data_dir": str(jmapd_data_dir)}, "database": {"url": jmapd_database}}))
    vcf = tmp_path / "bar.vcf"
    vcf.write_text("".join(f"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:bar-{i}\r\nFN:Bar {i}\r\nEND:VCARD\r\n"
                           for i in range(3)))
    def on_terminal(*args: str) -> tuple[int, str, bytes]:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # a terminal has a width
        env = {k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")}
        try:
            done = subprocess.run([sys.executable, "-m", "jmapd.cli", "--config", str(config), "contacts", *args,
                                   "--user", client.user], stderr=slave, stdout=subprocess.PIPE, env=env, timeout=120)
            os.close(slave)
            shown = b""
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the terminal's other end is closed and drained
                    break
                if not chunk:
                    break
                shown += chunk
        finally:
            os.close(master)
        return done.returncode, shown.decode("utf-8", "replace"), done.stdout

    status, text, _ = on_terminal("import", str(vcf))
    assert status == 0, text
    assert "3/3" in text and "card" in text and "\r" in text, text  # tqdm's bar, redrawn in place
    assert "3 created, 0 updated, 0 failed" in text, text
    status, text, out = on_terminal("export")
    assert status == 0 and "3/3" in text and "3 cards exported" in text, text
    assert out.count(b"BEGIN:VCARD") == 3 and b"3/3" not in out  # the bar stays off the .vcf


def test_every_exporters_card_survives_store_export_and_parse(client):
    """The first card of each real exporter's file, through the API: parse,
    store (an inline photo becomes a blob), export by the download URL,
    parse again — the same card, its photo the same bytes."""
    import base64

    from jmapd_contacts.media import decode_data_uri

    book = default_book(client)
    for name in ("apple.vcf", "google.vcf", "outlook.vcf", "nextcloud.vcf", "thunderbird.vcf"):
        blob = client.upload((DATA / name).read_bytes(), "text/vcard")["blobId"]
        parsed = ok(client, "ContactCard/parse", {"blobIds": [blob]})["parsed"][blob]
        made = ok(client, "ContactCard/set", {"create": {"c": {**parsed, "addressBookIds": {book: True}}}})
        card_id = made["created"]["c"]["id"]
        exported = download(client, "V" + card_id, "card.vcf", "text/vcard")
        again = client.upload(exported.content, "text/vcard")["blobId"]
        back = ok(client, "ContactCard/parse", {"blobIds": [again]})["parsed"][again]
        for key in set(parsed) | set(back):
            if key in ("media", "created", "updated") or (key == "uid" and "uid" not in parsed):
                continue  # server-set members: the export carries them
            assert back.get(key) == parsed.get(key), (name, key)
        for media_id, item in (parsed.get("media") or {}).items():
            returned = back["media"][media_id]
            assert {k: v for k, v in returned.items() if k != "uri"} == \
                {k: v for k, v in item.items() if k != "uri"} | ({"mediaType": returned["mediaType"]}
                                                                if "mediaType" in returned else {}), (name, media_id)
            if item["uri"].startswith("data:"):
                original, copy = decode_data_uri(item["uri"]), decode_data_uri(returned["uri"])
                assert original is not None and copy is not None
                assert base64.b64encode(copy[1]) == base64.b64encode(original[1]), (name, media_id)
            else:
                assert returned["uri"] == item["uri"], (name, media_id)
