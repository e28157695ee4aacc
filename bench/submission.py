"""Submission latency: EmailSubmission/set to the relay's receipt, on
`jmapd serve --workers 2` with a real SMTP relay (aiosmtpd) on loopback.

    python bench/submission.py [--rounds 40] [--database URL]

Each round creates an Email in Drafts and submits it in one JMAP request,
and takes the time from sending that request until the relay has the
message (so it includes the request itself; its round trip is printed
too). Rounds alternate between the workers as the connections land, so
both the runner of the worker that committed and the others are exercised.
The machine is shared: compare runs taken in alternation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, percentile  # noqa: E402

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:submission"]


def main() -> None:
    from jmapd_submission.testing import RecordingRelay

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    db = args.database
    if db:
        from mail import _fresh_pg

        db = _fresh_pg(db, "_submit")
    relay = RecordingRelay().start()
    server = Server(workers=2, database=db, extra_yaml=(
        "submission:\n  default_domain: example.test\n"
        f"  smarthost:\n    host: 127.0.0.1\n    port: {relay.port}\n    security: none\n"))
    server.start()
    latencies: list[float] = []
    requests: list[float] = []
    try:
        user, password = server.user()
        http = httpx.Client(base_url=server.url, auth=(user, password), timeout=60)
        session = http.get("/.well-known/jmap").json()
        account = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]

        def api(calls: list[list[object]]) -> list[list[object]]:
            resp = http.post("/jmap/api", json={"using": USING, "methodCalls": calls})
            resp.raise_for_status()
            out: list[list[object]] = resp.json()["methodResponses"]
            return out

        boxes = api([["Mailbox/get", {"accountId": account, "ids": None}, "0"]])[0][1]["list"]  # type: ignore[index]
        drafts = next(b["id"] for b in boxes if b["role"] == "drafts")
        identity = api([["Identity/get", {"accountId": account}, "0"]])[0][1]["list"][0]  # type: ignore[index]
        for n in range(args.rounds):
            tag = uuid.uuid4().hex
            email = {"mailboxIds": {drafts: True}, "from": [{"email": identity["email"]}],
                     "to": [{"email": "bob@example.net"}], "subject": tag,
                     "bodyValues": {"1": {"value": "hello"}}, "textBody": [{"partId": "1", "type": "text/plain"}]}
            needle = tag.encode()
            http.close()  # a new connection each round, landing on either worker
            http = httpx.Client(base_url=server.url, auth=(user, password), timeout=60)
            started = time.perf_counter()
            api([["Email/set", {"accountId": account, "create": {"e": email}}, "0"],
                 ["EmailSubmission/set", {"accountId": account,
                                          "create": {"s": {"identityId": identity["id"], "emailId": "#e"}}}, "1"]])
            answered = time.perf_counter()
            deadline = started + 120
            while not any(needle in r.content for r in relay.messages()):
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"round {n}: not relayed within 120 s")
                time.sleep(0.001)
            latencies.append(time.perf_counter() - started)
            requests.append(answered - started)
    finally:
        server.stop()
        relay.stop()
    print(f"jmapd submission latency: {args.rounds} rounds, 2 workers, {'PostgreSQL' if db else 'SQLite'}")
    print(f"{'EmailSubmission/set request':<40} p50 {statistics.median(requests) * 1000:8.1f} ms   "
          f"p95 {percentile(requests, 0.95) * 1000:8.1f} ms")
    print(f"{'request sent -> relay has the message':<40} p50 {statistics.median(latencies) * 1000:8.1f} ms   "
          f"p95 {percentile(latencies, 0.95) * 1000:8.1f} ms   max {max(latencies) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
