"""What rights checks cost: the owner's and a sharee's view of one shared Mailbox.

    python bench/sharing.py [--count 20000] [--rounds 200] [--database URL] [--reuse DIR]

Imports --count messages as bench/mail.py does (80% in the Inbox), creates a
second user and shares the owner's Inbox with them (mayReadItems, maySetSeen,
through Mailbox/set shareWith), then times, with one client thread, the same
calls made by the owner on their own account and by the sharee on the shared
one:

  * open inbox: Email/query inMailbox=inbox, collapseThreads, receivedAt desc,
    limit 50 + back-referenced Email/get of the list properties;
  * the same query with calculateTotal;
  * a full-text Email/query (a word in 20% of messages) inside the Inbox;
  * Mailbox/get of every Mailbox the caller sees (with counts).

Target (issue #11): the sharee's p50 within 1.2x of the owner's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, percentile  # noqa: E402
from mail import COMMON, INBOX_GET_PROPS, USING, Bench, _fresh_pg, fmt, reused, verdict  # noqa: E402

PRINCIPALS = "urn:ietf:params:jmap:principals"
SHARE_USING = [*USING, PRINCIPALS, "urn:ietf:params:jmap:mail:share"]


def paired(fns: dict[str, Any], rounds: int) -> dict[str, dict[str, float]]:
    """Each of ``fns`` timed in turn within every round, so a loaded machine
    slows them alike and the ratio stays meaningful."""
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for n in range(rounds + 5):
        for key, fn in fns.items():
            started = time.perf_counter()
            fn()
            if n >= 5:  # warm-up
                samples[key].append(time.perf_counter() - started)
    return {k: {"p50_ms": statistics.median(v) * 1000, "p95_ms": percentile(v, 0.95) * 1000, "n": rounds}
            for k, v in samples.items()}


class SharingBench(Bench):
    def _run(self, server: Server, auth: Any, measure_all: bool) -> dict[str, Any]:
        owner = httpx.Client(base_url=server.url, auth=auth, timeout=300)
        session = owner.get("/.well-known/jmap").json()
        account = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
        inbox = self.fill(server, auth, owner, account)
        try:
            sharee_auth = server.user("sharee", "sharee-password")
        except Exception:  # --reuse: made by the earlier run
            sharee_auth = ("sharee", "sharee-password")
        sharee = httpx.Client(base_url=server.url, auth=sharee_auth, timeout=300)
        their = sharee.get("/.well-known/jmap").json()
        mine = their["primaryAccounts"]["urn:ietf:params:jmap:mail"]
        principal = their["accounts"][mine]["accountCapabilities"][PRINCIPALS]["currentUserPrincipalId"]
        resp = owner.post("/jmap/api", json={"using": SHARE_USING, "methodCalls": [[
            "Mailbox/set", {"accountId": account, "update": {inbox: {
                f"shareWith/{principal}": {"mayReadItems": True, "maySetSeen": True}}}}, "0"]]}).json()
        assert inbox in resp["methodResponses"][0][1].get("updated", {}), resp
        assert account in sharee.get("/.well-known/jmap").json()["accounts"], "the share is not in the session"

        def calls(total: bool) -> list[Any]:
            query: dict[str, Any] = {"accountId": account, "filter": {"inMailbox": inbox}, "collapseThreads": True,
                                     "sort": [{"property": "receivedAt", "isAscending": False}], "limit": 50}
            if total:
                query["calculateTotal"] = True
            return [["Email/query", query, "0"],
                    ["Email/get", {"accountId": account, "properties": INBOX_GET_PROPS,
                                   "#ids": {"resultOf": "0", "name": "Email/query", "path": "/ids"}}, "1"]]

        ops = {
            "open inbox (query 50 collapsed + get)": lambda: calls(False),
            "open inbox with calculateTotal": lambda: calls(True),
            f"full-text '{COMMON}' in the Inbox, 50 newest": lambda: [["Email/query", {
                "accountId": account, "filter": {"operator": "AND", "conditions": [{"inMailbox": inbox}, {"text": COMMON}]},
                "sort": [{"property": "receivedAt", "isAscending": False}], "limit": 50}, "0"]],
            "Mailbox/get of every visible Mailbox": lambda: [["Mailbox/get", {"accountId": account, "ids": None}, "0"]],
        }
        # Same answers first: the sharee sees exactly the owner's Inbox listing.
        a = self.api(owner, calls(True))[0][1]
        b = self.api(sharee, calls(True))[0][1]
        assert a["ids"] == b["ids"] and a["total"] == b["total"], "sharee and owner disagree on the Inbox"
        for name, make in ops.items():
            row = paired({"owner": lambda make=make: self.api(owner, make()),
                          "sharee": lambda make=make: self.api(sharee, make())}, self.args.rounds)
            self.figures[name] = row
            self.log(f"{name}: owner p50 {row['owner']['p50_ms']:.2f} ms, sharee {row['sharee']['p50_ms']:.2f} ms")
        self.figures["inbox_total"] = a["total"]
        return self.figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20000, help="messages to import")
    parser.add_argument("--rounds", type=int, default=200, help="timed calls per figure")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--reuse", type=Path, default=None, help="measure an earlier run's data directory")
    parser.add_argument("--fill", choices=("jmap", "maildir"), default="jmap", help="as bench/mail.py --fill")
    args = parser.parse_args()
    args.upload = "blob"
    db = _fresh_pg(args.database, "_share") if args.database and not reused(args.reuse) else args.database
    f = SharingBench(args, args.count, db).run(reuse=args.reuse)
    print()
    print(f"jmapd sharing benchmark: {args.count} messages ({f['inbox_total']} threads in the shared Inbox), "
          f"{args.workers} workers, {'PostgreSQL' if args.database else 'SQLite'}; 1 client thread, {args.rounds} rounds")
    for name, row in f.items():
        if not isinstance(row, dict) or "owner" not in row:
            continue
        ratio = row["sharee"]["p50_ms"] / row["owner"]["p50_ms"]
        print(f"{name:<48} owner {fmt(row['owner'])}")
        print(f"{'':<48} sharee {fmt(row['sharee'])}  {ratio:5.2f}x  {verdict(ratio <= 1.2)} <= 1.2x")


if __name__ == "__main__":
    main()
