"""Comparators (RFC 4790 as used by RFC 5228 §2.7.3), match types and
relational matches (RFC 5231), with match variables (RFC 5229 §3.2).

``:matches`` is a hand-written glob matcher with memoised positions, so a
pattern of many ``*`` costs O(pattern × subject) rather than the
exponential backtracking a translated regex can hit. ``:regex`` uses
Python's ``re`` on a subject cut to :data:`MAX_REGEX_SUBJECT` characters.
"""

from __future__ import annotations

import re
from typing import Any

MAX_REGEX_SUBJECT = 4096
MAX_GLOB_CELLS = 400_000


def _fold(comparator: str, s: str) -> str:
    return s if comparator == "i;octet" else s.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _numeric(s: str) -> int | None:
    m = re.match(r"[0-9]+", s)
    return int(m.group()) if m else None  # None is "positive infinity" (RFC 4790 §9.1.1)


def relate(comparator: str, rel: str, a: str, b: str) -> bool:
    """``a REL b`` under the comparator (RFC 5231 §4)."""
    if comparator == "i;ascii-numeric":
        na, nb = _numeric(a), _numeric(b)
        ka = (1, 0) if na is None else (0, na)
        kb = (1, 0) if nb is None else (0, nb)
        return _rel(rel, ka, kb)
    return _rel(rel, _fold(comparator, a), _fold(comparator, b))


def _rel(rel: str, a: Any, b: Any) -> bool:
    if rel == "eq":
        return bool(a == b)
    if rel == "ne":
        return bool(a != b)
    if rel == "gt":
        return bool(a > b)
    if rel == "ge":
        return bool(a >= b)
    if rel == "lt":
        return bool(a < b)
    return bool(a <= b)


def glob(pattern: str, subject: str, comparator: str) -> list[str] | None:
    """``:matches``: None when no match, else the match variables
    (``${0}`` the whole subject, then one per wildcard; each ``*`` takes as
    little as it can, leaving the rest to later wildcards)."""
    toks: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            toks.append("=" + pattern[i + 1])
            i += 2
            continue
        if c == "*" and toks and toks[-1] == "*":
            toks.append("*0")  # an empty capture keeps the numbering of RFC 5229
        else:
            toks.append(c if c in "*?" else "=" + c)
        i += 1
    fp = [t if t in ("*", "?", "*0") else "=" + _fold(comparator, t[1:]) for t in toks]
    fs = _fold(comparator, subject)
    if comparator == "i;ascii-numeric":
        return [subject] if relate(comparator, "eq", pattern, subject) else None

    n = len(fs)
    if len(fp) * (n + 1) > MAX_GLOB_CELLS:
        return None  # too big to decide within bounds: no match
    # dp[p][s]: pattern tokens p.. match subject s.. (bottom-up, no recursion)
    dp = [bytearray(n + 1) for _ in range(len(fp) + 1)]
    dp[len(fp)][n] = 1
    for p in range(len(fp) - 1, -1, -1):
        t, row, nxt = fp[p], dp[p], dp[p + 1]
        if t == "*0":
            row[:] = nxt
        elif t == "*":
            acc = 0
            for s in range(n, -1, -1):
                acc = acc or nxt[s]
                row[s] = acc
        else:
            ch = t[1:]
            for s in range(n):
                row[s] = nxt[s + 1] and (t == "?" or fs[s] == ch)
    if not dp[0][0]:
        return None
    caps = [subject]
    p = s = 0
    while p < len(fp):
        t = fp[p]
        if t == "*0":
            caps.append("")
            p += 1
        elif t == "*":
            k = next(k for k in range(s, n + 1) if dp[p + 1][k])
            caps.append(subject[s:k])
            p, s = p + 1, k
        elif t == "?":
            caps.append(subject[s])
            p, s = p + 1, s + 1
        else:
            p, s = p + 1, s + 1
    return caps


def unsafe_regex(pattern: str) -> bool:
    """Whether ``pattern`` can backtrack exponentially in ``re``: a repeated
    group that itself repeats or alternates (``(a+)+``, ``(a|aa)*``), or a
    back-reference. Such a key is refused (a syntax error when it is in the
    script, a runtime error when a variable builds it), since Python's
    ``re`` has no time limit."""
    stack: list[bool] = []  # per open group: whether it repeats or alternates inside
    i, n = 0, len(pattern)
    closed_risky = False  # the group that just closed repeats or alternates inside
    while i < n:
        c = pattern[i]
        repeat = c in "*+" or (c == "{" and _counted_repeat(pattern, i))
        if repeat and closed_risky:
            return True
        closed_risky = False
        if c == "\\":
            if i + 1 < n and pattern[i + 1].isdigit():
                return True
            i += 2
            continue
        if c == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            continue
        if c == "(":
            stack.append(False)
        elif c == ")":
            if stack:
                closed_risky = stack.pop()
                if stack:
                    stack[-1] = stack[-1] or closed_risky
        elif (repeat or c == "|") and stack:
            stack[-1] = True
        i += 1
    return False


def _counted_repeat(pattern: str, i: int) -> bool:
    """``{n,}`` or ``{n,m}`` with m > 1 at ``i`` (``{1}`` repeats nothing)."""
    end = pattern.find("}", i)
    body = pattern[i + 1:end] if end > 0 else ""
    lo, comma, hi = body.partition(",")
    if not lo.isdigit() or (hi and not hi.isdigit()):
        return False
    return bool(comma and (not hi or int(hi) > 1)) or int(lo) > 1


def match(match_type: str, comparator: str, subject: str, key: str) -> list[str] | None:
    """One subject against one key: None, or the match variables (possibly [])."""
    if match_type == ":is":
        if comparator == "i;ascii-numeric":
            return [] if relate(comparator, "eq", subject, key) else None
        return [] if _fold(comparator, subject) == _fold(comparator, key) else None
    if match_type == ":contains":
        return [] if _fold(comparator, key) in _fold(comparator, subject) else None
    if match_type == ":matches":
        return glob(key, subject, comparator)
    if match_type == ":regex":
        flags = 0 if comparator == "i;octet" else re.IGNORECASE
        try:
            m = re.search(key, subject[:MAX_REGEX_SUBJECT], flags)
        except re.error:
            return None
        if m is None:
            return None
        return [m.group(0)] + [g or "" for g in m.groups()][:9]
    raise ValueError(match_type)
