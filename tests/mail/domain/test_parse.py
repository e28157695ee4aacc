"""parse_message: content access, limits and hostile input."""

import pathlib

import pytest
from jmapd_mail.domain.parse import ParsedMessage, parse_message
from jmapd_mail.domain.text import truncate_utf8

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


def load(name: str) -> ParsedMessage:
    return parse_message((DATA / name).read_bytes())


def timed(raw: bytes, **kw) -> ParsedMessage:
    """Parse and render everything a hostile message offers; how long that
    takes is a figure of bench/hostile_input.py, not an assertion here."""
    msg = parse_message(raw, **kw)
    msg.to_json()
    msg.search_text()
    return msg


def nested(depth: int) -> bytes:
    head = b"From: deep@example.com\r\nSubject: deep\r\n"
    parts = []
    for i in range(depth):
        parts.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i))
    middle = b"Content-Type: text/plain\r\n\r\nbottom\r\n"
    tail = b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    return head + b"".join(parts) + middle + tail


def test_thousand_deep_nesting_is_capped():
    msg = timed(nested(1000), max_depth=40)
    depth, part = 0, msg.body_structure
    while part.sub_parts:
        part, depth = part.sub_parts[0], depth + 1
    assert depth == 40
    assert part.type == "application/octet-stream" and part.part_id
    assert msg.attachments == [part.part_id]


def test_default_limits_handle_deep_nesting():
    msg = timed(nested(1000))
    assert msg.parts()  # something sensible, no RecursionError


def test_shallow_nesting_reaches_bottom():
    msg = parse_message(nested(10))
    (leaf,) = msg.parts()
    assert leaf.type == "text/plain" and msg.part_text(leaf.part_id)[0] == "bottom"
    assert leaf.part_id == "1" + ".1" * 9


def test_part_count_is_capped():
    body = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(5000))
    raw = b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + body + b"--b--\r\n"
    msg = timed(raw, max_parts=100)
    assert len(msg.parts()) == 99  # the root counts too


def test_megabyte_header_lines():
    raw = (b"Subject: " + b"x" * 1_500_000 + b"\r\nX-Long: " + b"y " * 600_000 + b"\r\nFrom: a@b\r\n"
           b"To: " + b"<a@b>, " * 150_000 + b"\r\nCc: " + b"<>" * 500_000
           + b"\r\nBcc: " + b'a,b:c;<d>"e"(f)' * 100_000 + b"\r\nContent-Type: text/plain; " + b"p=1;" * 200_000 + b"\r\n\r\nhi\r\n")
    msg = timed(raw)
    assert len(msg.props["subject"]) == 1_500_000
    assert msg.props["from"] == [{"name": None, "email": "a@b"}]
    assert len(msg.props["to"]) == 25_000  # token cap: the rest of a hostile list is ignored
    assert msg.part_text("1")[0] == "hi\n"


def test_headers_without_body_and_empty_input():
    for raw in (b"", b"\r\n", b"Subject: only headers", b"\x00\x00\x00", b"--\r\n--", bytes(range(256)) * 50):
        msg = timed(raw)
        assert msg.body_structure.part_id == "1"
    assert parse_message(b"Subject: only headers").props["subject"] == "only headers"


def test_nul_bytes_dropped_from_headers_and_values():
    msg = load("17-nul-bytes.eml")
    assert msg.props["subject"] == "hasnul"
    assert all("\x00" not in v for _, v in msg.headers)
    assert "\x00" not in msg.search_text()
    assert msg.part_bytes("1") == b"body\x00with nul\r\n"  # the blob keeps the real octets


def test_eight_bit_raw_headers_use_replacement_character():
    msg = load("13-8bit-headers.eml")
    assert msg.header("header:X-Latin1") == " caf\ufffd"
    assert msg.props["from"][0]["name"] == "Jürgen Müller"


def test_broken_transfer_encodings():
    msg = load("10-bad-base64.eml")
    assert msg.body_value("1") == {"value": "Hello world", "isEncodingProblem": True, "isTruncated": False}
    assert msg.part_bytes("3") == b""
    assert parse_message(b"Content-Transfer-Encoding: base64\r\n\r\n====\r\n").part_bytes("1") == b""


def test_unknown_charset_is_flagged_and_best_effort():
    msg = load("09-broken-charset.eml")
    assert msg.body_value("1")["isEncodingProblem"] is True
    assert msg.body_value("1")["value"] == "naïve text"
    assert "\ufffd" in msg.body_value("2")["value"]


def test_attached_message_can_be_parsed():
    msg = load("05-forwarded-rfc822.eml")
    part = msg.part("2")
    assert part.type == "message/rfc822" and part.sub_parts is None
    inner = msg.attached_message("2")
    assert inner.props["subject"] == "Contract draft"
    assert inner.props["from"] == [{"name": "Legal", "email": "legal@example.org"}]
    assert inner.attachments == ["2"] and inner.part("2").name == "contract.docx"
    assert inner.part_bytes("2") == b"PK\x03\x04\x14\x00\x00\x00\x08\x00"
    assert parse_message(msg.part_bytes("2")).to_json() == inner.to_json()


def test_part_bytes_decode_base64():
    msg = load("03-mixed-attachments.eml")
    assert msg.part_bytes("3") == bytes(range(256))
    assert msg.part("3").size == 256
    assert msg.part_bytes("2").startswith(b"%PDF-1.4")


def test_truncation_utf8_boundary_and_html_tags():
    msg = parse_message("Content-Type: text/plain; charset=utf-8\r\n\r\n€€€".encode())
    assert msg.body_value("1", 4) == {"value": "€", "isEncodingProblem": False, "isTruncated": True}
    assert msg.body_value("1", 5)["value"] == "€"
    assert msg.body_value("1", 9)["isTruncated"] is False
    assert msg.body_value("1", 0)["value"] == "€€€"
    html = parse_message(b'Content-Type: text/html\r\n\r\n<p>Hello <a href="https://example.com">x</a></p>')
    assert html.body_value("1", 20)["value"] == "<p>Hello "
    assert truncate_utf8("a &amp; b", 4, is_html=True) == ("a ", True)


def test_bodyvalues_selection():
    msg = load("06-calendar-invite.eml")
    assert msg.body_value_ids(fetch_text=True) == ["1.1"]
    assert msg.body_value_ids(fetch_html=True) == ["1.2"]
    assert msg.body_value_ids(fetch_text=True, fetch_html=True) == ["1.1", "1.2"]
    assert msg.body_value_ids(fetch_all=True) == ["1.1", "1.2", "1.3"]  # application/ics is not text/*


def test_email_properties_api():
    msg = load("02-alternative.eml")
    got = msg.email_properties(
        ["id", "threadId", "from", "subject", "header:List-POST:asURLs", "htmlBody", "bodyValues"],
        body_properties=["partId", "blobId", "size", "type"],
        blob_id=lambda pid: f"G123-{pid}", fetch_html_body_values=True, max_body_value_bytes=30,
    )
    assert "id" not in got and "threadId" not in got
    assert got["header:List-POST:asURLs"] == ["mailto:partytime@lists.example.com"]
    assert got["htmlBody"] == [{"partId": "2", "blobId": "G123-2", "size": 157, "type": "text/html"}]
    assert got["bodyValues"]["2"]["isTruncated"] is True
    structure = msg.email_properties(["bodyStructure"], body_properties=["partId", "blobId", "subParts", "header:Content-Type"])
    assert structure["bodyStructure"]["partId"] is None and structure["bodyStructure"]["blobId"] is None
    assert structure["bodyStructure"]["subParts"][0]["header:Content-Type"] == ' text/plain; charset="utf-8"'
    with pytest.raises(ValueError):
        msg.email_properties(["header:From:asDate"])
    with pytest.raises(ValueError):
        msg.email_properties(["nonsense"])


def test_headers_property_and_root_part_headers():
    msg = load("01-simple-plain.eml")
    headers = msg.email_properties(["headers"])["headers"]
    assert headers[0] == {"name": "Return-Path", "value": " <alice@example.org>"}
    assert {"name": "References", "value": " <root-0@example.com>\r\n <orig-1@example.com>"} in headers
    assert msg.body_structure.headers == msg.headers


def test_spec_example_decomposition():
    msg = load("14-spec-list-example.eml")
    letter = {p.part_id: msg.part_text(p.part_id)[0].strip()[-1:] if p.type != "message/rfc822" else "J" for p in msg.parts()}
    assert [letter[i] for i in msg.text_body] == list("ABCDK")
    assert [letter[i] for i in msg.html_body] == ["A", ">", "K"]  # E is "<p>E</p>"
    assert [letter[i] for i in msg.attachments] == list("CFGHJ")


def test_search_text_and_fields():
    msg = load("19-html-only.eml")
    text = msg.search_text()
    assert "Big sale & more" in text and "<p>" not in text and "var x" not in text
    fields = load("08-rfc2231-filenames.eml").search_fields()
    assert "€ rates.pdf" in fields["attachmentNames"] and "Grüße an Müller.txt" in fields["attachmentNames"]
    assert load("01-simple-plain.eml").search_fields()["cc"] == "Carol C. carol@example.com"


def test_preview_limit():
    body = ("word " * 200 + "\U0001F600" * 300).encode()
    msg = parse_message(b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body)
    assert len(msg.preview) <= 256 and len(msg.preview.encode("utf-16-le")) <= 512
    emoji = parse_message(b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + ("\U0001F600" * 300).encode())
    assert len(emoji.preview) == 128


def test_missing_boundary_is_readable_text():
    msg = load("11-missing-boundary.eml")
    assert "Body text survives." in msg.preview


def test_boundary_prefix_of_another_boundary():
    raw = (b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n--a\r\nContent-Type: multipart/mixed; '
           b'boundary="ab"\r\n\r\n--ab\r\n\r\ninner\r\n--ab--\r\n--a\r\n\r\nouter\r\n--a--\r\n')
    msg = parse_message(raw)
    assert [(p.part_id, msg.part_text(p.part_id)[0]) for p in msg.parts()] == [("1.1", "inner"), ("2", "outer")]


def test_missing_close_delimiter_keeps_last_part():
    msg = parse_message(b'Content-Type: multipart/mixed; boundary="z"\r\n\r\n--z\r\n\r\none\r\n--z\r\n\r\ntwo')
    assert [msg.part_text(p.part_id)[0] for p in msg.parts()] == ["one", "two"]


def test_from_json_without_raw_refuses_content():
    stored = load("01-simple-plain.eml").to_json()
    light = ParsedMessage.from_json(stored)
    with pytest.raises(RuntimeError):
        light.part_bytes("1")


def test_non_bytes_rejected():
    with pytest.raises(TypeError):
        parse_message("text")  # type: ignore[arg-type]


def test_mutated_corpus_never_raises():
    """Deterministic byte-level fuzzing of the corpus: parse, serialise, read every part."""
    import random

    rng = random.Random(8621)
    corpus = [p.read_bytes() for p in sorted(DATA.glob("*.eml"))]
    for _ in range(300):
        data = bytearray(rng.choice(corpus))
        for _ in range(rng.randint(1, 20)):
            op = rng.random()
            i = rng.randrange(len(data) or 1)
            if op < 0.4 and data:
                data[i % len(data)] = rng.randrange(256)
            elif op < 0.7:
                data[i:i] = rng.choice([b"\r\n", b"--", b";", b'"', b"=?", b"?=", b"<", b">", b"\x00", b"\xff", b":"])
            else:
                del data[i : i + rng.randint(1, 40)]
        msg = parse_message(bytes(data))
        stored = ParsedMessage.from_json(msg.to_json(), raw=bytes(data))
        for part in stored.parts():
            stored.part_bytes(part.part_id)
            stored.body_value(part.part_id, 100)
        stored.search_text()


def test_large_attachment_parses_quickly():
    import base64

    payload = bytes(range(256)) * 40000  # ~10 MB
    raw = (b'Content-Type: multipart/mixed; boundary="q"\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
           b"--q\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(payload).replace(b"\n", b"\r\n") + b"--q--\r\n")
    msg = timed(raw)
    assert msg.part("2").size == len(payload)
