"""Base subjects (RFC 5256) and related message-ids."""

import pytest
from jmapd_mail.domain.thread import (
    base_subject,
    related_message_ids,
    same_thread_subject,
    subject_key,
    thread_ids_of,
)


@pytest.mark.parametrize("subject,base", [
    ("Re: Lunch", "Lunch"),
    ("RE: re:  Fwd: Lunch", "Lunch"),
    ("Re[2]: Lunch", "Lunch"),
    ("[list] Re: [list] Lunch", "Lunch"),
    ("Lunch (fwd)", "Lunch"),
    ("[Fwd: Re: Lunch]", "Lunch"),
    ("Fw: [Fwd: Lunch (fwd)]", "Lunch"),
    ("AW: WG: Termin", "Termin"),
    ("SV: VS: Møte", "Møte"),
    ("[only a blob]", "[only a blob]"),
    ("Rechnung: Januar", "Rechnung: Januar"),
    ("Re:", ""),
    ("   ", ""),
    (None, ""),
    ("Re:\tmulti   space\r\n folded", "multi space folded"),
])
def test_base_subject(subject, base):
    assert base_subject(subject) == base


def test_subject_key_and_matching():
    assert subject_key("Re: HELLO") == subject_key("hello")
    assert same_thread_subject("Re: Budget", "Fwd: budget")
    assert not same_thread_subject("Re: Budget", "Holiday")
    assert same_thread_subject("", "anything")


def test_related_ids():
    assert related_message_ids(["m@x"], ["p@x"], ["r@x", "p@x", " "]) == ["m@x", "p@x", "r@x"]
    assert related_message_ids(None, None, None) == []
    assert thread_ids_of({"messageId": ["a@x"], "inReplyTo": None, "references": ["b@x"]}) == ["a@x", "b@x"]


def test_hostile_subject_terminates():
    # How long this takes is a figure of bench/hostile_input.py, not a test.
    # Only the first MAX_SUBJECT characters count: an unclosed "[" run is kept,
    # a head made only of "Re: " leaders is stripped to nothing.
    assert base_subject("[" * 50000 + "Re: " * 50000) == "[" * 4096
    assert base_subject("Re: " * 100000 + "x") == ""
