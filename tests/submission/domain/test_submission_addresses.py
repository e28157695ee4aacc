"""Envelope mailbox and ESMTP parameter validation, including injection cases."""

from __future__ import annotations

import pytest
from jmapd_submission.domain.addresses import (
    encode_parameters,
    mailbox_key,
    needs_smtputf8,
    validate_mailbox,
    validate_parameters,
    xtext_encode,
)


def codes(problems):
    return [p.code for p in problems]


@pytest.mark.parametrize(
    "address",
    [
        "alice@example.com",
        "a.b.c@sub.example.co.uk",
        "user+tag@example.com",
        "o'hara@example.ie",
        "x!#$%&'*+-/=?^_`{|}~@example.com",
        '"john..doe"@example.com',
        '"a@b"@example.com',
        '"quote\\"d"@example.com',
        "user@localhost",
        "user@[192.0.2.1]",
        "user@[IPv6:2001:db8::1]",
        "a" * 64 + "@example.com",
        "x@" + ".".join(["a" * 63] * 3) + ".com",
    ],
)
def test_valid_mailboxes(address):
    assert validate_mailbox(address) == []


@pytest.mark.parametrize(
    ("address", "code"),
    [
        # SMTP command / parameter smuggling
        ("a@b.com> SIZE=1", "whitespace"),
        ("a@b.com>NOTIFY=NEVER", "angleBracket"),
        ("a@b.com SIZE=1", "whitespace"),
        ("<a@b.com>", "angleBracket"),
        ("a@b.com\r\nRCPT TO:<evil@x.com>", "controlCharacter"),
        ("a@b.com\nDATA", "controlCharacter"),
        ("a@b.com\x00", "controlCharacter"),
        ("a@b.com\t", "whitespace"),
        ('"a b"@example.com', "whitespace"),
        ('"a>b"@example.com', "angleBracket"),
        ("a\u2028@b.com", "whitespace"),
        # plain syntax errors
        ("", "empty"),
        ("alice", "missingAt"),
        ("@example.com", "invalidLocalPart"),
        ("alice@", "invalidDomain"),
        ("al..ice@example.com", "invalidLocalPart"),
        (".alice@example.com", "invalidLocalPart"),
        ("alice.@example.com", "invalidLocalPart"),
        ("a(comment)@example.com", "invalidLocalPart"),
        ("a,b@example.com", "invalidLocalPart"),
        ("a@b@example.com", "invalidLocalPart"),
        ('"unterminated@example.com', "missingAt"),
        ("alice@-example.com", "invalidDomain"),
        ("alice@example-.com", "invalidDomain"),
        ("alice@example..com", "invalidDomain"),
        ("alice@example.com.", "invalidDomain"),
        ("alice@exa_mple.com", "invalidDomain"),
        ("alice@[300.1.1.1]", "invalidAddressLiteral"),
        ("alice@[IPv6:zz::1]", "invalidAddressLiteral"),
        ("alice@[tag:general]", "invalidAddressLiteral"),
        ("alice@[1.2.3.4", "invalidAddressLiteral"),
        ("a" * 65 + "@example.com", "tooLong"),
        ("a@" + "b" * 64 + ".com", "invalidDomain"),
        ("a@" + ".".join(["b" * 60] * 5), "tooLong"),
        ("jörg@example.com", "nonAscii"),
        ("joerg@exämple.com", "nonAscii"),
    ],
)
def test_invalid_mailboxes(address, code):
    problems = validate_mailbox(address, path="rcptTo/0/email")
    assert code in codes(problems)
    assert all(p.path == "rcptTo/0/email" for p in problems)


def test_non_string_and_empty_sender():
    assert codes(validate_mailbox(None)) == ["notString"]
    assert codes(validate_mailbox(42)) == ["notString"]
    assert validate_mailbox("", allow_empty=True) == []


def test_smtputf8_addresses():
    assert validate_mailbox("jörg@exämple.com", allow_smtputf8=True) == []
    assert validate_mailbox("用户@例子.广告", allow_smtputf8=True) == []
    assert codes(validate_mailbox("jörg@ex ämple.com", allow_smtputf8=True)) == ["whitespace"]
    assert codes(validate_mailbox("j@-ä.com", allow_smtputf8=True)) == ["invalidDomain"]
    assert needs_smtputf8("jörg@example.com")
    assert not needs_smtputf8("joerg@example.com")


def test_mailbox_key_folds_domain_only():
    assert mailbox_key("Alice@Example.COM") == "Alice@example.com"
    assert mailbox_key("alice@example.com") != mailbox_key("Alice@example.com")


# --- parameters --------------------------------------------------------------


def test_valid_parameters():
    assert validate_parameters(None, role="mail") == []
    assert validate_parameters({}, role="rcpt") == []
    mail = {
        "SIZE": "12345",
        "BODY": "8BITMIME",
        "RET": "hdrs",
        "ENVID": "abc def+x=y",
        "HOLDFOR": "3600",
        "HOLDUNTIL": "2025-01-01T10:00:00Z",
        "MT-PRIORITY": "-3",
        "X-VENDOR": "opaque-value",
        "REQUIRETLS": None,
    }
    assert validate_parameters(mail, role="mail") == []
    rcpt = {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": "rfc822;bob+x@example.com"}
    assert validate_parameters(rcpt, role="rcpt") == []
    assert validate_parameters({"notify": "never"}, role="rcpt") == []


@pytest.mark.parametrize(
    ("params", "role", "code"),
    [
        ([], "mail", "notObject"),
        ("SIZE=1", "mail", "notObject"),
        ({"SI ZE": "1"}, "mail", "invalidKeyword"),
        ({"-SIZE": "1"}, "mail", "invalidKeyword"),
        ({"SIZE=1 X": None}, "mail", "invalidKeyword"),
        ({"X\r\nRCPT": None}, "mail", "invalidKeyword"),
        ({"": None}, "mail", "invalidKeyword"),
        ({"SIZE": "1", "size": "2"}, "mail", "duplicateParameter"),
        ({"X-FOO": "a b"}, "mail", "invalidValue"),
        ({"X-FOO": "a=b"}, "mail", "invalidValue"),
        ({"X-FOO": "1\r\nDATA"}, "mail", "invalidValue"),
        ({"X-FOO": ""}, "mail", "invalidValue"),
        ({"X-FOO": 5}, "mail", "invalidValue"),
        ({"X-FOO": "ü"}, "mail", "invalidValue"),
        ({"SIZE": "1 NOTIFY=NEVER"}, "mail", "invalidValue"),
        ({"SIZE": "big"}, "mail", "invalidValue"),
        ({"SIZE": None}, "mail", "invalidValue"),
        ({"BODY": "9BIT"}, "mail", "invalidValue"),
        ({"RET": "ALL"}, "mail", "invalidValue"),
        ({"SMTPUTF8": "yes"}, "mail", "invalidValue"),
        ({"ENVID": "x" * 101}, "mail", "invalidValue"),
        ({"ENVID": "a\r\nb"}, "mail", "invalidValue"),
        ({"HOLDUNTIL": "tomorrow"}, "mail", "invalidValue"),
        ({"MT-PRIORITY": "10"}, "mail", "invalidValue"),
        ({"NOTIFY": "NEVER,SUCCESS"}, "rcpt", "invalidValue"),
        ({"NOTIFY": "SUCCESS,SUCCESS"}, "rcpt", "invalidValue"),
        ({"NOTIFY": "SOMETIMES"}, "rcpt", "invalidValue"),
        ({"ORCPT": "bob@example.com"}, "rcpt", "invalidValue"),
        ({"NOTIFY": "NEVER"}, "mail", "wrongCommand"),
        ({"SIZE": "1"}, "rcpt", "wrongCommand"),
    ],
)
def test_invalid_parameters(params, role, code):
    problems = validate_parameters(params, role=role, path="mailFrom/parameters")
    assert code in codes(problems), problems
    assert all(p.path.startswith("mailFrom/parameters") for p in problems)


def test_utf8_parameter_values_need_smtputf8():
    assert validate_parameters({"X-FOO": "ü"}, role="mail", allow_smtputf8=True) == []


def test_xtext_and_wire_encoding():
    assert xtext_encode("a b+c=d") == "a+20b+2Bc+3Dd"
    tokens = encode_parameters(
        {"envid": "id 1=x", "ORCPT": "rfc822;a+b@example.com", "SMTPUTF8": None}
    )
    assert tokens == ["ENVID=id+201+3Dx", "ORCPT=rfc822;a+2Bb@example.com", "SMTPUTF8"]
    assert encode_parameters(None) == []
    with pytest.raises(ValueError):
        encode_parameters({"X-FOO": "a b"})
    with pytest.raises(ValueError):
        encode_parameters({"X FOO": "a"})
