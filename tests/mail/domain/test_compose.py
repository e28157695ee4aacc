"""compose_message: Email/set create -> MIME octets (RFC 8621 §4.6)."""

import copy
import re
from datetime import UTC, datetime

import pytest
from jmapd_mail.domain.compose import BlobNotFoundError, ComposeError, compose_message
from jmapd_mail.domain.parse import parse_message

BLOBS = {
    "Bpng": b"\x89PNG\r\n\x1a\n" + bytes(range(200)),
    "Bpdf": b"%PDF-1.4\n" + b"\x00\xff" * 100,
    "Btxt": "Grüße\nzweite Zeile\n".encode(),
    "Bmsg": b"From: inner@example.com\r\nSubject: Inner\r\n\r\nInner body\r\n",
}
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def compose(email, blobs=BLOBS):
    return compose_message(email, blobs.get, now=NOW, message_id_domain="jmapd.test")


def roundtrip(email):
    raw = compose(email)
    assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF in output"
    return raw, parse_message(raw)


SPEC_K192 = {
    "mailboxIds": {"2ea1ca41b38e": True},
    "keywords": {"$seen": True, "$draft": True},
    "from": [{"name": "Joe Bloggs", "email": "joe@example.com"}],
    "subject": "World domination",
    "receivedAt": "2018-07-10T01:03:11Z",
    "sentAt": "2018-07-10T11:03:11+10:00",
    "bodyStructure": {"type": "text/plain", "partId": "bd48", "header:Content-Language": "en"},
    "bodyValues": {"bd48": {"value": "I have the most brilliant plan. Let me tell you\nall about it. What we do is, we",
                            "isTruncated": False}},
}


def test_spec_example_single_part_draft():
    raw, msg = roundtrip(SPEC_K192)
    assert b"From: Joe Bloggs <joe@example.com>\r\n" in raw
    assert b"Date: Tue, 10 Jul 2018 11:03:11 +1000\r\n" in raw
    assert b"MIME-Version: 1.0\r\n" in raw and b"Content-Language: en\r\n" in raw
    assert re.search(rb"Message-ID: <[0-9a-f]{32}@example\.com>\r\n", raw)  # the From address's domain (issue #9.8)
    assert msg.props["sentAt"] == "2018-07-10T11:03:11+10:00"
    assert msg.props["subject"] == "World domination"
    assert msg.body_structure.language == ["en"] and msg.body_structure.type == "text/plain"
    assert msg.body_value("1")["value"] == SPEC_K192["bodyValues"]["bd48"]["value"]


def test_spec_example_alternative_bodystructure():
    email = copy.deepcopy(SPEC_K192)
    email["to"] = [{"name": "John", "email": "john@example.com"}]
    email["bodyStructure"] = {"type": "multipart/alternative", "subParts": [
        {"partId": "a49d", "type": "text/html", "header:Content-Language": "en"},
        {"partId": "bd48", "type": "text/plain", "header:Content-Language": "en"},
    ]}
    email["bodyValues"]["a49d"] = {"value": "<html><body><div>I have the most <b>brilliant</b> plan.</div></body></html>"}
    _raw, msg = roundtrip(email)
    assert msg.body_structure.type == "multipart/alternative"
    assert [p.type for p in msg.parts()] == ["text/html", "text/plain"]
    assert msg.text_body == ["2"] and msg.html_body == ["1"]
    assert all(p.language == ["en"] for p in msg.parts())
    assert msg.props["to"] == [{"name": "John", "email": "john@example.com"}]


def full_email():
    return {
        "from": [{"name": "Jöhn Smîth, Jr.", "email": "john@example.com"}],
        "to": [{"name": None, "email": "a@example.com"}, {"name": "B \"Q\" Person", "email": "b@example.com"}],
        "subject": "Résumé for the “big” project " + "with a rather long subject line " * 3,
        "header:X-Mailer": " jmapd test",
        "header:Received:all": [" from a", " from b"],
        "textBody": [{"partId": "t", "type": "text/plain"}],
        "htmlBody": [{"partId": "h", "type": "text/html"}],
        "attachments": [
            {"blobId": "Bpng", "type": "image/png", "cid": "logo@x", "disposition": "inline", "name": "logo.png"},
            {"blobId": "Bpdf", "type": "application/pdf", "disposition": "attachment",
             "name": "Übersicht – sehr langer Dateiname für den Bericht 2024.pdf"},
            {"blobId": "Btxt", "type": "text/plain", "charset": "utf-8", "disposition": "attachment", "name": "notes.txt"},
            {"blobId": "Bmsg", "type": "message/rfc822", "disposition": "attachment"},
        ],
        "bodyValues": {"t": {"value": "Hello café\r\nsecond line"}, "h": {"value": "<p>Hello <img src=\"cid:logo@x\"></p>"}},
    }


def test_text_html_attachments_layout():
    raw, msg = roundtrip(full_email())
    def tree(p):
        return p.type if p.sub_parts is None else [p.type, [tree(c) for c in p.sub_parts]]
    assert tree(msg.body_structure) == ["multipart/mixed", [
        ["multipart/related", [["multipart/alternative", ["text/plain", "text/html"]], "image/png"]],
        "application/pdf", "text/plain", "message/rfc822"]]
    assert msg.text_body == ["1.1.1"] and msg.html_body == ["1.1.2"]
    assert msg.attachments == ["1.2", "2", "3", "4"]
    assert msg.has_attachment
    assert msg.body_value("1.1.1")["value"] == "Hello café\nsecond line"
    assert msg.part("1.2").cid == "logo@x" and msg.part("1.2").disposition == "inline"
    assert msg.part_bytes("1.2") == BLOBS["Bpng"]
    assert msg.part_bytes("2") == BLOBS["Bpdf"]
    assert msg.part("2").name == "Übersicht – sehr langer Dateiname für den Bericht 2024.pdf"
    assert msg.part_text("3")[0] == "Grüße\nzweite Zeile\n"
    assert msg.attached_message("4").props["subject"] == "Inner"
    assert msg.props["from"] == [{"name": "Jöhn Smîth, Jr.", "email": "john@example.com"}]
    assert msg.props["to"][1] == {"name": 'B "Q" Person', "email": "b@example.com"}
    assert msg.props["subject"] == full_email()["subject"]
    assert msg.header("header:Received:all") == [" from a", " from b"]
    assert msg.header("header:X-Mailer") == " jmapd test"
    assert msg.props["sentAt"] == "2024-05-01T12:00:00Z"  # Date from `now` when sentAt absent
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n")), "header lines are folded"
    assert head.isascii()
    assert b"Content-Transfer-Encoding: 7bit" in raw  # message/rfc822 stays unencoded


def test_only_text_and_empty_message():
    _, msg = roundtrip({"textBody": [{"partId": "1"}], "bodyValues": {"1": {"value": "plain"}}})
    assert msg.body_structure.type == "text/plain" and msg.body_value("1")["value"] == "plain"
    _, empty = roundtrip({"subject": "nothing"})
    assert empty.body_structure.type == "text/plain" and empty.part_bytes("1") == b""


def test_attachments_without_html_are_not_related():
    email = {"textBody": [{"partId": "t"}], "bodyValues": {"t": {"value": "x"}},
             "attachments": [{"blobId": "Bpng", "type": "image/png", "cid": "c@x", "disposition": "inline"}]}
    _, msg = roundtrip(email)
    assert msg.body_structure.type == "multipart/mixed"


def test_header_forms_roundtrip():
    email = {
        "header:To:asGroupedAddresses": [
            {"name": None, "addresses": [{"name": "A", "email": "a@x"}]},
            {"name": "Team Ü", "addresses": [{"name": None, "email": "b@x"}, {"name": "C", "email": "c@x"}]},
            {"name": "empty", "addresses": []},
        ],
        "header:X-Date:asDate": "2014-10-30T06:12:00-08:00",
        "header:References:asMessageIds": ["a@x", "b@y"],
        "header:List-Unsubscribe:asURLs": ["mailto:u@x", "https://x/u"],
        "header:X-Text:asText": "=?not-an-encoded-word?= ünïcødé",
        "messageId": ["given@example.com"],
        "inReplyTo": ["b@y"],
        "textBody": [{"partId": "t"}], "bodyValues": {"t": {"value": "x"}},
    }
    raw, msg = roundtrip(email)
    assert msg.header("header:To:asGroupedAddresses") == email["header:To:asGroupedAddresses"]
    assert msg.header("header:X-Date:asDate") == "2014-10-30T06:12:00-08:00"
    assert msg.props["references"] == ["a@x", "b@y"] and msg.props["inReplyTo"] == ["b@y"]
    assert msg.header("header:List-Unsubscribe:asURLs") == ["mailto:u@x", "https://x/u"]
    assert msg.header("header:X-Text:asText") == "=?not-an-encoded-word?= ünïcødé"
    assert msg.props["messageId"] == ["given@example.com"]
    assert raw.count(b"Message-ID:") == 1


INJECTION = [
    ("from/0/name", lambda e: e["from"][0].update(name="Joe\r\nBcc: victim@x")),
    ("from/0/email", lambda e: e["from"][0].update(email="joe@example.com\nBcc: v@x")),
    ("to/1/email", lambda e: e["to"][1].update(email="b@x>, <evil@x")),
    ("to/0/name", lambda e: e["to"][0].update(name="nul\x00")),
    ("subject", lambda e: e.update(subject="Hi\r\nBcc: v@x")),
    ("header:X-Mailer", lambda e: e.update({"header:X-Mailer": " ok\r\nBcc: v@x"})),
    ("header:X-Foo:asText", lambda e: e.update({"header:X-Foo:asText": "a\nb"})),
    ("header:Received:all/1", lambda e: e["header:Received:all"].__setitem__(1, " b\r\n")),
    ("header:X-U:asURLs/0", lambda e: e.update({"header:X-U:asURLs": ["http://x/\r\nBcc: v"]})),
    ("messageId/0", lambda e: e.update(messageId=["a@b>\r\nBcc: v@x"])),
    ("textBody/0/type", lambda e: e["textBody"][0].update(type="text/plain\r\nX-Evil: 1")),
    ("textBody/0/header:X-Part", lambda e: e["textBody"][0].update({"header:X-Part": " a\nb"})),
    ("attachments/1/name", lambda e: e["attachments"][1].update(name="a\r\n.pdf")),
    ("attachments/0/cid", lambda e: e["attachments"][0].update(cid="c@x>\r\nX: y")),
    ("attachments/2/charset", lambda e: e["attachments"][2].update(charset="utf-8\r\nX: y")),
    ("attachments/1/disposition", lambda e: e["attachments"][1].update(disposition="attachment; x=\n")),
    ("attachments/1/type", lambda e: e["attachments"][1].update(type="application/pdf; name=x")),
]


@pytest.mark.parametrize("path,mutate", INJECTION, ids=[p for p, _ in INJECTION])
def test_injection_refused_with_exact_path(path, mutate):
    email = full_email()
    mutate(email)
    with pytest.raises(ComposeError) as err:
        compose(email)
    assert err.value.path == path


def test_injection_in_bodystructure_paths():
    email = {"bodyStructure": {"type": "multipart/mixed", "subParts": [
        {"partId": "t", "type": "text/plain"},
        {"blobId": "Btxt", "type": "text/plain", "charset": "utf-8\r\nX: y"},
    ]}, "bodyValues": {"t": {"value": "x"}}}
    with pytest.raises(ComposeError) as err:
        compose(email)
    assert err.value.path == "bodyStructure/subParts/1/charset"
    email["bodyStructure"]["subParts"][1] = {"blobId": "Btxt", "language": ["en", "de\nX"]}
    with pytest.raises(ComposeError) as err:
        compose(email)
    assert err.value.path == "bodyStructure/subParts/1/language/1"


def base():
    return {"textBody": [{"partId": "t"}], "bodyValues": {"t": {"value": "x"}}}


INVALID = [
    ("headers", {"headers": [{"name": "X", "value": "y"}]}),
    ("header:From:asAddresses", {"from": [{"email": "a@x"}], "header:From:asAddresses": [{"email": "b@x"}]}),
    ("header:from", {"header:From:asAddresses": [{"email": "b@x"}], "header:from": " a@x"}),
    ("header:From:asDate", {"header:From:asDate": "2020-01-01T00:00:00Z"}),
    ("header:Content-Type", {"header:Content-Type": " text/plain"}),
    ("header:X:bogus", {"header:X:bogus": "v"}),
    ("sentAt", {"sentAt": "yesterday"}),
    ("sentAt", {"sentAt": "2020-01-01T10:00:00"}),
    ("id", {"id": "M1"}),
    ("preview", {"preview": "x"}),
    ("flavour", {"flavour": "x"}),
    ("textBody", {"bodyStructure": {"partId": "t"}}),
    ("textBody", {"textBody": [{"partId": "t"}, {"partId": "u"}], "bodyValues": {"t": {"value": "x"}, "u": {"value": "y"}}}),
    ("textBody/0/type", {"textBody": [{"partId": "t", "type": "text/html"}]}),
    ("htmlBody/0/type", {"htmlBody": [{"partId": "h", "type": "text/plain"}], "bodyValues": {"t": {"value": "x"}, "h": {"value": "y"}}}),
    ("textBody/0/blobId", {"textBody": [{"partId": "t", "blobId": "Btxt"}]}),
    ("textBody/0/partId", {"textBody": [{"partId": "nope"}], "bodyValues": {"nope2": {"value": "x"}}}),
    ("bodyValues/extra", {"bodyValues": {"t": {"value": "x"}, "extra": {"value": "y"}}}),
    ("textBody/0/charset", {"textBody": [{"partId": "t", "charset": "utf-8"}]}),
    ("textBody/0/size", {"textBody": [{"partId": "t", "size": 1}]}),
    ("textBody/0/header:Content-Transfer-Encoding", {"textBody": [{"partId": "t", "header:Content-Transfer-Encoding": " base64"}]}),
    ("bodyValues/t/isTruncated", {"bodyValues": {"t": {"value": "x", "isTruncated": True}}}),
    ("bodyValues/t/isEncodingProblem", {"bodyValues": {"t": {"value": "x", "isEncodingProblem": True}}}),
    ("bodyValues/t/value", {"bodyValues": {"t": {"value": 3}}}),
    ("textBody/0/headers", {"textBody": [{"partId": "t", "headers": []}]}),
    ("textBody/0/header:Content-Type", {"textBody": [{"partId": "t", "type": "text/plain", "header:Content-Type": " text/plain"}]}),
    ("textBody/0/partId", {"textBody": [{"type": "text/plain"}]}),
    ("attachments/0/subParts", {"attachments": [{"type": "multipart/mixed", "subParts": [{"blobId": "Btxt"}]}]}),
    ("to/0", {"to": ["a@x"]}),
    ("to/0/nickname", {"to": [{"email": "a@x", "nickname": "A"}]}),
    ("to", {"to": {"email": "a@x"}}),
    ("messageId", {"messageId": "a@x"}),
]


@pytest.mark.parametrize("path,patch", INVALID, ids=[f"{i}-{p}" for i, (p, _) in enumerate(INVALID)])
def test_invalid_create_objects(path, patch):
    email = base()
    email.update(patch)
    with pytest.raises(ComposeError) as err:
        compose(email)
    assert err.value.path == path


def test_bodystructure_specific_errors():
    def check(structure, path, **extra):
        email = {"bodyStructure": structure, "bodyValues": {"t": {"value": "x"}}, **extra}
        with pytest.raises(ComposeError) as err:
            compose(email)
        assert err.value.path == path

    check({"type": "multipart/mixed"}, "bodyStructure/subParts")
    check({"type": "multipart/mixed", "subParts": []}, "bodyStructure/subParts")
    check({"type": "text/plain", "subParts": [{"partId": "t"}]}, "bodyStructure/type")
    check({"type": "multipart/mixed", "partId": "t", "subParts": [{"partId": "t"}]}, "bodyStructure/partId")
    check({"partId": "t", "header:X-Dup": " b"}, "bodyStructure/header:X-Dup", **{"header:X-Dup": " a"})
    check({"type": "multipart/mixed", "subParts": [{"partId": "t"}, {"partId": "t"}]}, "bodyStructure/subParts/1/partId")
    deep: dict = {"partId": "t"}
    for _ in range(30):
        deep = {"type": "multipart/mixed", "subParts": [deep]}
    with pytest.raises(ComposeError):
        compose({"bodyStructure": deep, "bodyValues": {"t": {"value": "x"}}})


def test_missing_blobs_reported_together():
    email = full_email()
    email["attachments"][0]["blobId"] = "Gone1"
    email["attachments"][1]["blobId"] = "Gone2"
    email["attachments"][2]["blobId"] = "Gone1"
    with pytest.raises(BlobNotFoundError) as err:
        compose(email)
    assert err.value.not_found == ["Gone1", "Gone2"]
    assert not isinstance(err.value, ComposeError)


def test_invalid_properties_win_over_missing_blobs():
    email = full_email()
    email["attachments"][0]["blobId"] = "Gone1"
    email["subject"] = "a\nb"
    with pytest.raises(ComposeError):
        compose(email)


def test_header_content_type_override_on_leaf():
    email = {"bodyStructure": {"blobId": "Btxt", "header:Content-Type": " text/x-custom; charset=utf-8; format=flowed"}}
    raw, msg = roundtrip(email)
    assert raw.count(b"Content-Type:") == 1
    assert msg.body_structure.type == "text/x-custom"
    assert msg.header("header:Content-Type") == " text/x-custom; charset=utf-8; format=flowed"


def test_encodings_chosen_sensibly():
    long_line = "x" * 2000
    raw, msg = roundtrip({"textBody": [{"partId": "t"}], "bodyValues": {"t": {"value": long_line}}})
    assert b"Content-Transfer-Encoding: quoted-printable" in raw or b"base64" in raw
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert msg.body_value("1")["value"] == long_line
    raw, msg = roundtrip({"textBody": [{"partId": "t"}], "bodyValues": {"t": {"value": "日本語のテキスト" * 20}}})
    assert b"Content-Transfer-Encoding: base64" in raw
    assert msg.body_value("1")["value"] == "日本語のテキスト" * 20
    raw, _ = roundtrip({"textBody": [{"partId": "t"}], "bodyValues": {"t": {"value": "ascii only\n"}}})
    assert b"Content-Transfer-Encoding: 7bit" in raw


def test_sent_at_null_means_now_and_z_offset():
    raw = compose({**base(), "sentAt": None})
    assert b"Date: Wed, 01 May 2024 12:00:00 +0000\r\n" in raw
    raw = compose({**base(), "sentAt": "2024-01-02T03:04:05Z"})
    assert b"Date: Tue, 02 Jan 2024 03:04:05 +0000\r\n" in raw
