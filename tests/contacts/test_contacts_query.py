"""ContactCard/query and /queryChanges: every RFC 9610 §3.3.1 condition and §3.3.2 sort."""

from __future__ import annotations

from typing import Any

import pytest
from jmapd_contacts.card_query import terms
from jmapd_contacts.testing import books, call, ok


def person(book: str, given: str, surname: str, **extra: Any) -> dict[str, Any]:
    return {"addressBookIds": {book: True}, "name": {"components": [
        {"kind": "given", "value": given}, {"kind": "surname", "value": surname}]}, **extra}


@pytest.fixture
def people(client):
    books(client)
    made = ok(client, "AddressBook/set", {"create": {"w": {"name": "Work"}, "h": {"name": "Home"}}})["created"]
    work, home = made["w"]["id"], made["h"]["id"]
    cards = {
        "ada": person(work, "Ada", "Lovelace", uid="uid-ada", created="2020-01-01T00:00:00Z",
                      updated="2024-06-01T00:00:00Z",
                      emails={"e": {"address": "ada@analytical.example", "label": "Engines"}},
                      phones={"p": {"number": "+44 20 7946 0001", "label": "office"}},
                      nicknames={"n": {"name": "Enchantress"}},
                      organizations={"o": {"name": "Analytical Society", "units": [{"name": "Maths"}]}},
                      notes={"n": {"note": "Wrote the first \"program\""}},
                      addresses={"a": {"components": [{"kind": "locality", "value": "London"},
                                                       {"kind": "country", "value": "UK"}]}},
                      onlineServices={"o": {"service": "Mastodon", "user": "@ada@example.social"}}),
        "zoe": person(home, "Zoë", "Álvarez", uid="uid-zoe", created="2022-01-01T00:00:00Z",
                      updated="2022-02-01T00:00:00Z",
                      name={"components": [{"kind": "given", "value": "Zoë"}, {"kind": "surname", "value": "Álvarez"},
                                           {"kind": "surname2", "value": "García"}], "full": "Zoë Álvarez García"},
                      emails={"e": {"address": "ZOE@Home.example"}},
                      addresses={"a": {"full": "1 Rue de Paris, Lyon"}}),
        "bob": person(work, "Bob", "Baker", uid="uid-bob", created="2021-01-01T00:00:00.5Z",
                      updated="2023-01-01T00:00:00Z", kind="individual",
                      keywords={"baking": True}),
        "grp": {"addressBookIds": {work: True, home: True}, "kind": "group", "uid": "uid-grp",
                "name": {"full": "Friends"}, "members": {"uid-ada": True, "uid-zoe": True},
                "created": "2023-01-01T00:00:00Z", "updated": "2023-01-01T00:00:00Z"},
    }
    created = ok(client, "ContactCard/set", {"create": cards})
    assert not created["notCreated"], created["notCreated"]
    return {"work": work, "home": home, **{k: v["id"] for k, v in created["created"].items()}}


def q(client, filter=None, sort=None, **args):
    return ok(client, "ContactCard/query", {"filter": filter, "sort": sort or [{"property": "created"}], **args})["ids"]


def test_every_condition(client, people):
    p = people
    cases = {
        "inAddressBook": (p["home"], ["zoe", "grp"]),
        "uid": ("uid-bob", ["bob"]),
        "hasMember": ("uid-ada", ["grp"]),
        "kind": ("group", ["grp"]),
        "createdBefore": ("2021-01-01T00:00:00.5Z", ["ada"]),
        "createdAfter": ("2021-01-01T00:00:00.5Z", ["bob", "zoe", "grp"]),
        "updatedBefore": ("2023-01-01T00:00:00Z", ["zoe"]),
        "updatedAfter": ("2023-01-01T00:00:00Z", ["ada", "bob", "grp"]),
        "text": ("baking", ["bob"]),
        "name": ("friends", ["grp"]),
        "name/given": ("ZOË", ["zoe"]),
        "name/surname": ("love", ["ada"]),
        "name/surname2": ("garcía", ["zoe"]),
        "nickname": ("enchant", ["ada"]),
        "organization": ("maths", ["ada"]),
        "email": ("zoe@home", ["zoe"]),
        "phone": ("7946", ["ada"]),
        "onlineService": ("mastodon", ["ada"]),
        "address": ("lyon", ["zoe"]),
        "note": ("program", ["ada"]),
    }
    for condition, (value, expected) in cases.items():
        got = q(client, {condition: value})
        assert sorted(got) == sorted(p[k] for k in expected), (condition, value, got)
    assert sorted(q(client, {"kind": "individual"})) == sorted([p["ada"], p["bob"], p["zoe"]])  # the default kind
    assert q(client, {"email": "engines"}) == [p["ada"]]  # the label counts too
    assert q(client, {"phone": "office"}) == [p["ada"]]
    assert q(client, {"name/given": "Lovelace"}) == []  # a surname is not a given name
    assert q(client, {}) == q(client) and len(q(client)) == 4


def test_text_tokens_phrases_and_operators(client, people):
    p = people
    assert q(client, {"text": "ada london"}) == [p["ada"]]  # every token, anywhere in the card
    assert q(client, {"text": "ada lyon"}) == []
    assert q(client, {"note": '"the first"'}) == [p["ada"]]
    assert q(client, {"note": '"first the"'}) == []
    assert q(client, {"note": '\'\\"program\\"\''}) == [p["ada"]]
    assert q(client, {"text": "100%"}) == []  # LIKE wildcards are literal
    assert q(client, {"email": "_"}) == []
    both = {"operator": "OR", "conditions": [{"uid": "uid-ada"}, {"uid": "uid-zoe"}]}
    assert sorted(q(client, both)) == sorted([p["ada"], p["zoe"]])
    assert sorted(q(client, {"operator": "NOT", "conditions": [both]})) == sorted([p["bob"], p["grp"]])
    assert q(client, {"operator": "AND", "conditions": [{"inAddressBook": p["work"]}, {"text": "bob"}]}) == [p["bob"]]
    assert q(client, {"inAddressBook": p["work"], "kind": "group"}) == [p["grp"]]
    many = {"operator": "OR", "conditions": [{"uid": f"no-{i}"} for i in range(999)] + [{"uid": "uid-bob"}]}
    assert q(client, many) == [p["bob"]]  # a long OR (an import looking up uids) is no parser stack overflow


def test_text_searches_localizations(client, people):
    card = person(people["work"], "Ivan", "Vasiliev", localizations={"uk": {"name/full": "Іван Васильєв"}})
    card["name"]["full"] = "Ivan Vasiliev"
    made = ok(client, "ContactCard/set", {"create": {"i": card}})["created"]["i"]["id"]
    assert q(client, {"text": "васильєв"}) == [made]  # casefolded, in any language
    assert q(client, {"name": "васильєв"}) == []  # name/* conditions: the card's own name
    assert q(client, {"text": "vasiliev"}) == [made]


def test_terms():
    assert terms('a  "b c" \'d \\\' e\' f"g') == ["a", "b c", "d ' e", "f", "g"]
    assert terms("   ") == []


def test_sorts_and_collations(client, people):
    p = people
    assert q(client, sort=[{"property": "created"}]) == [p["ada"], p["bob"], p["zoe"], p["grp"]]
    assert q(client, sort=[{"property": "updated", "isAscending": False}]) == [p["ada"], p["bob"], p["grp"], p["zoe"]]
    # null (the group has no given name) first; Zoë after Bob by Unicode casemap
    assert q(client, sort=[{"property": "name/given"}]) == [p["grp"], p["ada"], p["bob"], p["zoe"]]
    assert q(client, sort=[{"property": "name/surname"}])[1:] == [p["zoe"], p["bob"], p["ada"]]
    assert q(client, sort=[{"property": "name/surname", "collation": "i;octet"}])[1:] == [p["bob"], p["ada"], p["zoe"]]
    assert q(client, sort=[{"property": "name/surname2", "isAscending": False}])[0] == p["zoe"]
    page = ok(client, "ContactCard/query", {"sort": [{"property": "created"}], "position": 1, "limit": 2,
                                            "calculateTotal": True})
    assert page["ids"] == [p["bob"], p["zoe"]] and page["total"] == 4 and page["position"] == 1
    for bad in ({"property": "uid"}, {"property": "name/given", "collation": "i;klingon"}):
        name, err = call(client, "ContactCard/query", {"sort": [bad]})
        assert (name, err["type"]) == ("error", "unsupportedSort"), bad


def test_bad_filters_are_invalid_arguments(client, people):
    for bad in ({"createdBefore": "yesterday"}, {"inAddressBook": 5}, {"colour": "red"}, {"email": ["a"]}):
        name, err = call(client, "ContactCard/query", {"filter": bad})
        assert name == "error" and err["type"] in ("invalidArguments", "unsupportedFilter"), (bad, err)


def test_query_changes(client, people):
    p = people
    first = ok(client, "ContactCard/query", {"filter": {"inAddressBook": p["work"]}, "sort": [{"property": "created"}]})
    ok(client, "ContactCard/set", {"update": {p["bob"]: {"addressBookIds": {p["home"]: True}}},
                                   "create": {"n": person(p["work"], "New", "Person")}})
    changes = ok(client, "ContactCard/queryChanges", {"filter": {"inAddressBook": p["work"]},
                                                      "sort": [{"property": "created"}],
                                                      "sinceQueryState": first["queryState"]})
    assert p["bob"] in changes["removed"]
    assert [a["index"] for a in changes["added"]] == [2]
    after = q(client, {"inAddressBook": p["work"]})
    assert after == [p["ada"], p["grp"], changes["added"][0]["id"]]
