"""vCard <-> JSContact (RFC 9555): exporters' shapes, round trips, malformed cards."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from jmapd_contacts.domain.validate import validate_card
from jmapd_contacts.domain.vcard import parse_vcards, to_vcard, to_vcards

DATA = Path(__file__).parent / "data"
FIXTURES = ["apple", "google", "outlook", "nextcloud", "thunderbird"]


def _read(name: str) -> str:
    return (DATA / f"{name}.vcf").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_round_trips(name: str) -> None:
    first = parse_vcards(_read(name))
    assert first.errors == [] and first.cards
    for card in first.cards:
        assert validate_card(card) == []
        text = to_vcard(card)
        assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
        again = parse_vcards(text)
        assert again.errors == [] and again.cards == [card]


def test_apple_groups_labels_and_base64_photo() -> None:
    (card,) = parse_vcards(_read("apple")).cards
    assert card["uid"] == "8A2B3C4D-1234-5678-9ABC-DEF012345678"
    assert card["emails"]["e1"] == {
        "address": "johnny@apple.example.com",
        "contexts": {"work": True},
        "pref": 1,
        "vCardParams": {"group": "item1"},
    }
    assert ["x-ablabel", {"group": "item2"}, "unknown", "_$!<Other>!$_"] in card["vCardProps"]
    photo = card["media"]["m1"]
    assert photo["kind"] == "photo" and photo["uri"].startswith("data:image/jpeg;base64,/9j/")
    assert base64.b64decode(photo["uri"].split(",", 1)[1])[:2] == b"\xff\xd8"
    assert card["phones"]["p1"]["features"] == {"mobile": True, "voice": True}
    assert card["notes"]["n1"]["note"] == "Met at WWDC, 2019.\nSecond line."
    assert [c["kind"] for c in card["name"]["components"]] == [
        "surname", "given", "given2", "title", "credential",
    ]  # fmt: skip
    assert card["anniversaries"]["k1"]["date"] == {"year": 1980, "month": 4, "day": 1}


def test_outlook_quoted_printable_and_bare_parameters() -> None:
    (card,) = parse_vcards(_read("outlook")).cards
    assert card["name"]["full"] == "Jürgen Müller"
    assert card["titles"]["t1"]["name"] == "Geschäftsführer"
    assert card["addresses"]["a1"]["components"][0] == {"kind": "name", "value": "Hauptstraße 5"}
    assert card["addresses"]["a1"]["contexts"] == {"work": True}
    assert card["phones"]["p2"]["features"] == {"mobile": True, "voice": True}
    assert card["updated"] == "2024-01-15T09:30:00Z"
    label = next(p for p in card["vCardProps"] if p[0] == "label")
    assert label[3] == "Hauptstraße 5\\n10115 Berlin\\nDeutschland"


def test_google_photo_by_uri_categories_and_non_ascii() -> None:
    ana, lee = parse_vcards(_read("google")).cards
    assert ana["media"]["m1"]["uri"] == "https://lh3.googleusercontent.example/a/photo.jpg"
    assert ana["keywords"] == {"myContacts": True, "Amigos": True}
    assert ana["addresses"]["a1"]["components"][0]["value"] == "Calle Mayor 1, 2º"
    assert lee["name"]["full"] == "李小龍"


def test_thunderbird_4_0_data_uri_photo_keeps_its_comma() -> None:
    (card,) = parse_vcards(_read("thunderbird")).cards
    assert card["media"]["m1"]["uri"].startswith("data:image/png;base64,iVBOR")
    assert card["anniversaries"]["k2"]["date"] == {"month": 5, "day": 27}
    assert card["relatedTo"] == {
        "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6": {"relation": {"friend": True}}
    }
    assert card["vCardProps"] == [["x-custom1", {"x-param": "a"}, "unknown", "custom value"]]


def test_text_with_commas_is_one_value() -> None:
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nNOTE:one, two\\, three\r\nEND:VCARD\r\n"
    (card,) = parse_vcards(text).cards
    assert card["notes"]["n1"]["note"] == "one, two, three"


def test_malformed_cards_are_reported_with_line_and_the_rest_import() -> None:
    good = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good {n}\r\nUID:u{n}\r\nEND:VCARD\r\n"
    text = (
        good.format(n=1)
        + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bad\r\nthis line has no colon\r\nEND:VCARD\r\n"
        + good.format(n=2)
        + "BEGIN:VCARD\r\nVERSION:3.0\r\nPHOTO;ENCODING=b:@@@not base64\r\nEND:VCARD\r\n"
        + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:cut off\r\n"
    )
    result = parse_vcards(text)
    assert [c["uid"] for c in result.cards] == ["u1", "u2"]
    assert result.lines == [1, 11]
    assert [e.line for e in result.errors] == [9, 18, 20]
    assert "no colon" in result.errors[0].reason
    assert "base64" in result.errors[1].reason
    assert "END:VCARD" in result.errors[2].reason


def test_export_of_several_cards_reads_back() -> None:
    cards = parse_vcards(_read("google")).cards + parse_vcards(_read("apple")).cards
    assert parse_vcards(to_vcards(cards)).cards == cards


def test_export_escapes_text() -> None:
    card = {"@type": "Card", "version": "2.0", "name": {"full": "A; B, C"}}
    card["notes"] = {"n1": {"note": "x\ny; z"}}
    text = to_vcard(card)
    assert "FN:A\\; B\\, C\r\n" in text and "NOTE:x\\ny\\; z\r\n" in text
    assert parse_vcards(text).cards == [card]
