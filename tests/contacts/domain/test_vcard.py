"""vCard <-> JSContact (RFC 9555): exporters' shapes, round trips, malformed cards."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

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
    # RFC 9555 §3.3.2: the grouped X-ABLabel is the label of its property
    assert card["emails"]["e2"] == {
        "address": "j@home.example",
        "contexts": {"private": True},
        "label": "_$!<Other>!$_",
    }
    assert card["links"]["l1"]["label"] == "_$!<HomePage>!$_"
    assert ["x-abadr", {"group": "item3"}, "unknown", "us"] in card["vCardProps"]
    assert all(p[0] != "x-ablabel" for p in card["vCardProps"])
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
    assert "FN:A\\; B\\, C\r\n" in text and "NOTE;PROP-ID=n1:x\\ny\\; z\r\n" in text
    assert parse_vcards(text).cards == [card]


RFC9555 = json.loads((DATA / "rfc9555_examples.json").read_text(encoding="utf-8"))["pairs"]
ID_MAPS = {
    "phones", "emails", "addresses", "nicknames", "onlineServices", "preferredLanguages",
    "links", "media", "directories", "personalInfo", "notes", "cryptoKeys", "calendars",
    "schedulingAddresses", "titles", "organizations", "anniversaries",
}  # fmt: skip
# Conversions of RFC 9555 this mapping does not do yet (the closing note lists them).
NOT_YET = {
    "LANGUAGE Conversion Example: One Dominant Language",  # ALTID/LANGUAGE -> localizations
    "LANGUAGE Conversion Example: Property without Language",
    "PHONETIC Conversion Example",
}


def _rfc_vcard(lines: str) -> str:
    """The RFC's lines as a vCard: its continuation lines are indented two spaces for print."""
    body = lines.replace("\n  ", "\n ").replace("\n", "\r\n")
    return "BEGIN:VCARD\r\nVERSION:4.0\r\n" + body + "\r\nEND:VCARD\r\n"


def _org_names(card: dict) -> dict:
    """Titles' organizationId replaced by the organization's name: ids differ, links must not."""
    orgs = card.get("organizations") or {}
    if not card.get("titles"):
        return card
    titles = {
        k: {**t, "organizationId": orgs[t["organizationId"]]["name"]}
        if "organizationId" in t
        else t
        for k, t in card["titles"].items()
    }
    return {**card, "titles": titles}


def _comparable(key: str, value: Any) -> Any:
    """Id maps compared as multisets: the RFC's ids are examples, except PROP-ID ones."""
    if key in ID_MAPS and isinstance(value, dict):
        return sorted(json.dumps(v, sort_keys=True) for v in value.values())
    if key == "speakToAs" and isinstance(value, dict):
        return {k: _comparable("phones", v) if k == "pronouns" else v for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    "pair",
    [
        pytest.param(
            p,
            id=p["section"],
            marks=[pytest.mark.xfail(strict=True, reason="not converted yet")]
            if p["section"] in NOT_YET
            else [],
        )
        for p in RFC9555
    ],
)
def test_rfc9555_conversion_examples(pair: dict) -> None:
    text = _rfc_vcard(pair["vcard"])
    result = parse_vcards(text)
    assert result.errors == []
    (card,) = result.cards
    expected_card = pair["jscontact"]
    if pair["section"].startswith("BDAY, BIRTHPLACE"):
        # RFC 9555 §2.3.2 prints DEATHDATE:19960415 as {"year": 15, "month": 4}: a typo
        expected_card = json.loads(json.dumps(expected_card))
        assert expected_card["anniversaries"]["ANNIVERSARY-2"]["date"] == {"year": 15, "month": 4}
        expected_card["anniversaries"]["ANNIVERSARY-2"]["date"] = {
            "year": 1996,
            "month": 4,
            "day": 15,
        }
    expected_card, named = _org_names(expected_card), _org_names(card)
    for key, expected in expected_card.items():
        if key == "uid" and "UID" not in pair["vcard"]:
            continue  # the RFC's group example shows a uid its vCard lacks
        assert _comparable(key, named.get(key)) == _comparable(key, expected), key
    assert parse_vcards(to_vcard(card)).cards == [card]


def test_prop_id_becomes_the_id() -> None:
    (pair,) = [p for p in RFC9555 if p["section"] == "PROP-ID Conversion Example"]
    text = _rfc_vcard(pair["vcard"])
    (card,) = parse_vcards(text).cards
    assert sorted(card["phones"]) == ["PHONE-A", "PHONE-B"]


def test_organization_link_and_places_survive_export() -> None:
    card = {
        "@type": "Card",
        "version": "2.0",
        "name": {"full": "J"},
        "titles": {"k2": {"kind": "role", "name": "Project Leader", "organizationId": "o2"}},
        "organizations": {"o2": {"name": "ABC, Inc."}, "o3": {"name": "Other"}},
        "anniversaries": {
            "b": {"kind": "birth", "date": {"year": 1953}, "place": {"full": "Town\nLand"}}
        },
    }
    text = to_vcard(card)
    assert "ORG;PROP-ID=o2:" in text.replace("org1.", "")
    (back,) = parse_vcards(text).cards
    assert back == card
