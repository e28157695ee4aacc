"""RFC 8621 §4.1.2 header forms."""

import pytest
from jmapd_mail.domain.headers import (
    as_addresses,
    as_date,
    as_grouped_addresses,
    as_message_ids,
    as_text,
    as_urls,
    form_allowed,
    header_value,
    parse_header_property,
)

SPEC_LIST = '"  James Smythe" <james@example.com>, Friends:\r\n  jane@example.com, =?UTF-8?Q?John_Sm=C3=AEth?=\r\n  <john@example.com>;'


def test_spec_addresses_example():
    assert as_addresses(SPEC_LIST) == [
        {"name": "James Smythe", "email": "james@example.com"},
        {"name": None, "email": "jane@example.com"},
        {"name": "John Smîth", "email": "john@example.com"},
    ]


def test_spec_grouped_addresses_example():
    assert as_grouped_addresses(SPEC_LIST) == [
        {"name": None, "addresses": [{"name": "James Smythe", "email": "james@example.com"}]},
        {"name": "Friends", "addresses": [
            {"name": None, "email": "jane@example.com"},
            {"name": "John Smîth", "email": "john@example.com"},
        ]},
    ]


@pytest.mark.parametrize("raw,expected", [
    (" jane@example.com (Jane Doe)", [{"name": "Jane Doe", "email": "jane@example.com"}]),
    (' "Doe, Jane \\"JD\\"" <jane@example.com>', [{"name": 'Doe, Jane "JD"', "email": "jane@example.com"}]),
    (" <@route.example:jane@example.com>", [{"name": None, "email": "jane@example.com"}]),
    (" John", [{"name": None, "email": "John"}]),
    (" a@b, , c@d", [{"name": None, "email": "a@b"}, {"name": None, "email": "c@d"}]),
    (" Ünïcode Raw <u@example.com>", [{"name": "Ünïcode Raw", "email": "u@example.com"}]),
    (" =?utf-8?q?Caf=C3=A9?= =?utf-8?q?_Owner?= <o@example.com>", [{"name": "Café Owner", "email": "o@example.com"}]),
    (' "=?utf-8?b?SsO2cmc=?=" <j@example.com>', [{"name": "Jörg", "email": "j@example.com"}]),
    ("", []),
])
def test_addresses_best_effort(raw, expected):
    assert as_addresses(raw) == expected


@pytest.mark.parametrize("garbage", [
    '<<<>>>,,;;::""', '"unterminated <a@b>', "(((nested (comment) a@b", "\\", ">", ";;;", ":::", "<a@b",
    "\x00\x01\x02", "=?utf-8?q?=?=", "A:B:C:d@e;;", "\ufffd\ufffd<\ufffd@\ufffd>",
])
def test_addresses_never_raise(garbage):
    for fn in (as_addresses, as_grouped_addresses, as_text, as_message_ids, as_date, as_urls):
        fn(garbage)


def test_empty_group_kept_in_grouped_form_only():
    assert as_grouped_addresses(" undisclosed-recipients:;") == [{"name": "undisclosed-recipients", "addresses": []}]
    assert as_addresses(" undisclosed-recipients:;") == []


def test_mailboxes_after_a_group_get_their_own_null_group():
    got = as_grouped_addresses(" a@x, G: b@x;, c@x")
    assert [g["name"] for g in got] == [None, "G", None]


@pytest.mark.parametrize("raw,expected", [
    (" =?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
    (" =?utf-8?q?a?= =?utf-8?q?b?=", "ab"),  # whitespace between encoded words dropped
    (" =?utf-8?q?a?= b =?utf-8?q?c?=", "a b c"),
    (" x=?utf-8?q?a?=", "x=?utf-8?q?a?="),  # glued to text: must not decode
    (" =?no-such-charset?q?a?=", "=?no-such-charset?q?a?="),  # unknown charset: left alone
    (" =?utf-8?b?4oKs?= =?utf-8?b?4oKs?=", "€€"),
    (" =?utf-8?b?4g==?= =?utf-8?b?gqw=?=", "€"),  # multi-byte char split across words
    (" =?utf-8?q?nul=00ctl=01?=", "nulctl"),
    (" folded\r\n  line", "folded  line"),
    (" e\u0301", "é"),  # NFC
    (" =?UTF-8*en?Q?lang?=", "lang"),  # RFC 2231 language in encoded word
])
def test_as_text(raw, expected):
    assert as_text(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    (" Thu, 30 Oct 2014 06:12:00 -0800", "2014-10-30T06:12:00-08:00"),
    (" Thu, 30 Oct 2014 14:12:00 +0000 (UTC)", "2014-10-30T14:12:00Z"),
    (" 30 Oct 2014 14:12 GMT", "2014-10-30T14:12:00Z"),
    (" Tue, 10 Jul 2018 11:03:11 +1000", "2018-07-10T11:03:11+10:00"),
    (" Wed, 1 Jan 2020 00:00:00 +0530", "2020-01-01T00:00:00+05:30"),
    (" 1 Jan 20 10:00 EST", "2020-01-01T10:00:00-05:00"),
    (" not a date", None),
    (" Mon, 31 Feb 2020 10:00:00 +0000", None),
    ("", None),
])
def test_as_date_keeps_offset(raw, expected):
    assert as_date(raw) == expected


def test_message_ids_and_urls():
    assert as_message_ids(" <a@b>\r\n <c@d> (comment <x@y>)") == ["a@b", "c@d"]
    assert as_message_ids(" bare@id.example") == ["bare@id.example"]
    assert as_message_ids(" nothing here") is None
    assert as_urls(" <mailto:l@x> (Use this), <https://x.example/u>") == ["mailto:l@x", "https://x.example/u"]
    assert as_urls(" NO (no URLs)") is None


@pytest.mark.parametrize("name,form,ok", [
    ("From", "asAddresses", True), ("resent-cc", "asGroupedAddresses", True), ("Subject", "asAddresses", False),
    ("From", "asDate", False), ("Date", "asDate", True), ("Subject", "asText", True), ("From", "asText", False),
    ("List-Id", "asText", True), ("List-Post", "asURLs", True), ("List-Post", "asText", False),
    ("Message-ID", "asMessageIds", True), ("References", "asDate", False), ("X-Custom", "asDate", True),
    ("X-Custom", "asAddresses", True), ("Received", "asText", False), ("Received", "asRaw", True),
    ("Comments", "Text", True), ("Keywords", "asURLs", False), ("Resent-Reply-To", "asAddresses", True),
])
def test_form_allowed(name, form, ok):
    assert form_allowed(name, form) is ok


def test_parse_header_property():
    assert parse_header_property("header:List-Unsubscribe:asURLs:all") == ("List-Unsubscribe", "asURLs", True)
    assert parse_header_property("header:subject") == ("subject", "asRaw", False)
    assert parse_header_property("header:X-A:all") == ("X-A", "asRaw", True)
    for bad in ("header:", "header:From:asDate", "header:X:all:asText", "header:X:asBogus", "header:X Y",
                "subject", "header:X:asText:all:extra", "header:Ü"):
        with pytest.raises(ValueError):
            parse_header_property(bad)


def test_header_value_last_instance_and_all():
    headers = [("Received", " one"), ("X-A", " 1"), ("received", " two")]
    assert header_value(headers, "RECEIVED") == " two"
    assert header_value(headers, "Received", all=True) == [" one", " two"]
    assert header_value(headers, "X-None") is None
    assert header_value(headers, "X-None", all=True) == []


def test_megabyte_address_header_is_parsed_whole():
    # How long this takes is a figure of bench/hostile_input.py, not a test.
    raw = " " + ", ".join(f'"User {i}" <user{i}@example.com>' for i in range(16000))
    raw += " " + "x" * 500_000
    assert len(raw) > 900_000  # 16,000 named recipients: 48,000 tokens, under the cap
    got = as_addresses(raw)
    assert len(got) == 16000 and got[-1] == {"name": "User 15999", "email": "user15999@example.com"}
