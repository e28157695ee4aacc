"""Tests for EventSource framing and query parsing (RFC 8620 §7.3)."""

import json

import pytest
from jmapd_events.domain.sse import (
    RESPONSE_HEADERS,
    EventSourceParams,
    PingPolicy,
    comment,
    format_event,
    parse_closeafter,
    parse_event_source_params,
    parse_ping,
    parse_types,
    ping_event,
    state_event,
)


def parse_stream(raw: bytes) -> list[dict]:
    """Minimal WHATWG event-stream parser, as a browser would run it."""
    events, data, fields = [], [], {}
    for line in raw.decode("utf-8").split("\n"):
        if line == "":
            if data:
                events.append({**fields, "data": "\n".join(data)})
            data, fields = [], {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        else:
            fields[name] = value
    return events


def test_state_event_shape():
    sc = {"@type": "StateChange", "changed": {"a1": {"Email": "s9"}}}
    raw = state_event(sc, "42")
    assert (
        raw
        == b'event: state\nid: 42\ndata: {"@type":"StateChange","changed":{"a1":{"Email":"s9"}}}\n\n'
    )
    (ev,) = parse_stream(raw)
    assert ev["event"] == "state" and ev["id"] == "42" and json.loads(ev["data"]) == sc


def test_state_event_without_id():
    assert b"id:" not in state_event({"@type": "StateChange", "changed": {}})


def test_ping_event_has_interval_and_no_id():
    raw = ping_event(300)
    assert raw == b'event: ping\ndata: {"interval":300}\n\n'
    (ev,) = parse_stream(raw)
    assert "id" not in ev
    assert json.loads(ev["data"]) == {"interval": 300}
    with pytest.raises(ValueError):
        ping_event(-1)


@pytest.mark.parametrize("text", ["a\nb", "a\r\nb\rc", "\n", "", "trailing\n", "ünïcode ✓"])
def test_multiline_data_round_trips(text):
    raw = format_event(text, event="x")
    (ev,) = parse_stream(raw)
    assert ev["data"] == text.replace("\r\n", "\n").replace("\r", "\n")
    # Data can never end the event early: exactly one blank line terminator.
    assert raw.endswith(b"\n\n") and b"\n\n" not in raw[:-2]


def test_multiline_data_lines():
    assert format_event("a\nb") == b"data: a\ndata: b\n\n"


@pytest.mark.parametrize("bad_id", ["1\n", "1\r2", "a\x00"])
def test_id_injection_rejected(bad_id):
    with pytest.raises(ValueError, match="id"):
        format_event("x", id=bad_id)


@pytest.mark.parametrize("bad_event", ["", "st ate", "a\nb"])
def test_bad_event_name_rejected(bad_event):
    with pytest.raises(ValueError, match="event"):
        format_event("x", event=bad_event)


def test_retry_and_comment():
    assert format_event("x", retry=5000) == b"retry: 5000\ndata: x\n\n"
    with pytest.raises(ValueError):
        format_event("x", retry=-1)
    assert comment() == b":\n\n"
    assert comment("hi") == b": hi\n\n"
    with pytest.raises(ValueError):
        comment("a\nb")
    with pytest.raises(TypeError):
        format_event(b"bytes")


def test_response_headers():
    assert RESPONSE_HEADERS["Content-Type"].startswith("text/event-stream")
    assert RESPONSE_HEADERS["Cache-Control"] == "no-cache"


# --- query parsing -----------------------------------------------------------


def test_parse_full_query():
    p = parse_event_source_params({"types": "Email,Mailbox", "closeafter": "state", "ping": "60"})
    assert p == EventSourceParams(
        types=frozenset({"Email", "Mailbox"}), close_after_state=True, ping=60, requested_ping=60
    )
    assert p.wants("Email") and not p.wants("CalendarEvent")


def test_parse_star_and_defaults():
    p = parse_event_source_params({"types": "*", "closeafter": "no", "ping": "0"})
    assert p.types is None and p.wants("Anything")
    assert p.close_after_state is False and p.ping == 0
    assert parse_event_source_params({}) == EventSourceParams(None, False, 0, 0)


def test_types_variants():
    assert parse_types(" Email , Thread ") == frozenset({"Email", "Thread"})
    assert parse_types(["Email", "Mailbox"]) == frozenset({"Email", "Mailbox"})
    assert parse_types(["Email,Thread"]) == frozenset({"Email", "Thread"})
    assert parse_types(["*"]) is None


@pytest.mark.parametrize(
    "value", ["", ",", "Email,", "Email,,Thread", "*,Email", "Em ail", "1Email", "Email;Drop"]
)
def test_bad_types(value):
    with pytest.raises(ValueError, match="types"):
        parse_types(value)


@pytest.mark.parametrize("value", ["yes", "State", "", "true"])
def test_bad_closeafter(value):
    with pytest.raises(ValueError, match="closeafter"):
        parse_closeafter(value)


def test_closeafter_list_forms():
    assert parse_closeafter(["state"]) is True
    with pytest.raises(ValueError, match="only once"):
        parse_closeafter(["state", "no"])


@pytest.mark.parametrize(
    "value", ["-1", "abc", "1.5", " 5", "+5", "1e3", "5s", "99999999999999999"]
)
def test_bad_ping(value):
    with pytest.raises(ValueError, match="ping"):
        parse_ping(value)


@pytest.mark.parametrize(
    ("requested", "effective"),
    [
        ("0", 0),
        ("1", 30),
        ("29", 30),
        ("30", 30),
        ("120", 120),
        ("300", 300),
        ("301", 300),
        ("86400", 300),
    ],
)
def test_ping_clamped_to_default_policy(requested, effective):
    assert parse_ping(requested) == (int(requested), effective)


def test_ping_custom_policy():
    policy = PingPolicy(minimum=10, maximum=3600)
    assert parse_ping("5", policy) == (5, 10)
    assert parse_ping("1000", policy) == (1000, 1000)
    assert parse_ping("7200", policy) == (7200, 3600)
    p = parse_event_source_params({"ping": "5"}, policy)
    assert (p.ping, p.requested_ping) == (10, 5)


@pytest.mark.parametrize(("minimum", "maximum"), [(31, 300), (0, 300), (30, 299), (10, 100)])
def test_ping_policy_enforces_rfc_bounds(minimum, maximum):
    # RFC 8620 §7.3: minimum MUST NOT be > 30, maximum MUST NOT be < 300.
    with pytest.raises(ValueError):
        PingPolicy(minimum=minimum, maximum=maximum)
