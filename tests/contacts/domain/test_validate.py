"""JSContact Card validation (RFC 9553 + RFC 9982): every bad path, RFC examples valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jmapd_contacts.domain.validate import PatchError, apply_patch, validate_card

EXAMPLES = json.loads((Path(__file__).parent / "data" / "rfc9553_examples.json").read_text())[
    "examples"
]
BASE = {"@type": "Card", "version": "1.0", "uid": "urn:uuid:0b5a2bf0-5a7e-4b1a-9e4a-1b2c3d4e5f60"}


def _as_card(example: dict) -> dict:
    """A fragment of Card members becomes a Card; a whole Card keeps its own members."""
    card = dict(BASE)
    card.update(example)
    return card


def test_every_rfc_example_was_extracted() -> None:
    # 44 source blocks in RFC 9553, two of them ABNF.
    assert len(EXAMPLES) == 42


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e["section"])
def test_rfc9553_examples_are_valid(example: dict) -> None:
    obj = example["json"]
    if "@type" in obj and obj.get("@type") != "Card":
        pytest.skip("not a Card")
    assert validate_card(_as_card(obj)) == []


def test_minimal_cards() -> None:
    assert validate_card(BASE) == []
    # RFC 9982: uid optional from version 2.0, still mandatory in 1.0
    assert validate_card({"@type": "Card", "version": "2.0"}) == []
    assert validate_card({"@type": "Card", "version": "1.0"}) == ["uid"]
    assert validate_card({}) == ["@type", "version"]
    assert validate_card([]) == [""]


def test_every_invalid_path_is_reported() -> None:
    bad = {
        "@type": "Card",
        "version": "3.1",
        "uid": 7,
        "kind": "robot",
        "created": "2022-09-30 14:35:10",
        "updated": "2022-13-30T14:35:10Z",
        "members": {"urn:a": False},
        "name": {
            "@type": "Nom",
            "components": [{"kind": "given"}, {"kind": "wizard", "value": "x"}, "y"],
            "sortAs": {"separator": "x", "given": 3},
            "isOrdered": "yes",
        },
        "nicknames": {"bad id!": {"name": "J"}, "n1": {}},
        "organizations": {"o1": {"units": [{"sortAs": "x"}]}, "o2": {}},
        "speakToAs": {"grammaticalGender": "robotic", "pronouns": {"p1": {"pref": 0}}},
        "titles": {"t1": {"kind": "boss", "name": "Chief", "organizationId": "no way"}},
        "emails": {"e1": {"contexts": {"work": True}}, "e2": {"address": "a@b", "pref": 101}},
        "onlineServices": {"x1": {"service": "Mastodon"}},
        "phones": {"p1": {"number": "tel:1", "features": {"telepathy": True, "fax": False}}},
        "preferredLanguages": {"l1": {"pref": 1}},
        "calendars": {"c1": {"kind": "agenda", "uri": "https://x"}},
        "schedulingAddresses": {"s1": {"label": 3}},
        "addresses": {
            "a1": {"components": [{"kind": "moon", "value": "x"}], "contexts": {"home": True}},
            "a2": {"contexts": {"work": True}},
        },
        "cryptoKeys": {"k1": {"uri": ""}},
        "directories": {"d1": {"kind": "entry", "uri": "x", "listAs": 0}},
        "links": {"l1": {"kind": "friend", "uri": "https://x"}},
        "media": {"m1": {"uri": "https://x/p.jpg"}, "m2": {"kind": "video", "uri": "x"}},
        "anniversaries": {
            "a1": {"kind": "birth", "date": {"year": 1953, "month": 0}},
            "a2": {"kind": "death", "date": {"@type": "Timestamp", "utc": "2019-10-15"}},
            "a3": {"date": {"day": 3}, "place": {}},
        },
        "keywords": {"x": 1},
        "notes": {"n1": {"note": "hi", "author": {}}, "n2": {"created": "now"}},
        "personalInfo": {"pi1": {"kind": "hobby", "value": "chess", "level": "extreme"}},
        "relatedTo": {"urn:x": {"relation": {"enemy": True}}},
        "localizations": {"de": {"name/full": 5}, "fr": {"nope/x": "y"}, "es": "z"},
        "example.com:foo": {"anything": [1, 2]},
    }
    assert validate_card(bad) == [
        "version", "uid", "kind", "created", "updated", "members/urn:a",
        "name/@type", "name/components/0/value", "name/components/1/kind", "name/components/2",
        "name/sortAs/separator", "name/sortAs/given", "name/isOrdered",
        "nicknames/bad id!", "nicknames/n1/name",
        "organizations/o1/units/0/name", "organizations/o2",
        "speakToAs/grammaticalGender", "speakToAs/pronouns/p1/pref", "speakToAs/pronouns/p1/pronouns",
        "titles/t1/kind", "titles/t1/organizationId",
        "emails/e1/address", "emails/e2/pref",
        "onlineServices/x1",
        "phones/p1/features/telepathy", "phones/p1/features/fax",
        "preferredLanguages/l1/language",
        "calendars/c1/kind",
        "schedulingAddresses/s1/label", "schedulingAddresses/s1/uri",
        "addresses/a1/components/0/kind", "addresses/a1/contexts/home", "addresses/a2",
        "cryptoKeys/k1/uri",
        "directories/d1/listAs",
        "links/l1/kind",
        "media/m1/kind", "media/m2/kind",
        "anniversaries/a1/date/month", "anniversaries/a2/date/utc",
        "anniversaries/a3/place", "anniversaries/a3/kind",
        "keywords/x",
        "notes/n1/author", "notes/n2/created", "notes/n2/note",
        "personalInfo/pi1/level",
        "relatedTo/urn:x/relation/enemy",
        "localizations/de/name/full", "localizations/fr/nope/x", "localizations/es",
    ]  # fmt: skip


def test_vendor_values_and_unknown_properties_are_kept() -> None:
    card = dict(BASE, kind="example.com:robot", **{"example.com:foo": {"bar": "baz"}})
    card["emails"] = {"e1": {"address": "a@b", "contexts": {"example.com:gym": True}, "x": 1}}
    card["phones"] = {"p1": {"number": "tel:1", "vCardParams": {"x-abc": ["1", "2"]}}}
    card["vCardProps"] = [["x-foo", {}, "unknown", "bar"]]
    assert validate_card(card) == []
    card["vCardProps"] = [["x-foo", {}]]
    card["phones"]["p1"]["vCardParams"] = {"x-abc": 3}
    assert validate_card(card) == ["phones/p1/vCardParams/x-abc", "vCardProps/0"]


def test_jmap_properties_are_left_to_the_caller() -> None:
    card = dict(BASE, id="c1", addressBookIds={"b1": True})
    assert validate_card(card) == []
    assert validate_card(card, extra=()) == []  # unknown members are preserved, not refused


def test_localization_patches_are_validated_on_the_card_they_produce() -> None:
    card = dict(BASE, name={"full": "Gabriel García Márquez"})
    card["titles"] = {"t1": {"kind": "title", "name": "novelist"}}
    card["localizations"] = {"es": {"titles/t1/name": "escritor"}}
    assert validate_card(card) == []
    card["localizations"] = {"es": {"titles/t1/kind": "jefe"}, "de": {"titles/t2/name": "x"}}
    assert validate_card(card) == [
        "localizations/es/titles/t1/kind",
        "localizations/de/titles/t2/name",
    ]
    card["localizations"] = {"es": {"titles/t1": {"kind": "title"}}}
    assert validate_card(card) == ["localizations/es/titles/t1"]
    card["localizations"] = {"es": {"uid": "other"}}
    assert validate_card(card) == ["localizations/es/uid"]


def test_a_base_error_is_not_blamed_on_a_localization() -> None:
    card = dict(BASE, emails={"e1": {}}, localizations={"de": {"name": {"full": "Hans"}}})
    assert validate_card(card) == ["emails/e1/address"]


def test_keys_with_slashes_are_escaped() -> None:
    card = dict(BASE, relatedTo={"a/b~c": {"relation": {"enemy": True}}})
    assert validate_card(card) == ["relatedTo/a~1b~0c/relation/enemy"]


def test_apply_patch() -> None:
    card = {"name": {"full": "A", "components": [{"kind": "given", "value": "A"}]}, "k": 1}
    patched = apply_patch(card, {"name/full": "B", "k": None, "x": {"y": 1}})
    assert patched == {
        "name": {"full": "B", "components": [{"kind": "given", "value": "A"}]},
        "x": {"y": 1},
    }
    assert card["name"]["full"] == "A"  # the original is untouched
    with pytest.raises(PatchError) as err:
        apply_patch(card, {"name/full": "B", "missing/x": 1})
    assert err.value.key == "missing/x"
    with pytest.raises(PatchError):
        apply_patch(card, {"k/x": 1})


def test_patches_may_step_into_existing_array_elements() -> None:
    card = {"name": {"components": [{"kind": "given", "value": "A"}]}}
    assert apply_patch(card, {"name/components/0/phonetic": "a"})["name"]["components"][0] == {
        "kind": "given", "value": "A", "phonetic": "a",
    }  # fmt: skip
    with pytest.raises(PatchError):
        apply_patch(card, {"name/components/1/phonetic": "b"})
