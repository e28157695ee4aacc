"""N and ADR structured values <-> Name/Address components, with JSCOMPS (RFC 9555 §3.3.1).

Every value of N or ADR has a position (component, value): the one thing a
component, its PHONETIC twin and a JSCOMPS entry all agree on. Reading
gives the components with the position each came from; writing gives the
value with the position of each component, so JSCOMPS and the PHONETIC
line can be written from the same layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .vcard_text import all_values, caret_decode, caret_encode, raw_components, unescape

N_KINDS = ("surname", "given", "given2", "title", "credential", "surname2", "generation")
# RFC 9554 §2.2: ADR components 7-17 after RFC 6350's seven
ADR_NEW = (
    "room", "apartment", "floor", "number", "name", "building", "block", "subdistrict",
    "district", "landmark", "direction",
)  # fmt: skip
_ADR_OLD = ("postOfficeBox", "apartment", "name", "locality", "region", "postcode", "country")
ADR_KINDS = _ADR_OLD + ADR_NEW
_ADR_WRITTEN = {k: 7 + i for i, k in enumerate(ADR_NEW)} | {
    "postOfficeBox": 0, "locality": 3, "region": 4, "postcode": 5, "country": 6,
}  # fmt: skip
_POSITIONAL = re.compile(r"^(\d+)(?:,(\d+))?$")

Position = tuple[int, int]


@dataclass(slots=True)
class Structured:
    components: list[dict[str, Any]] = field(default_factory=list)
    positions: list[Position | None] = field(default_factory=list)  # None: a separator
    ordered: dict[str, Any] = field(default_factory=dict)  # isOrdered/defaultSeparator


def _grid(raw: str) -> list[list[str]]:
    return [all_values(part) for part in raw_components(raw)]


def _kind(prop: str, index: int) -> str | None:
    kinds = N_KINDS if prop == "N" else ADR_KINDS
    return kinds[index] if index < len(kinds) else None


def _counted(prop: str, grid: list[list[str]]) -> list[tuple[str, str, Position]]:
    """The values that are components, in the order they convert without JSCOMPS."""
    if prop == "N":
        # RFC 9555 §2.3.7: surname repeats surname2, suffix the generation, for old readers
        copies = {0: set(grid[5]) if len(grid) > 5 else set(), 4: set(grid[6]) if len(grid) > 6 else set()}
        return [
            (N_KINDS[i], v, (i, j))
            for i, values in enumerate(grid[: len(N_KINDS)])
            for j, v in enumerate(values)
            if v and v not in copies.get(i, ())
        ]
    grid = grid[: len(ADR_KINDS)]
    has_new = any(v for values in grid[7:] for v in values)  # the street counts only without them
    order = ([] if has_new else [2]) + list(range(7, 18)) + [0, 1, 3, 4, 5, 6]
    return [
        (ADR_KINDS[i], v, (i, j))
        for i in order
        if i < len(grid)
        for j, v in enumerate(grid[i])
        if v
    ]


def read(prop: str, raw: str, jscomps: str | None = None) -> Structured:
    """N or ADR value -> components; a valid JSCOMPS orders them (isOrdered)."""
    grid = _grid(raw)
    counted = _counted(prop, grid)
    if jscomps is not None:
        ordered = _read_jscomps(prop, caret_decode(jscomps), grid, len(counted))
        if ordered is not None:
            return ordered
    return Structured(
        [{"kind": k, "value": v} for k, v, _p in counted], [p for _k, _v, p in counted]
    )


def _read_jscomps(prop: str, value: str, grid: list[list[str]], count: int) -> Structured | None:
    """None unless valid: every position exists, one entry per (deduplicated) value."""
    entries = [e for e in re.split(r"(?<!\\);", value)]
    if len(entries) < 2 or (entries[0] and not entries[0].startswith("s,")):
        return None
    out = Structured(ordered={"isOrdered": True})
    if entries[0]:
        out.ordered["defaultSeparator"] = unescape(entries[0][2:])
    for entry in entries[1:]:
        if entry.startswith("s,"):
            out.components.append({"kind": "separator", "value": unescape(entry[2:])})
            out.positions.append(None)
            continue
        m = _POSITIONAL.match(entry)
        if m is None:
            return None
        i, j = int(m.group(1)), int(m.group(2) or 0)
        kind = _kind(prop, i)
        if kind is None or i >= len(grid) or j >= len(grid[i]) or not grid[i][j]:
            return None
        out.components.append({"kind": kind, "value": grid[i][j]})
        out.positions.append((i, j))
    if sum(p is not None for p in out.positions) != count:
        return None
    return out


def _escape_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def write(prop: str, obj: dict[str, Any], phonetic: bool = False) -> tuple[str, list[Position | None]]:
    """An N or ADR value for ``obj``'s components (or their phonetics, in the same
    layout), with each component's position (None: separator or a kind N/ADR lacks)."""
    comps = obj.get("components") or []
    size = 7 if prop == "N" else 18
    slots: list[list[str]] = [[] for _ in range(size)]
    positions: list[Position | None] = []
    text = [c.get("phonetic", "") if phonetic else c.get("value", "") for c in comps]
    if prop == "N":
        index = {k: i for i, k in enumerate(N_KINDS)}
        # designated slots first, then the copies for old readers after them
        for c, t in zip(comps, text, strict=True):
            i = index.get(c.get("kind", ""))
            positions.append(None if i is None else (i, len(slots[i])))
            if i is not None:
                slots[i].append(t)
        slots[0] = slots[0] + slots[5]
        gens = len(slots[6])
        slots[4] = slots[6] + slots[4]
        positions = [
            (4, p[1] + gens) if p is not None and p[0] == 4 else p for p in positions
        ]
    else:
        for c, t in zip(comps, text, strict=True):
            i = _ADR_WRITTEN.get(c.get("kind", ""))
            positions.append(None if i is None else (i, len(slots[i])))
            if i is not None:
                slots[i].append(t)
        street = " ".join(v for v in slots[10] + slots[11] if v)  # number, name
        slots[2] = [street] if street else []
    value = ";".join(",".join(_escape_value(v) for v in slot) for slot in slots)
    return value, positions


def jscomps(obj: dict[str, Any], positions: list[Position | None]) -> str | None:
    """The JSCOMPS value for an ordered Name/Address, None if it is not ordered or a
    component has no position (JSPROP carries it then)."""
    if obj.get("isOrdered") is not True:
        return None
    entries = []
    if "defaultSeparator" in obj:
        entries.append("s," + _escape_value(str(obj["defaultSeparator"])))
    else:
        entries.append("")
    for comp, pos in zip(obj.get("components") or [], positions, strict=True):
        if comp.get("kind") == "separator":
            entries.append("s," + _escape_value(str(comp.get("value", ""))))
        elif pos is None:
            return None
        else:
            entries.append(str(pos[0]) if pos[1] == 0 else f"{pos[0]},{pos[1]}")
    if len(entries) < 2:
        return None
    return caret_encode(";".join(entries))


def phonetics(base: list[Position | None], raw: str) -> dict[int, str]:
    """Component index -> phonetic text: the PHONETIC line's value at each one's position."""
    grid = _grid(raw)
    out: dict[int, str] = {}
    for index, pos in enumerate(base):
        if pos is not None and pos[0] < len(grid) and pos[1] < len(grid[pos[0]]):
            if grid[pos[0]][pos[1]]:
                out[index] = grid[pos[0]][pos[1]]
    return out
