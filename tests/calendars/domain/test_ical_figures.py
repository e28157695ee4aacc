"""The mapping draft's own conversion tests: its 88 ``test-*`` figures, iCalendar → JSCalendar.

The figures use the draft's example notation (§1.3): "..." stands for
irrelevant content, iCalendar components and JSCalendar objects may be
implicit. This harness completes the iCalendar side (VCALENDAR/VEVENT
wrappers, missing END lines, mandatory UID/DTSTAMP/DTSTART, the implicit key
of a VALARM/VLOCATION/PARTICIPANT, as a JSID taken from the expected key) and compares
the JSCalendar side as a subset where the notation says "..." or the object
is implicit, exactly elsewhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jmapd_calendars.domain.ical import parse_ics, to_ics

FIGURES = json.loads((Path(__file__).parent / "data" / "mapping_figures.json").read_text())[
    "figures"
]

# Figures the harness cannot judge, or where this implementation deviates, with why.
KNOWN: dict[str, str] = {}


def _complete_ical(text: str, expected: Any) -> str:
    # The figures end with the XML's indentation: whitespace-only lines are not content.
    lines = [ln for ln in text.splitlines() if ln.strip() not in ("...", "")]
    # Unfold the draft's folded lines first so BEGIN/END detection is reliable.
    logical: list[str] = []
    for ln in lines:
        if ln.startswith(" ") and logical:
            logical[-1] += ln[1:]
        else:
            logical.append(ln)
    first = next((ln for ln in logical if ln.strip()), "")
    if not first.startswith("BEGIN:VCALENDAR"):
        if not (first.startswith("BEGIN:VEVENT") or first.startswith("BEGIN:VTODO")):
            logical = ["BEGIN:VEVENT", *logical]
        logical = ["BEGIN:VCALENDAR", *logical]
    # Close what "..." left open, then add mandatory properties to events.
    stack: list[str] = []
    for ln in logical:
        if ln.startswith("BEGIN:"):
            stack.append(ln[6:])
        elif ln.startswith("END:") and stack:
            stack.pop()
    logical += [f"END:{name}" for name in reversed(stack)]
    keys = _expected_keys(expected)
    out: list[str] = []
    comp_stack: list[list[str]] = []
    for ln in logical:
        if ln.startswith("BEGIN:"):
            comp_stack.append([ln])
            continue
        if ln.startswith("END:") and comp_stack:
            comp = comp_stack.pop()
            name = comp[0][6:]
            body = comp[1:]
            names = _own_names(body)
            if name in ("VEVENT", "VTODO"):
                if "UID" not in names:
                    body.insert(0, "UID:figure-uid")
                if "DTSTAMP" not in names:
                    body.insert(0, "DTSTAMP:20060102T030405Z")
                if name == "VEVENT" and "DTSTART" not in names:
                    body.insert(0, "DTSTART:20060102T030405Z")
            elif (
                name in ("VALARM", "VLOCATION", "PARTICIPANT")
                and "UID" not in names
                and "JSID" not in names
            ):
                pool = keys.get(name, [])
                if pool:
                    body.insert(0, f"JSID:{pool.pop(0)}")
            if name == "VALARM" and "TRIGGER" not in names:
                body.append("TRIGGER:-PT15M")
            block = [comp[0], *body, ln]
            if comp_stack:
                comp_stack[-1].extend(block)
            else:
                out.extend(block)
            continue
        if comp_stack:
            comp_stack[-1].append(ln)
        else:
            out.append(ln)
    text = "\r\n".join(out) + "\r\n"
    return text


def _own_names(body: list[str]) -> set[str]:
    """Property names of a component itself, not of its subcomponents."""
    names: set[str] = set()
    depth = 0
    for b in body:
        if b.startswith("BEGIN:"):
            depth += 1
        elif b.startswith("END:"):
            depth -= 1
        elif depth == 0:
            names.add(b.split(":")[0].split(";")[0])
    return names


def _expected_keys(expected: Any) -> dict[str, list[str]]:
    """Keys of alerts/locations/participants in the expected JSON, for components without UID."""
    found: dict[str, list[str]] = {"VALARM": [], "VLOCATION": [], "PARTICIPANT": []}

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "alerts" and isinstance(x, dict):
                    found["VALARM"].extend(x)
                elif k == "locations" and isinstance(x, dict):
                    found["VLOCATION"].extend(
                        k2
                        for k2, loc in x.items()
                        if isinstance(loc, dict) and "iCalendar" in loc or not _uuid5_like(k2)
                    )
                elif k == "participants" and isinstance(x, dict):
                    found["PARTICIPANT"].extend(k2 for k2 in x if not _uuid5_like(k2))
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(expected)
    return found


def _uuid5_like(key: str) -> bool:
    return bool(re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$", key))


def _load_json(text: str) -> tuple[Any, bool]:
    body = text.strip()
    implicit = not body.startswith("{")
    if implicit:
        body = "{" + body + "}"
    return json.loads(body), implicit


def _match(expected: Any, actual: Any, path: str, subset: bool) -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        loose = subset or "..." in expected
        errs: list[str] = []
        for k, v in expected.items():
            if k == "...":
                continue
            if k not in actual:
                errs.append(f"{path}/{k}: missing")
            else:
                errs += _match(v, actual[k], f"{path}/{k}", False)
        if not loose:
            extra = set(actual) - set(expected)
            if extra:
                errs.append(f"{path}: unexpected {sorted(extra)}")
        return errs
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        errs = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            errs += _match(e, a, f"{path}/{i}", False)
        return errs
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def _convert(fig: dict) -> tuple[Any, dict, bool]:
    expected, implicit = _load_json(fig["jscalendar"])
    ics = _complete_ical(fig["icalendar"], expected)
    res = parse_ics(ics.encode())
    assert res.errors == [], (ics, res.errors)
    entries = res.events + res.tasks
    # Keep the order of the iCalendar components (events and tasks are listed apart).
    group = {"@type": "Group", **res.calendar, "entries": entries}
    return expected, group, implicit


@pytest.mark.parametrize("fig", FIGURES, ids=[f["anchor"] for f in FIGURES])
def test_figure_icalendar_to_jscalendar(fig: dict) -> None:
    if fig["anchor"] in KNOWN:
        pytest.xfail(KNOWN[fig["anchor"]])
    expected, group, implicit = _convert(fig)
    if expected.get("@type") == "Group":
        errs = _match(expected, group, "", implicit)
    else:
        assert len(group["entries"]) == 1, group
        errs = _match(expected, group["entries"][0], "", True)
    assert errs == [], "\n".join(errs)


@pytest.mark.parametrize("fig", FIGURES, ids=[f["anchor"] for f in FIGURES])
def test_figure_round_trips(fig: dict) -> None:
    """Export of the converted figure converts back to the same JSCalendar data."""
    _, group, _ = _convert(fig)
    events = group["entries"]
    again = parse_ics(to_ics(events))
    assert again.errors == []
    # Export must name a producer (PRODID is mandatory), so an event that had
    # no prodId comes back with jmapd's: the one accepted difference.
    back = again.events + again.tasks
    for before, after in zip(events, back, strict=True):
        if "prodId" not in before:
            after.pop("prodId", None)
    assert back == events
