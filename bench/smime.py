"""S/MIME verification benchmark (issue #15): what RFC 9219 costs.

    python bench/smime.py [--count 300] [--rounds 30] [--database URL]

Starts ``jmapd serve --workers 2`` trusting a test CA made here
(jmapd_smime.testing), imports --count signed messages (two thirds
verifiable, a third failing: wrong signer, unknown CA) and as many plain
ones through upload + Email/import in batches of 50, then prints:

  * import rate of the plain and of the signed batches (messages/s): the
    status at delivery is verified while each signed Email is stored;
  * Email/get of 50 signed Emails with the four S/MIME properties, the first
    call (each worker's cache cold) and then p50/p95 (cache warm);
  * Email/query hasVerifiedSmimeAtDelivery (SQL) and hasVerifiedSmime
    (the current status of every S/MIME message of the account), p50/p95.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.serialization import Encoding

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, percentile  # noqa: E402

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:smimeverify"]
PROPS = ["smimeStatus", "smimeStatusAtDelivery", "smimeErrors", "smimeVerifiedAt"]


def main() -> None:
    from jmapd_smime import testing as t

    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database")
    args = parser.parse_args()
    root = t.make_ca("bench root")
    alice = t.make_leaf(root, "alice@example.org")
    stranger = t.make_leaf(t.make_ca("stranger"), "mallory@example.org")
    server = Server(database=args.database)
    bundle = server.dir / "anchors.pem"
    bundle.write_bytes(root.cert.public_bytes(Encoding.PEM))
    server.config.write_text(server.config.read_text() + f"smime:\n  system_trust: false\n  ca_file: {bundle}\n")
    server.start()
    try:
        user, password = server.user()
        http = httpx.Client(base_url=server.url, auth=(user, password), timeout=120)
        session = http.get("/.well-known/jmap").json()
        account = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]

        def call(method: str, arguments: dict) -> dict:
            body = {"using": USING, "methodCalls": [[method, {"accountId": account, **arguments}, "0"]]}
            name, result, _ = http.post(session["apiUrl"], json=body).json()["methodResponses"][0]
            assert name == method, result
            return result

        inbox = call("Mailbox/query", {"filter": {"role": "inbox"}})["ids"][0]

        def load(messages: list[bytes]) -> float:
            started = time.perf_counter()
            for start in range(0, len(messages), 50):
                emails = {}
                for i, raw in enumerate(messages[start:start + 50]):
                    blob = http.post(session["uploadUrl"].replace("{accountId}", account), content=raw,
                                     headers={"Content-Type": "message/rfc822"}).json()["blobId"]
                    emails[str(i)] = {"blobId": blob, "mailboxIds": {inbox: True}}
                assert len(call("Email/import", {"emails": emails})["created"]) == len(emails)
            return len(messages) / (time.perf_counter() - started)

        def signed(i: int) -> bytes:
            if i % 3 == 0:
                return t.detached(alice, "bob@example.org", f"wrong signer {i}") if i % 2 else t.detached(
                    stranger, "mallory@example.org", f"stranger {i}")
            return t.detached(alice, "alice@example.org", f"signed {i}") if i % 2 else t.opaque(
                alice, "alice@example.org", f"opaque {i}")

        plain = [t.headers("alice@example.org", f"plain {i}") + b"\r\n" + base64.b64encode(bytes(600)) + b"\r\n"
                 for i in range(args.count)]
        print(f"import plain           {load(plain):8.1f} messages/s")
        print(f"import signed          {load([signed(i) for i in range(args.count)]):8.1f} messages/s")
        ids = call("Email/query", {"filter": {"hasSmime": True}, "limit": 50})["ids"]

        def timed(fn) -> float:
            started = time.perf_counter()
            fn()
            return (time.perf_counter() - started) * 1000

        first = timed(lambda: call("Email/get", {"ids": ids, "properties": PROPS}))
        warm = [timed(lambda: call("Email/get", {"ids": ids, "properties": PROPS})) for _ in range(args.rounds)]
        print(f"Email/get 50 signed    first {first:7.1f} ms   p50 {statistics.median(warm):7.1f} ms   "
              f"p95 {percentile(warm, 0.95):7.1f} ms")
        for name in ("hasVerifiedSmimeAtDelivery", "hasVerifiedSmime"):
            first = timed(lambda name=name: call("Email/query", {"filter": {name: True}}))
            runs = [timed(lambda name=name: call("Email/query", {"filter": {name: True}})) for _ in range(args.rounds)]
            print(f"Email/query {name:<27} first {first:7.1f} ms   p50 {statistics.median(runs):7.1f} ms   "
                  f"p95 {percentile(runs, 0.95):7.1f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
