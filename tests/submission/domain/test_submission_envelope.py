"""Envelope validation, RFC 8621 §7 derivation and Bcc stripping."""

from __future__ import annotations

import pytest
from jmapd_submission.domain.envelope import (
    Address,
    Envelope,
    derive_envelope,
    identity_allows,
    parse_envelope,
    strip_bcc,
)
from jmapd_submission.domain.headers import parse_headers


def hdrs(text: str):
    return parse_headers(text.replace("\n", "\r\n").encode() + b"\r\n")


# --- client-supplied envelopes ---------------------------------------------


def test_parse_valid_envelope_roundtrip():
    value = {
        "mailFrom": {"email": "john@example.com", "parameters": {"ENVID": "x1"}},
        "rcptTo": [
            {"email": "jane@example.com", "parameters": None},
            {"email": "bob@example.org", "parameters": {"NOTIFY": "FAILURE"}},
            {"email": "jane@EXAMPLE.com", "parameters": None},  # duplicate
        ],
    }
    result = parse_envelope(value)
    assert result.ok
    env = result.envelope
    assert env.recipients == ["jane@example.com", "bob@example.org"]
    assert env.to_jmap() == {
        "mailFrom": {"email": "john@example.com", "parameters": {"ENVID": "x1"}},
        "rcptTo": [
            {"email": "jane@example.com", "parameters": None},
            {"email": "bob@example.org", "parameters": {"NOTIFY": "FAILURE"}},
        ],
    }


def test_null_sender_allowed_unless_disabled():
    value = {"mailFrom": {"email": "", "parameters": None}, "rcptTo": [{"email": "a@b.com"}]}
    assert parse_envelope(value).ok
    result = parse_envelope(value, allow_null_sender=False)
    assert result.set_error["type"] == "invalidProperties"


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        {"rcptTo": [{"email": "a@b.com"}]},
        {"mailFrom": "a@b.com", "rcptTo": [{"email": "a@b.com"}]},
        {"mailFrom": {"email": "a@b.com"}, "rcptTo": "a@b.com"},
        {"mailFrom": {"email": "a@b.com"}, "rcptTo": ["a@b.com"]},
        {"mailFrom": {"email": "a@b.com"}, "rcptTo": [{"email": 7}]},
        {"mailFrom": {"email": "a@b.com", "extra": 1}, "rcptTo": [{"email": "c@d.com"}]},
        {"mailFrom": {"email": "a@b.com"}, "rcptTo": [{"email": "c@d.com"}], "x": 1},
        {"mailFrom": {"email": "a@b.com> SIZE=1"}, "rcptTo": [{"email": "c@d.com"}]},
        {
            "mailFrom": {"email": "a@b.com", "parameters": {"SIZE": "1 NOTIFY=NEVER"}},
            "rcptTo": [{"email": "c@d.com"}],
        },
        {
            "mailFrom": {"email": "a@b.com"},
            "rcptTo": [{"email": "c@d.com", "parameters": {"NOTIFY": "NEVER RET=FULL"}}],
        },
    ],
)
def test_structural_problems_are_invalid_properties(value):
    result = parse_envelope(value)
    assert not result.ok and result.envelope is None
    assert result.set_error["type"] == "invalidProperties"
    paths = result.set_error["properties"]
    assert paths and all(p == "envelope" or p.startswith("envelope/") for p in paths), paths
    assert result.set_error["description"]


def test_invalid_recipients_listed():
    value = {
        "mailFrom": {"email": "a@b.com"},
        "rcptTo": [
            {"email": "ok@b.com"},
            {"email": "c@d.com>\r\nRCPT TO:<evil@x.com"},
            {"email": "no-at-sign"},
        ],
    }
    result = parse_envelope(value)
    assert result.set_error["type"] == "invalidRecipients"
    assert result.set_error["invalidRecipients"] == [
        "c@d.com>\r\nRCPT TO:<evil@x.com",
        "no-at-sign",
    ]


def test_no_and_too_many_recipients():
    empty = parse_envelope({"mailFrom": {"email": "a@b.com"}, "rcptTo": []})
    assert empty.set_error == {"type": "noRecipients"}
    many = {
        "mailFrom": {"email": "a@b.com"},
        "rcptTo": [{"email": f"u{i}@b.com"} for i in range(4)],
    }
    result = parse_envelope(many, max_recipients=3)
    assert result.set_error == {"type": "tooManyRecipients", "maxRecipients": 3}
    assert parse_envelope(many, max_recipients=4).ok


def test_envelope_smtputf8_flag():
    env = Envelope(Address("a@b.com"), (Address("jörg@b.com"),))
    assert env.needs_smtputf8
    value = {"mailFrom": {"email": "a@b.com"}, "rcptTo": [{"email": "jörg@b.com"}]}
    assert parse_envelope(value).set_error["type"] == "invalidRecipients"
    assert parse_envelope(value, allow_smtputf8=True).ok


# --- derivation ---------------------------------------------------------------


def test_derive_from_from_and_recipients():
    result = derive_envelope(
        hdrs(
            "From: Alice <alice@example.com>\n"
            "To: Bob <bob@example.net>, carol@example.net\n"
            "Cc: team: dave@example.org, bob@EXAMPLE.NET;\n"
            "Bcc: hidden@example.org\n"
            "Subject: x"
        )
    )
    assert result.ok
    env = result.envelope
    assert env.mail_from == Address("alice@example.com")
    assert env.recipients == [
        "bob@example.net",
        "carol@example.net",
        "dave@example.org",
        "hidden@example.org",
    ]
    assert all(a.parameters is None for a in env.rcpt_to)


def test_sender_wins_over_from():
    result = derive_envelope(
        hdrs("From: a@example.com, b@example.com\nSender: sec@example.com\nTo: x@example.net")
    )
    assert result.envelope.mail_from.email == "sec@example.com"


@pytest.mark.parametrize(
    ("text", "prop"),
    [
        ("From: a@example.com, b@example.com\nTo: x@example.net", "from"),
        ("From: a@example.com\nFrom: b@example.com\nTo: x@example.net", "from"),
        ("Sender: a@example.com\nSender: b@example.com\nTo: x@example.net", "sender"),
        ("From: undisclosed:;\nTo: x@example.net", "from"),
        ("To: x@example.net", "from"),
        ("From: a@example.com\nTo: x@example.net> SIZE=1", "to"),
        ("From: a@example.com\nCc: broken <<<", "cc"),
    ],
)
def test_derivation_rejects_ambiguous_headers(text, prop):
    result = derive_envelope(hdrs(text))
    assert result.set_error["type"] == "invalidEmail"
    assert result.set_error["properties"] == [prop]


def test_derivation_recipient_errors():
    assert derive_envelope(hdrs("From: a@example.com\nSubject: x")).set_error == {
        "type": "noRecipients"
    }
    result = derive_envelope(hdrs('From: a@example.com\nTo: "a b"@example.com, ok@example.com'))
    assert result.set_error["type"] == "invalidRecipients"
    assert result.set_error["invalidRecipients"] == ['"a b"@example.com']
    result = derive_envelope(hdrs("From: a@example.com\nTo: x@a.com, y@a.com"), max_recipients=1)
    assert result.set_error["type"] == "tooManyRecipients"


def test_identity_substitution():
    headers = hdrs("From: someone-else@example.com\nTo: x@example.net")
    result = derive_envelope(headers, identity_email="me@example.com")
    assert result.envelope.mail_from.email == "me@example.com"
    ok = derive_envelope(
        hdrs("From: Me@Example.com\nTo: x@example.net"), identity_email="me@example.com"
    )
    assert ok.envelope.mail_from.email == "Me@Example.com"
    wildcard = derive_envelope(
        hdrs("From: sales@example.com\nTo: x@example.net"), identity_email="*@example.com"
    )
    assert wildcard.envelope.mail_from.email == "sales@example.com"
    refused = derive_envelope(headers, identity_email="*@other.org")
    assert refused.set_error["type"] == "forbiddenMailFrom"
    no_from = derive_envelope(hdrs("To: x@example.net"), identity_email="me@example.com")
    assert no_from.envelope.mail_from.email == "me@example.com"


def test_identity_allows():
    assert identity_allows("*@example.com", "x@EXAMPLE.com")
    assert not identity_allows("*@example.com", "x@sub.example.com")
    assert identity_allows("me@example.com", "ME@example.com")
    assert not identity_allows("me@example.com", "notme@example.com")
    assert not identity_allows("me@example.com", "me")


def test_encoded_display_names_and_folding():
    raw = (
        b"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.com>\r\n"
        b"To: first@example.net,\r\n"
        b"\tsecond@example.net\r\n"
        b"\r\n"
        b"To: not-a-header@example.net\r\n"
    )
    env = derive_envelope(parse_headers(raw)).envelope
    assert env.mail_from.email == "joerg@example.com"
    assert env.recipients == ["first@example.net", "second@example.net"]


# --- Bcc stripping ------------------------------------------------------------


def test_strip_bcc_preserves_everything_else():
    raw = (
        b"From: a@example.com\r\n"
        b"BCC: one@example.com,\r\n"
        b"  two@example.com\r\n"
        b"To:  b@example.com \r\n"
        b"Subject: =?utf-8?q?caf=C3=A9?=\r\n"
        b"bcc : three@example.com\r\n"
        b"X-Not-Bcc: keep\r\n"
        b"Bccx: keep\r\n"
        b"\r\n"
        b"Bcc: this is body text\r\n"
        b"\xff\xfe binary-ish\r\n"
    )
    assert strip_bcc(raw) == (
        b"From: a@example.com\r\n"
        b"To:  b@example.com \r\n"
        b"Subject: =?utf-8?q?caf=C3=A9?=\r\n"
        b"X-Not-Bcc: keep\r\n"
        b"Bccx: keep\r\n"
        b"\r\n"
        b"Bcc: this is body text\r\n"
        b"\xff\xfe binary-ish\r\n"
    )


def test_strip_bcc_edge_cases():
    no_bcc = b"From: a@example.com\nTo: b@example.com\n\nbody"
    assert strip_bcc(no_bcc) is no_bcc
    assert strip_bcc(b"Bcc: x@y.z\nFrom: a\n\nbody\n") == b"From: a\n\nbody\n"
    assert strip_bcc(b"From: a\r\nBcc: x@y.z") == b"From: a\r\n"  # no body at all
    assert strip_bcc(b"From: a\r\nBcc:\r\n\r\n") == b"From: a\r\n\r\n"  # empty Bcc
    resent = b"Resent-Bcc: x\r\nBcc: y\r\n\r\n"
    assert strip_bcc(resent) == b"Resent-Bcc: x\r\n\r\n"
    assert strip_bcc(resent, names=("bcc", "resent-bcc")) == b"\r\n"
