"""RFC 3834 auto-reply decision table and reply composition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default

import pytest
from jmapd_submission.api import parse_headers
from jmapd_vacation.autoreply import (
    Decision,
    Reason,
    VacationSettings,
    compose_reply,
    decide,
    html_to_text,
)

NOW = datetime(2024, 7, 15, 12, 0, tzinfo=UTC)
OWN = ["me@example.com", "*@me.example"]
BASE = (
    "From: Friend <friend@example.org>\n"
    "To: Me <me@example.com>\n"
    "Subject: Lunch?\n"
    "Message-ID: <orig-1@example.org>\n"
)


def hdrs(extra: str = "", base: str = BASE):
    text = base + extra
    return parse_headers(text.replace("\n", "\r\n").encode() + b"\r\n")


def run(extra="", sender="friend@example.org", base=BASE, **kw) -> Decision:
    return decide(hdrs(extra, base), sender, OWN, now=NOW, **kw)


@pytest.mark.parametrize(
    ("extra", "sender", "reason"),
    [
        ("", "friend@example.org", Reason.REPLY),
        ("Auto-Submitted: no\n", "friend@example.org", Reason.REPLY),
        ("Auto-Submitted: No (human)\n", "friend@example.org", Reason.REPLY),
        ("Auto-Submitted: auto-replied\n", "friend@example.org", Reason.AUTO_SUBMITTED),
        ("Auto-Submitted: auto-generated\n", "friend@example.org", Reason.AUTO_SUBMITTED),
        (
            "Auto-Submitted: auto-notified; owner-email=x@y\n",
            "friend@example.org",
            Reason.AUTO_SUBMITTED,
        ),
        (
            "Auto-Submitted: no\nAuto-Submitted: auto-replied\n",
            "friend@example.org",
            Reason.AUTO_SUBMITTED,
        ),
        ("Precedence: bulk\n", "friend@example.org", Reason.PRECEDENCE),
        ("Precedence: List\n", "friend@example.org", Reason.PRECEDENCE),
        ("Precedence: junk\n", "friend@example.org", Reason.PRECEDENCE),
        ("Precedence: first-class\n", "friend@example.org", Reason.REPLY),
        ("List-Id: Friends <friends.example.org>\n", "friend@example.org", Reason.MAILING_LIST),
        (
            "List-Unsubscribe: <mailto:leave@example.org>\n",
            "friend@example.org",
            Reason.MAILING_LIST,
        ),
        ("X-Auto-Response-Suppress: OOF, DR\n", "friend@example.org", Reason.SUPPRESSED),
        ("", "", Reason.NULL_SENDER),
        ("", "<>", Reason.NULL_SENDER),
        ("", "MAILER-DAEMON@example.org", Reason.ROBOT_SENDER),
        ("", "owner-friends@example.org", Reason.ROBOT_SENDER),
        ("", "friends-request@example.org", Reason.ROBOT_SENDER),
        ("", "LISTSERV@example.org", Reason.ROBOT_SENDER),
        ("", "noreply@example.org", Reason.ROBOT_SENDER),
        ("", "me@example.com", Reason.OWN_ADDRESS),
        ("", "ME@EXAMPLE.COM", Reason.OWN_ADDRESS),
        ("", "anything@me.example", Reason.OWN_ADDRESS),
    ],
)
def test_decision_table(extra, sender, reason):
    decision = run(extra, sender)
    assert decision.reason is reason
    assert bool(decision) is (reason is Reason.REPLY)


def test_reply_goes_to_envelope_sender_not_from_or_reply_to():
    decision = run("Reply-To: other@example.net\n", sender="bounces+123@example.org")
    assert decision.reply_to == "bounces+123@example.org"
    assert decision.from_address == "me@example.com"


def test_must_be_addressed_to_user():
    base = "From: friend@example.org\nTo: everyone@example.org\nSubject: x\n"
    assert run(base=base).reason is Reason.NOT_ADDRESSED
    cc = run(base=base + "Cc: Me <me@example.com>\n")
    assert cc.reply
    wildcard = run(base=base + "Bcc: alias@me.example\n")
    assert wildcard.reply and wildcard.from_address == "alias@me.example"


def test_once_per_sender_per_period():
    period = timedelta(days=7)
    assert run(last_replied=NOW - timedelta(days=1), period=period).reason is Reason.ALREADY_REPLIED
    assert run(last_replied=NOW - timedelta(days=7), period=period).reason is Reason.REPLY
    assert run(last_replied=None).reason is Reason.REPLY


def test_vacation_window():
    on = VacationSettings(is_enabled=True)
    assert run(settings=on).reply
    assert run(settings=VacationSettings(is_enabled=False)).reason is Reason.DISABLED
    later = VacationSettings(is_enabled=True, from_date=NOW + timedelta(hours=1))
    assert run(settings=later).reason is Reason.DISABLED
    starts_now = VacationSettings(is_enabled=True, from_date=NOW)
    assert run(settings=starts_now).reply
    ended = VacationSettings(is_enabled=True, to_date=NOW)
    assert run(settings=ended).reason is Reason.DISABLED
    window = VacationSettings(
        is_enabled=True, from_date=NOW - timedelta(days=1), to_date=NOW + timedelta(days=1)
    )
    assert run(settings=window).reply


# --- composition ------------------------------------------------------------


def parse(raw: bytes):
    return message_from_bytes(raw, policy=default)


def test_compose_text_reply():
    headers = hdrs("References: <root@example.org>\n")
    decision = run("References: <root@example.org>\n")
    settings = VacationSettings(is_enabled=True, text_body="Back on Monday.")
    reply = compose_reply(headers, decision, settings, from_name="Me Myself", now=NOW)

    assert b"\r\n" in reply.raw and b"\n" not in reply.raw.replace(b"\r\n", b"")
    msg = parse(reply.raw)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["From"] == "Me Myself <me@example.com>"
    assert msg["To"] == "friend@example.org"
    assert msg["Subject"] == "Re: Lunch?"
    assert msg["In-Reply-To"] == "<orig-1@example.org>"
    assert msg["References"] == "<root@example.org> <orig-1@example.org>"
    assert msg["Message-ID"] == reply.message_id
    assert reply.message_id.endswith("@example.com>")
    assert msg["Date"].datetime == NOW
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content().strip() == "Back on Monday."
    assert reply.envelope.mail_from.email == ""  # null sender: bounces cannot loop
    assert reply.envelope.recipients == ["friend@example.org"]


def test_compose_alternative_with_own_subject():
    decision = run()
    settings = VacationSettings(
        is_enabled=True, subject="Out of office", text_body="Away.", html_body="<p>Away.</p>"
    )
    msg = parse(compose_reply(hdrs(), decision, settings, now=NOW).raw)
    assert msg["Subject"] == "Out of office"
    assert msg.get_content_type() == "multipart/alternative"
    parts = [(p.get_content_type(), p.get_content().strip()) for p in msg.iter_parts()]
    assert parts == [("text/plain", "Away."), ("text/html", "<p>Away.</p>")]


def test_compose_html_only_generates_text():
    settings = VacationSettings(
        is_enabled=True,
        html_body="<html><head><style>p{}</style></head><body><p>Away &amp; "
        "offline</p><p>Back <b>soon</b></p></body></html>",
    )
    msg = parse(compose_reply(hdrs(), run(), settings, now=NOW).raw)
    text = msg.get_body(("plain",)).get_content()
    assert "Away & offline" in text and "Back soon" in text and "p{}" not in text
    assert msg.get_body(("html",)) is not None


def test_compose_defaults_and_subject_handling():
    base = "From: friend@example.org\nTo: me@example.com\nSubject: RE: =?utf-8?q?caf=C3=A9?=\n"
    msg = parse(compose_reply(hdrs(base=base), run(base=base), VacationSettings(), now=NOW).raw)
    assert msg["Subject"] == "RE: café"
    assert "In-Reply-To" not in msg  # original had no Message-ID
    assert "away" in msg.get_content().lower()

    no_subject = "From: friend@example.org\nTo: me@example.com\n"
    msg = parse(compose_reply(hdrs(base=no_subject), run(base=no_subject), VacationSettings()).raw)
    assert msg["Subject"]


def test_compose_refuses_negative_decision():
    with pytest.raises(ValueError):
        compose_reply(hdrs(), run(sender=""), VacationSettings())


def test_html_to_text():
    assert html_to_text("<div>a<br>b</div><script>x()</script>") == "a\nb"
