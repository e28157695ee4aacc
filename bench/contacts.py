"""Contacts benchmark at N cards in one account (default 10,000).

    python bench/contacts.py [--cards 10000] [--database URL] [--requests 200]

Against `jmapd serve` over loopback HTTP (SQLite in a temporary directory
unless --database names PostgreSQL), it prints:

- import: `jmapd contacts import` of a generated .vcf (vCard 4.0, with
  names, emails, phones, addresses, notes), in cards/s, process start-up
  included;
- ContactCard/query as an autocomplete: an email prefix and a name prefix
  filter, sorted by name/surname, limit 10 — p50/p95;
- ContactCard/get of 50 cards — p50/p95;
- ContactCard/changes after 100 updates — p50/p95.

The issue's targets (#12): import >= 1,000 cards/s, autocomplete p50 <= 10 ms,
get of 50 <= 10 ms, /changes after 100 updates <= 10 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Server, percentile  # noqa: E402

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:contacts"]
GIVEN = ["Ada", "Bob", "Chloé", "Dmitri", "Eve", "Farah", "Gustav", "Hiro", "Ines", "Jürgen", "Kofi", "Lena"]
SURNAMES = ["Lovelace", "Baker", "Durand", "Ivanov", "Smith", "Khan", "Larsson", "Tanaka", "García", "Müller"]


def vcf(count: int) -> str:
    rnd = random.Random(7)
    out = []
    for i in range(count):
        given, surname = rnd.choice(GIVEN), rnd.choice(SURNAMES)
        out.append(
            "BEGIN:VCARD\r\nVERSION:4.0\r\n"
            f"UID:urn:uuid:bench-{i:06d}\r\nFN:{given} {surname} {i}\r\nN:{surname}{i};{given};;;\r\n"
            f"EMAIL;TYPE=work:{given.lower()}.{surname.lower()}{i}@example{i % 50}.com\r\n"
            f"TEL;TYPE=cell:+1 555 {i:07d}\r\n"
            f"ADR;TYPE=home:;;{i} Main Street;Springfield;;{10000 + i};USA\r\n"
            f"NOTE:bench card {i}\r\nEND:VCARD\r\n"
        )
    return "".join(out)


def call(http: httpx.Client, account: str, method: str, args: dict) -> dict:
    body = {"using": USING, "methodCalls": [[method, {"accountId": account, **args}, "0"]]}
    resp = http.post("/jmap/api", json=body)
    resp.raise_for_status()
    name, out, _ = resp.json()["methodResponses"][0]
    if name == "error":
        raise RuntimeError(f"{method}: {out}")
    return out


def timed(fn, times: int) -> tuple[float, float]:
    lat = []
    for _ in range(times):
        started = time.perf_counter()
        fn()
        lat.append((time.perf_counter() - started) * 1000)
    return statistics.median(lat), percentile(lat, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database")
    opts = parser.parse_args()
    server = Server(workers=2, database=opts.database).start()
    try:
        user, password = server.user()
        path = server.dir / "bench.vcf"
        path.write_text(vcf(opts.cards))
        started = time.perf_counter()
        server.cli("contacts", "import", str(path), "--user", user)
        elapsed = time.perf_counter() - started
        print(f"{'import (jmapd contacts import)':<42} {opts.cards / elapsed:>9.0f} cards/s  ({opts.cards} in {elapsed:.1f} s)")
        http = httpx.Client(base_url=server.url, auth=(user, password), timeout=60)
        session = http.get("/.well-known/jmap").json()
        account = next(i for i, a in session["accounts"].items() if a["isPersonal"])
        total = call(http, account, "ContactCard/query", {"calculateTotal": True, "limit": 1})["total"]
        assert total == opts.cards, total
        rnd = random.Random(1)
        sort = [{"property": "name/surname"}, {"property": "name/given"}]

        def email_prefix() -> None:
            prefix = rnd.choice(GIVEN).lower()[:3]
            call(http, account, "ContactCard/query", {"filter": {"email": prefix}, "sort": sort, "limit": 10})

        def name_prefix() -> None:
            prefix = rnd.choice(SURNAMES)[:4]
            call(http, account, "ContactCard/query", {"filter": {"name": prefix}, "sort": sort, "limit": 10})

        def rare_prefix() -> None:
            call(http, account, "ContactCard/query", {"filter": {"email": f"{rnd.randrange(opts.cards)}@"}, "limit": 10})

        for label, fn in (("query email prefix (autocomplete, limit 10)", email_prefix),
                          ("query name prefix (autocomplete, limit 10)", name_prefix),
                          ("query rare email (few matches)", rare_prefix)):
            p50, p95 = timed(fn, opts.requests)
            print(f"{label:<42} p50 {p50:>7.2f} ms   p95 {p95:>7.2f} ms")
        ids = call(http, account, "ContactCard/query", {"limit": 5000})["ids"]

        def get50() -> None:
            call(http, account, "ContactCard/get", {"ids": rnd.sample(ids, 50)})

        p50, p95 = timed(get50, opts.requests)
        print(f"{'ContactCard/get of 50':<42} p50 {p50:>7.2f} ms   p95 {p95:>7.2f} ms")
        state = call(http, account, "ContactCard/get", {"ids": []})["state"]
        for card_id in rnd.sample(ids, 100):
            call(http, account, "ContactCard/set", {"update": {card_id: {"notes/b": {"note": "changed"}}}})

        def changes() -> None:
            out = call(http, account, "ContactCard/changes", {"sinceState": state})
            assert len(out["updated"]) == 100, out

        p50, p95 = timed(changes, opts.requests)
        print(f"{'ContactCard/changes after 100 updates':<42} p50 {p50:>7.2f} ms   p95 {p95:>7.2f} ms")
        http.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
