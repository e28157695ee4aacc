"""``jmapd contacts import`` / ``export``: .vcf files in and out of an account.

The import goes through ContactCard/set in-process, as the user, so it gets
exactly the API's validation, uid uniqueness, change log and push
notifications. A card whose uid the account already has is updated (its
members replaced by the file's), so running an import twice duplicates
nothing. A malformed vCard is reported with its line and reason and the
rest still import. On a terminal a progress bar (tqdm) shows the cards
going in or out, on stderr; a summary line ends every run.
"""

from __future__ import annotations

import sys
from typing import Any

from jmapd.cli_setup import UserSession, batches, progress

from .addressbook import CONTACTS

BATCH = 200
#: Cards created by one import after which the planner's statistics are renewed.
ANALYZE_AFTER = 1000
USING = ["urn:ietf:params:jmap:core", CONTACTS]


def register(subparsers: Any) -> None:
    top = subparsers.add_parser("contacts", help="import or export vCard (.vcf) files")
    sub = top.add_subparsers(dest="contacts_command", required=True)
    p = sub.add_parser("import", help="import the cards of a .vcf file into a user's address book")
    p.add_argument("file", help="the .vcf file ('-' for stdin)")
    p.add_argument("--user", required=True, help="whose personal account gets the cards")
    p.add_argument("--address-book", help="address book name (made if missing; default: the default book)")
    p.set_defaults(func=cmd_import)
    p = sub.add_parser("export", help="write a user's cards as vCard 4.0 to stdout")
    p.add_argument("--user", required=True)
    p.add_argument("--address-book", help="only this address book (by name)")
    p.set_defaults(func=cmd_export)


class Session(UserSession):
    def __init__(self, config_path: str | None, user: str) -> None:
        super().__init__(config_path, user, USING, "jmapd contacts")

    def book(self, name: str | None, *, create: bool) -> str | None:
        books = self.call("AddressBook/get", {"ids": None})["list"]
        if name is None:
            return next((b["id"] for b in books if b["isDefault"]), books[0]["id"] if books else None)
        found = next((b["id"] for b in books if b["name"] == name), None)
        if found is None and create:
            made = self.call("AddressBook/set", {"create": {"b": {"name": name}}})
            if not made.get("created"):
                raise SystemExit(f"jmapd contacts: cannot create address book {name!r}: {made.get('notCreated')}")
            found = made["created"]["b"]["id"]
        if found is None:
            raise SystemExit(f"jmapd contacts: no address book {name!r}")
        return str(found)


#: Members a re-import leaves alone: the JMAP ones and those the server keeps.
KEPT = frozenset({"id", "uid", "addressBookIds", "created", "updated", "@type", "version"})


def import_text(session: Session, text: str, book_name: str | None, out: Any = sys.stderr) -> dict[str, int]:
    """Import every card of ``text``; returns the counts the summary prints."""
    from .domain.vcard import parse_vcards
    from .index import uid_holders

    result = parse_vcards(text, validate=False)  # ContactCard/set judges each card
    for error in result.errors:
        print(f"line {error.line}: {error.reason}", file=out)
    counts = {"created": 0, "updated": 0, "failed": len(result.errors)}
    if not result.cards:
        return counts
    book = session.book(book_name, create=True)
    bar = progress(len(result.cards), "card")
    numbered = list(zip(result.lines, result.cards, strict=True))
    for batch in batches(numbered, BATCH):
        uids = [c["uid"] for _, c in batch if isinstance(c.get("uid"), str)]
        existing: dict[str, str] = {}
        previous: dict[str, dict[str, Any]] = {}
        if uids:
            found = sorted(set(uid_holders(session.account_id, uids).values()))
            if found:
                stored = session.call("ContactCard/get", {"ids": found})["list"]
                existing = {c["uid"]: c["id"] for c in stored}
                previous = {c["id"]: c for c in stored}
        create: dict[str, Any] = {}
        update: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for line, card in batch:
            key = f"l{line}"
            lines[key] = line
            target = existing.get(card.get("uid"))
            if target is None:
                create[key] = {**card, "addressBookIds": {book: True}}
            else:
                lines[target] = line
                # The new version replaces the old: what it no longer has is removed.
                gone = {k: None for k in previous.get(target, {}) if k not in card and k not in KEPT}
                update[target] = {**gone, **{k: v for k, v in card.items() if k != "uid"}}
        response = session.call("ContactCard/set", {"create": create, "update": update})
        counts["created"] += len(response.get("created") or {})
        counts["updated"] += len(response.get("updated") or {})
        for key, err in {**(response.get("notCreated") or {}), **(response.get("notUpdated") or {})}.items():
            counts["failed"] += 1
            reason = err.get("description") or err.get("type")
            print(f"line {lines.get(key, '?')}: {err.get('type')}: {reason}", file=out)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    if counts["created"] >= ANALYZE_AFTER:
        from .index import analyze

        analyze()
    return counts


def cmd_import(args: Any) -> int:
    session = Session(getattr(args, "config", None), args.user)
    from .vcards import decode_text

    raw = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()  # noqa: SIM115
    counts = import_text(session, decode_text(raw), args.address_book)
    print(f"{counts['created']} created, {counts['updated']} updated, {counts['failed']} failed", file=sys.stderr)
    return 0 if counts["failed"] == 0 else 1


def cmd_export(args: Any) -> int:
    from .domain.vcard import to_vcard
    from .vcards import _bare, cards_of, exportable

    session = Session(getattr(args, "config", None), args.user)
    book = session.book(args.address_book, create=False) if args.address_book else None
    cards = cards_of(session.account_id, book)
    bar = progress(len(cards), "card")  # on stderr, so the .vcf on stdout stays clean
    for card in cards:
        sys.stdout.write(to_vcard(exportable(session.services, session.account_id, _bare(card))))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    sys.stdout.flush()
    print(f"{len(cards)} cards exported", file=sys.stderr)
    return 0
