"""Mail benchmark: import rate and latency of common mail-client calls.

    python bench/mail.py [--count 2000] [--rounds 200] [--database URL]

Starts `jmapd serve`, imports --count synthetic messages (upload + Email/import
in batches of 50), then measures median/p95 latency of: opening the inbox
(Email/query with collapseThreads + Email/get of the list properties in one
request), a full Email/get with all body values, a full-text Email/query,
and Email/changes after a keyword update.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, report, run_load  # noqa: E402

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"]
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu meeting report budget lunch "
         "invoice travel holiday project deadline review").split()
LIST_PROPS = ["threadId", "mailboxIds", "keywords", "from", "subject", "receivedAt", "preview", "hasAttachment", "size"]


def message(i: int, rng: random.Random) -> bytes:
    thread = i // 3  # three messages per conversation
    subject = " ".join(rng.choice(WORDS) for _ in range(4)) if i % 3 == 0 else None
    subject = subject or f"conversation {thread}"
    body = "\r\n".join(" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(rng.randint(3, 40)))
    refs = f"In-Reply-To: <m{i - 1}@bench>\r\nReferences: <m{thread * 3}@bench>\r\n" if i % 3 else ""
    day = 1 + i % 28
    return (
        f"From: Sender {i % 50} <sender{i % 50}@example.com>\r\nTo: Me <me@example.org>\r\n"
        f"Subject: {'Re: ' if i % 3 else ''}{subject if i % 3 == 0 else f'conversation {thread}'}\r\n"
        f"Date: Mon, {day:02d} Mar 2021 10:{i % 60:02d}:00 +0000\r\nMessage-ID: <m{i}@bench>\r\n{refs}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="messages to import")
    parser.add_argument("--rounds", type=int, default=200, help="timed calls per measurement")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()

    server = Server(workers=args.workers, database=args.database)
    server.cli("migrate")
    auth = server.user()
    server.start()
    try:
        http = httpx.Client(base_url=server.url, auth=auth, timeout=120)
        session = http.get("/.well-known/jmap").json()
        account = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]

        def api(calls: list) -> list:
            resp = http.post("/jmap/api", json={"using": USING, "methodCalls": calls})
            resp.raise_for_status()
            out = resp.json()["methodResponses"]
            if any(r[0] == "error" for r in out):
                raise RuntimeError(out)
            return out

        boxes = api([["Mailbox/get", {"accountId": account, "ids": None}, "0"]])[0][1]["list"]
        inbox = next(m["id"] for m in boxes if m["role"] == "inbox")
        rng = random.Random(1)
        started = time.perf_counter()
        for start in range(0, args.count, 50):
            emails = {}
            for i in range(start, min(args.count, start + 50)):
                blob = http.post(f"/jmap/upload/{account}", content=message(i, rng),
                                 headers={"Content-Type": "message/rfc822"}).json()["blobId"]
                emails[f"e{i}"] = {"blobId": blob, "mailboxIds": {inbox: True},
                                   "keywords": {"$seen": True} if i % 2 else {}}
            result = api([["Email/import", {"accountId": account, "emails": emails}, "0"]])[0][1]
            assert not result.get("notCreated"), result["notCreated"]
        elapsed = time.perf_counter() - started
        print(f"jmapd mail benchmark: {args.count} messages, {args.workers} workers, {args.clients} client threads")
        print(f"{'import (upload + Email/import)':<42} {args.count / elapsed:>9.1f} msgs/s")

        ids = api([["Email/query", {"accountId": account, "limit": 500}, "0"]])[0][1]["ids"]

        def make_client() -> httpx.Client:
            return httpx.Client(base_url=server.url, auth=auth, timeout=60)

        def post(body_fn):  # type: ignore[no-untyped-def]
            def fn(client: httpx.Client) -> None:
                resp = client.post("/jmap/api", json={"using": USING, "methodCalls": body_fn()})
                resp.raise_for_status()
                if any(r[0] == "error" for r in resp.json()["methodResponses"]):
                    raise RuntimeError(resp.text)
            return fn

        open_inbox = post(lambda: [
            ["Email/query", {"accountId": account, "filter": {"inMailbox": inbox}, "collapseThreads": True,
                             "sort": [{"property": "receivedAt", "isAscending": False}], "limit": 50,
                             "calculateTotal": True}, "0"],
            ["Email/get", {"accountId": account, "properties": LIST_PROPS,
                           "#ids": {"resultOf": "0", "name": "Email/query", "path": "/ids"}}, "1"],
        ])
        full_get = post(lambda: [["Email/get", {"accountId": account, "ids": [rng.choice(ids)],
                                                "fetchAllBodyValues": True}, "0"]])
        text_query = post(lambda: [["Email/query", {"accountId": account, "filter": {"text": rng.choice(WORDS)},
                                                    "limit": 50, "calculateTotal": True}, "0"]])

        def keyword_then_changes() -> list:
            state = api([["Email/get", {"accountId": account, "ids": []}, "0"]])[0][1]["state"]
            chosen = rng.sample(ids, 5)
            api([["Email/set", {"accountId": account, "update": {i: {"keywords/$flagged": rng.random() < 0.5 or None} for i in chosen}}, "0"]])
            return [["Email/changes", {"accountId": account, "sinceState": state}, "0"],
                    ["Mailbox/get", {"accountId": account, "ids": None}, "1"]]

        report("open inbox (query 50 collapsed + get)", run_load(open_inbox, args.clients, args.rounds, make_client))
        report("full Email/get (all body values)", run_load(full_get, args.clients, args.rounds, make_client))
        report("full-text Email/query", run_load(text_query, args.clients, args.rounds, make_client))
        report("Email/changes + Mailbox/get after update", run_load(post(keyword_then_changes), 1, min(args.rounds, 100), make_client))
        print("worker RSS (MB): " + ", ".join(f"{m:.1f}" for m in server.worker_rss_mb()))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
