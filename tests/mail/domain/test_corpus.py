"""Every tests/mail/data/*.eml parses to the JMAP properties recorded next to it."""

import json
import pathlib

import orjson
import pytest
from jmapd_mail.domain.parse import ParsedMessage, parse_message

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
CASES = sorted(p.stem for p in DATA.glob("*.eml"))


def _tree(part):
    if part.sub_parts is not None:
        return {"type": part.type, "subParts": [_tree(c) for c in part.sub_parts]}
    return f"{part.part_id} {part.type}"


def _check(msg: ParsedMessage, expected: dict) -> None:
    props = msg.email_properties(list(expected["properties"]))
    assert props == expected["properties"]
    assert _tree(msg.body_structure) == expected["structure"]
    assert msg.text_body == expected["textBody"]
    assert msg.html_body == expected["htmlBody"]
    assert msg.attachments == expected["attachments"]
    for part_id, want in expected["parts"].items():
        part = msg.part(part_id)
        assert {k: getattr(part, k) for k in want} == want, part_id
    assert {p.part_id for p in msg.parts()} == set(expected["parts"])
    values = {i: msg.body_value(i) for i in msg.body_value_ids(fetch_all=True)}
    assert values == expected["bodyValues"]


def test_corpus_is_big_enough():
    assert len(CASES) >= 15
    assert all((DATA / f"{c}.json").exists() for c in CASES)


@pytest.mark.parametrize("case", CASES)
def test_corpus_message(case):
    raw = (DATA / f"{case}.eml").read_bytes()
    expected = json.loads((DATA / f"{case}.json").read_text())
    _check(parse_message(raw), expected)


@pytest.mark.parametrize("case", CASES)
def test_corpus_survives_storage_roundtrip(case):
    """What the server stores (to_json through orjson) serves the same Email without re-parsing."""
    raw = (DATA / f"{case}.eml").read_bytes()
    expected = json.loads((DATA / f"{case}.json").read_text())
    stored = orjson.loads(orjson.dumps(parse_message(raw).to_json()))
    _check(ParsedMessage.from_json(stored, raw=raw), expected)
    # list views need no raw at all
    light = ParsedMessage.from_json(stored)
    assert light.email_properties(["subject", "from", "preview", "hasAttachment", "size"]) == {
        k: expected["properties"][k] for k in ("subject", "from", "preview", "hasAttachment", "size")
    }
