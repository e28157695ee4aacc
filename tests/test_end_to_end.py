"""A day in the life, through `jmapd serve` (gunicorn, 2 workers) with every plugin.

Mail arrives over LMTP, the client hears of it on its EventSource stream,
reads it, answers it through the smarthost, and the vacation responder
answers the next message — each step through the real protocol.
"""

from __future__ import annotations

import json
import smtplib
import threading
import time
import uuid

import httpx
import pytest
from jmapd_submission.testing import RecordingRelay

from jmapd.testing import ServeProcess, free_port

USING = [
    "urn:ietf:params:jmap:core",
    "urn:ietf:params:jmap:mail",
    "urn:ietf:params:jmap:submission",
    "urn:ietf:params:jmap:vacationresponse",
]


@pytest.fixture
def world(tmp_path, jmapd_database):
    relay = RecordingRelay().start()
    lmtp_port = free_port()
    extra = (
        f"delivery:\n  lmtp: true\n  lmtp_port: {lmtp_port}\n  domains: [example.test]\n"
        f"submission:\n  default_domain: example.test\n  poll_interval: 0.2\n"
        f"  smarthost:\n    host: 127.0.0.1\n    port: {relay.port}\n    security: none\n    timeout: 5\n"
    )
    server = ServeProcess(tmp_path, jmapd_database, extra_yaml=extra).start()
    name = "e2e" + uuid.uuid4().hex[:8]
    password = uuid.uuid4().hex
    server.cli("user", "add", name, "--password-stdin", stdin=password + "\n")
    yield server, relay, lmtp_port, name, (name, password)
    server.stop()
    relay.stop()


class Stream:
    """An EventSource reader on its own thread, collecting StateChange events."""

    def __init__(self, url: str, auth: tuple[str, str]) -> None:
        self.events: list[dict] = []
        self.opened = threading.Event()
        self._stop = False
        self.thread = threading.Thread(target=self._run, args=(url, auth), daemon=True)
        self.thread.start()
        assert self.opened.wait(10), "EventSource did not open"

    def _run(self, url: str, auth: tuple[str, str]) -> None:
        try:
            self._read(url, auth)
        except httpx.HTTPError:
            pass  # the server went away at the end of the test

    def _read(self, url: str, auth: tuple[str, str]) -> None:
        with httpx.stream("GET", url, auth=auth, timeout=None) as resp:
            assert resp.status_code == 200
            self.opened.set()
            event = None
            for line in resp.iter_lines():
                if self._stop:
                    return
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "state":
                    self.events.append(json.loads(line[5:]))

    def wait_for(self, predicate, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if predicate(event):
                    return event
            time.sleep(0.05)
        raise AssertionError(f"no matching StateChange in {self.events}")


def test_receive_read_reply_and_vacation(world):
    server, relay, lmtp_port, name, auth = world
    http = httpx.Client(base_url=server.url, auth=auth, timeout=30)
    session = http.get("/.well-known/jmap").json()
    account = next(i for i, a in session["accounts"].items() if a["isPersonal"])

    def api(*calls):
        resp = http.post(session["apiUrl"], json={"using": USING, "methodCalls": [list(c) for c in calls]})
        assert resp.status_code == 200, resp.text
        out = resp.json()["methodResponses"]
        for response in out:
            assert response[0] != "error", response
        return out

    # The client listens for changes (the stream lands on either worker).
    stream = Stream(
        session["eventSourceUrl"].format(types="Email,Mailbox", closeafter="no", ping="0"), auth
    )

    # 1. Mail arrives over LMTP.
    mid = f"{uuid.uuid4().hex}@remote.test"
    message = (
        f"From: Bob <bob@remote.test>\r\nTo: {name}@example.test\r\nSubject: Lunch?\r\n"
        f"Message-ID: <{mid}>\r\nDate: Wed, 25 Nov 2026 12:00:00 +0000\r\n\r\nShall we?\r\n"
    ).encode()
    with smtplib.LMTP("127.0.0.1", lmtp_port) as lmtp:
        assert lmtp.sendmail("bob@remote.test", [f"{name}@example.test"], message) == {}

    # 2. The client hears of it.
    stream.wait_for(lambda e: "Email" in e["changed"].get(account, {}))

    # 3. It opens the inbox.
    mailboxes = api(("Mailbox/get", {"accountId": account, "ids": None}, "m"))[0][1]["list"]
    role = {m["role"]: m["id"] for m in mailboxes if m["role"]}
    out = api(
        ("Email/query", {"accountId": account, "filter": {"inMailbox": role["inbox"]}, "collapseThreads": True,
                         "sort": [{"property": "receivedAt", "isAscending": False}], "limit": 50}, "q"),
        ("Email/get", {"accountId": account, "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                       "properties": ["subject", "from", "messageId", "keywords", "preview"]}, "g"),
    )
    [email] = out[1][1]["list"]
    assert email["subject"] == "Lunch?" and email["from"] == [{"name": "Bob", "email": "bob@remote.test"}]
    assert email["preview"].startswith("Shall we?")

    # 4. It answers: a draft, sent through the smarthost, then moved to Sent.
    identity = api(("Identity/get", {"accountId": account, "ids": None}, "i"))[0][1]["list"][0]
    assert identity["email"] == f"{name}@example.test"
    out = api(
        ("Email/set", {"accountId": account, "create": {"draft": {
            "mailboxIds": {role["drafts"]: True}, "keywords": {"$draft": True, "$seen": True},
            "from": [{"email": identity["email"]}], "to": [{"name": "Bob", "email": "bob@remote.test"}],
            "subject": "Re: Lunch?", "inReplyTo": [mid], "references": [mid],
            "bodyValues": {"b": {"value": "Yes!"}}, "textBody": [{"partId": "b", "type": "text/plain"}],
        }}}, "d"),
        ("EmailSubmission/set", {"accountId": account, "create": {"send": {
            "identityId": identity["id"], "emailId": "#draft"}},
            "onSuccessUpdateEmail": {"#send": {f"mailboxIds/{role['drafts']}": None,
                                               f"mailboxIds/{role['sent']}": True, "keywords/$draft": None}}}, "s"),
    )
    reply_id = out[0][1]["created"]["draft"]["id"]
    [sent] = relay.wait(lambda r: b"Subject: Re: Lunch?" in r.content)
    assert sent.mail_from == identity["email"] and sent.rcpt_tos == ["bob@remote.test"]
    assert f"In-Reply-To: <{mid}>".encode() in sent.content
    got = api(("Email/get", {"accountId": account, "ids": [reply_id], "properties": ["mailboxIds", "keywords", "threadId"]}, "e"))
    reply = got[0][1]["list"][0]
    assert reply["mailboxIds"] == {role["sent"]: True} and reply["keywords"] == {"$seen": True}
    thread = api(("Thread/get", {"accountId": account, "ids": [reply["threadId"]]}, "t"))[0][1]["list"][0]
    assert len(thread["emailIds"]) == 2  # the question and the answer form one thread

    # 5. On holiday: the next message from Bob gets one automatic reply.
    api(("VacationResponse/set", {"accountId": account, "update": {"singleton": {
        "isEnabled": True, "subject": "Away", "textBody": "Back on Monday."}}}, "v"))
    second = message.replace(b"Subject: Lunch?", b"Subject: Dinner?").replace(mid.encode(), uuid.uuid4().hex.encode())
    with smtplib.LMTP("127.0.0.1", lmtp_port) as lmtp:
        assert lmtp.sendmail("bob@remote.test", [f"{name}@example.test"], second) == {}
    [auto] = relay.wait(lambda r: b"Subject: Away" in r.content)
    assert auto.rcpt_tos == ["bob@remote.test"] and auto.mail_from == "<>"  # the null sender
    assert b"Auto-Submitted: auto-replied" in auto.content
    stream._stop = True
    http.close()
