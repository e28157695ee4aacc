"""Tests for StateChange objects, PushVerification and the delivery policy."""

import json
import random
import re

import pytest
from jmapd_events.domain.statechange import (
    MAX_ATTEMPTS,
    Action,
    DeliveryPolicy,
    coalesce,
    delivery_backoff,
    encode,
    filter_accounts,
    filter_types,
    new_verification_code,
    parse_retry_after,
    push_verification,
    state_change,
    verification_code_matches,
)


def test_state_change_shape_matches_rfc_example():
    sc = state_change(
        {
            "a3123": {
                "Email": "d35ecb040aab",
                "EmailDelivery": "428d565f2440",
                "CalendarEvent": "87accfac587a",
            },
            "a43461d": {"Mailbox": "0af7a512ce70", "CalendarEvent": "7a4297cecd76"},
            "empty": {},
        }
    )
    assert sc["@type"] == "StateChange"
    assert sc["changed"] == {
        "a3123": {
            "Email": "d35ecb040aab",
            "EmailDelivery": "428d565f2440",
            "CalendarEvent": "87accfac587a",
        },
        "a43461d": {"Mailbox": "0af7a512ce70", "CalendarEvent": "7a4297cecd76"},
    }


def test_state_change_copies_input():
    src = {"a": {"Email": "1"}}
    sc = state_change(src)
    src["a"]["Email"] = "2"
    assert sc["changed"]["a"]["Email"] == "1"


@pytest.mark.parametrize("bad", [{"": {"Email": "1"}}, {"a": {"Email": 1}}, {1: {"Email": "1"}}])
def test_state_change_validates(bad):
    with pytest.raises(ValueError):
        state_change(bad)


def test_coalesce_latest_wins_and_merges_accounts():
    merged = coalesce(
        [
            state_change({"a": {"Email": "1", "Mailbox": "m1"}}),
            state_change({"b": {"Email": "x"}}),
            state_change({"a": {"Email": "2"}}),
        ]
    )
    assert merged == {
        "@type": "StateChange",
        "changed": {"a": {"Email": "2", "Mailbox": "m1"}, "b": {"Email": "x"}},
    }


def test_coalesce_nothing():
    assert coalesce([]) is None
    assert coalesce([state_change({})]) is None


def test_coalesce_rejects_other_objects():
    with pytest.raises(ValueError):
        coalesce([push_verification("p1", "c")])


def test_filter_types():
    sc = state_change({"a": {"Email": "1", "Mailbox": "2"}, "b": {"Thread": "3"}})
    assert filter_types(sc, None) == sc
    assert filter_types(sc, ["Email"]) == state_change({"a": {"Email": "1"}})
    assert filter_types(sc, frozenset({"Thread", "Mailbox"})) == state_change(
        {"a": {"Mailbox": "2"}, "b": {"Thread": "3"}}
    )
    assert filter_types(sc, ["CalendarEvent"]) is None
    assert filter_types(sc, []) is None


def test_filter_accounts():
    sc = state_change({"a": {"Email": "1"}, "b": {"Email": "2"}})
    assert filter_accounts(sc, {"b", "zzz"}) == state_change({"b": {"Email": "2"}})
    assert filter_accounts(sc, []) is None


def test_push_verification_shape():
    assert push_verification("P43dcfa4", "da1f097b11ca17f06424e30bf02bfa67") == {
        "@type": "PushVerification",
        "pushSubscriptionId": "P43dcfa4",
        "verificationCode": "da1f097b11ca17f06424e30bf02bfa67",
    }
    with pytest.raises(ValueError):
        push_verification("", "x")


def test_verification_codes():
    codes = {new_verification_code() for _ in range(50)}
    assert len(codes) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", c) for c in codes)
    code = codes.pop()
    assert verification_code_matches(code, code)
    assert not verification_code_matches(code, code.upper())
    assert not verification_code_matches(code, None)
    assert not verification_code_matches(code, 123)
    assert not verification_code_matches(None, "")
    assert not verification_code_matches("", "")


def test_encode_is_compact_utf8_json():
    body = encode(state_change({"ä": {"Email": "1"}}))
    assert body == '{"@type":"StateChange","changed":{"ä":{"Email":"1"}}}'.encode()
    assert json.loads(body)["changed"] == {"ä": {"Email": "1"}}


# --- delivery policy ----------------------------------------------------------


class FixedRandom(random.Random):
    def __init__(self, value):
        super().__init__()
        self.value = value

    def random(self):
        return self.value


def test_backoff_grows_and_is_capped():
    hi, lo = FixedRandom(0.999999), FixedRandom(0.0)
    assert delivery_backoff(1, base=10, rng=lo) == 5
    assert delivery_backoff(1, base=10, rng=hi) == pytest.approx(10)
    assert delivery_backoff(2, base=10, rng=hi) == pytest.approx(20)
    assert delivery_backoff(4, base=10, rng=lo) == 40
    assert delivery_backoff(100, base=10, cap=3600, rng=hi) == pytest.approx(3600)
    assert delivery_backoff(10**6, base=10, cap=3600, rng=lo) == 1800
    with pytest.raises(ValueError):
        delivery_backoff(0)


def test_backoff_jitter_range():
    rng = random.Random(1)
    for attempt in range(1, 12):
        d = delivery_backoff(attempt, base=10, cap=3600, rng=rng)
        ceiling = min(3600, 10 * 2 ** (attempt - 1))
        assert ceiling / 2 <= d <= ceiling


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_success(status):
    assert DeliveryPolicy().decide(status, 1).action is Action.DONE


@pytest.mark.parametrize("status", [404, 410])
def test_gone_destroys_subscription(status):
    assert DeliveryPolicy().decide(status, 1).action is Action.DESTROY


@pytest.mark.parametrize("status", [301, 302, 307, 400, 401, 403, 413])
def test_permanent_failures_drop(status):
    out = DeliveryPolicy().decide(status, 1)
    assert out.action is Action.DROP and out.delay is None


@pytest.mark.parametrize("status", [None, 408, 429, 500, 502, 503])
def test_transient_failures_retry_then_give_up(status):
    policy = DeliveryPolicy(max_attempts=3)
    first = policy.decide(status, 1, rng=FixedRandom(0))
    assert first.action is Action.RETRY and first.delay == 5
    assert policy.decide(status, 2).action is Action.RETRY
    last = policy.decide(status, 3)
    assert last.action is Action.DROP and "gave up" in last.reason


def test_default_max_attempts():
    assert DeliveryPolicy().max_attempts == MAX_ATTEMPTS
    assert DeliveryPolicy().decide(500, MAX_ATTEMPTS).action is Action.DROP
    assert DeliveryPolicy().decide(500, MAX_ATTEMPTS - 1).action is Action.RETRY


def test_429_honours_retry_after_seconds_and_date():
    policy = DeliveryPolicy()
    out = policy.decide(429, 1, retry_after="120", rng=FixedRandom(0))
    assert out.action is Action.RETRY and out.delay == 120
    now = 1_700_000_000.0
    date = "Tue, 14 Nov 2023 22:18:20 GMT"  # now + 300 s
    assert policy.decide(
        429, 1, retry_after=date, now=now, rng=FixedRandom(0)
    ).delay == pytest.approx(300)
    # A tiny Retry-After never shortens the backoff; a huge one is capped.
    assert policy.decide(429, 4, retry_after="1", rng=FixedRandom(0)).delay == 40
    assert policy.decide(429, 1, retry_after="999999999").delay == 86400
    # Garbage header: plain backoff.
    assert policy.decide(429, 1, retry_after="soon", rng=FixedRandom(0)).delay == 5


def test_parse_retry_after():
    assert parse_retry_after(None) is None
    assert parse_retry_after(" 30 ") == 30
    assert parse_retry_after("-5") is None
    assert parse_retry_after("nonsense") is None
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:20 GMT", now=1_700_000_000 + 50) == 0


def test_policy_validation():
    with pytest.raises(ValueError):
        DeliveryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        DeliveryPolicy(base_delay=100, max_delay=10)
