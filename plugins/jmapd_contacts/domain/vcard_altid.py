"""Which vCard lines are one property in several languages (RFC 9555 §2.2.1, §2.2.10, §2.2.13).

Lines of one name sharing an ALTID are alternatives of one property: the
one without LANGUAGE (or in the card's language) becomes the property, the
others become ``localizations`` patches, and N/ADR lines with PHONETIC give
the phonetics of the line they share the ALTID with. The card's language is
its LANGUAGE property or, failing that, the language most of its text
properties agree on (RFC 9555's "one dominant language" example).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

# properties whose text RFC 9555 lets ALTID/LANGUAGE localize and this mapping can patch
LOCALIZABLE = frozenset(
    {"FN", "N", "NICKNAME", "ORG", "TITLE", "ROLE", "NOTE", "ADR", "PRONOUNS",
     "EXPERTISE", "HOBBY", "INTEREST"}
)  # fmt: skip


class LineLike(Protocol):
    name: str
    params: dict[str, list[str]]


LineT = TypeVar("LineT", bound=LineLike)


def canonical_tag(tag: str) -> str:
    """BCP 47 case conventions (RFC 5646 §2.1.1): ``EN`` -> ``en``, ``zh-hant`` -> ``zh-Hant``."""
    parts = tag.strip().split("-")
    out = [parts[0].lower()]
    private = len(parts[0]) == 1
    for part in parts[1:]:
        if private or len(part) == 1:
            private = True
            out.append(part.lower())
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) == 2 and part.isalpha():
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def same_tag(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold() == b.casefold()


def line_language(line: LineLike) -> str | None:
    values = line.params.get("language") or []
    return canonical_tag(values[0]) if values and values[0].strip() else None


def is_phonetic(line: LineLike) -> bool:
    return line.name in ("N", "ADR") and bool(line.params.get("phonetic"))


@dataclass(slots=True)
class Plan(Generic[LineT]):
    language: str | None = None  # the card's language when no LANGUAGE line says it
    card_language: str | None = None  # explicit or derived: what LANGUAGE params compare to
    alternatives: list[tuple[LineT, LineT, str]] = field(default_factory=list)
    phonetics: list[tuple[LineT, LineT]] = field(default_factory=list)
    skip: set[int] = field(default_factory=set)  # ids of lines not converted on their own
    strip: dict[int, tuple[str, ...]] = field(default_factory=dict)  # params to drop per line


def plan(lines: list[LineT], explicit: str | None) -> Plan[LineT]:
    result: Plan[LineT] = Plan()
    groups: dict[tuple[str, str], list[LineT]] = {}
    units: list[list[LineT]] = []
    for line in lines:
        if line.name not in LOCALIZABLE:
            continue
        altid = (line.params.get("altid") or [""])[0]
        if altid:
            if (line.name, altid) not in groups:
                groups[(line.name, altid)] = []
                units.append(groups[(line.name, altid)])
            groups[(line.name, altid)].append(line)
        elif line.params.get("language") or is_phonetic(line):
            units.append([line])
    if not units:
        return result
    card_language = explicit
    if card_language is None:
        votes: Counter[str] = Counter()
        first: dict[str, int] = {}
        for unit in units:
            langs = [line_language(m) for m in unit if not is_phonetic(m)]
            if not langs or None in langs:
                continue
            for voted in dict.fromkeys(t for t in langs if t):
                votes[voted.casefold()] += 1
                first.setdefault(voted.casefold(), len(first))
        if votes:
            best = min(votes, key=lambda t: (-votes[t], first[t]))
            card_language = next(
                line_language(m)
                for unit in units
                for m in unit
                if same_tag(line_language(m), best)
            )
            result.language = card_language
    result.card_language = card_language
    names = [line for line in lines if line.name == "N" and not is_phonetic(line)]
    for unit in units:
        members = [m for m in unit if not is_phonetic(m)]
        base = (
            next((m for m in members if line_language(m) is None), None)
            or next((m for m in members if same_tag(line_language(m), card_language)), None)
            or (members[0] if members else None)
        )
        seen: set[str] = set()
        for member in unit:
            tag = line_language(member)
            drop = ("altid", "language") if same_tag(tag, card_language) else ("altid",)
            if is_phonetic(member):
                # a PHONETIC N without ALTID belongs to the card's one name
                target = base or (names[0] if member.name == "N" and names else None)
                if target is not None:
                    result.phonetics.append((target, member))
                    result.skip.add(id(member))
                    continue
            elif member is not base and tag is not None and tag.casefold() not in seen:
                if base is not None:
                    result.alternatives.append((base, member, tag))
                    result.skip.add(id(member))
                    seen.add(tag.casefold())
                    continue
            result.strip[id(member)] = drop
            if member is base and tag is not None:
                seen.add(tag.casefold())
    return result
