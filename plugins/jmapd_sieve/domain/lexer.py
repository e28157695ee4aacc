"""Tokens of RFC 5228 §2 (and §8.1 grammar), with line numbers for errors.

Written by hand rather than with a regex-per-token table because
``text:`` multi-line strings and bracketed comments span lines and the
line of every token must survive into ``invalidSieve`` descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass


class SieveSyntaxError(Exception):
    """A script that does not parse or check; ``line`` is 1-based."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Token:
    kind: str  # ident, tag, number, string, or the punctuation itself
    value: str | int
    line: int


_PUNCT = "[](),;{}"
_MULT = {"K": 1 << 10, "k": 1 << 10, "M": 1 << 20, "m": 1 << 20, "G": 1 << 30, "g": 1 << 30}


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, or raise :class:`SieveSyntaxError`."""
    out: list[Token] = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r":
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise SieveSyntaxError(line, "unterminated comment")
            line += text.count("\n", i, end)
            i = end + 2
        elif c in _PUNCT:
            out.append(Token(c, c, line))
            i += 1
        elif c == '"':
            start_line = line
            buf: list[str] = []
            i += 1
            while True:
                if i >= n:
                    raise SieveSyntaxError(start_line, "unterminated string")
                ch = text[i]
                if ch == "\\" and i + 1 < n:
                    buf.append(text[i + 1])
                    if text[i + 1] == "\n":
                        line += 1
                    i += 2
                    continue
                if ch == '"':
                    i += 1
                    break
                if ch == "\n":
                    line += 1
                buf.append(ch)
                i += 1
            out.append(Token("string", "".join(buf).replace("\r\n", "\n").replace("\n", "\r\n"), start_line))
        elif c == ":":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_") and text[j].isascii():
                j += 1
            if j == i + 1:
                raise SieveSyntaxError(line, "':' without a tag name")
            out.append(Token("tag", text[i:j].lower(), line))
            i = j
        elif c.isdigit() and c.isascii():
            j = i
            while j < n and text[j].isdigit() and text[j].isascii():
                j += 1
            value = int(text[i:j])
            if j < n and text[j] in _MULT:
                value *= _MULT[text[j]]
                j += 1
            if value > (1 << 63):
                raise SieveSyntaxError(line, "number too large")
            out.append(Token("number", value, line))
            i = j
        elif (c.isalpha() or c == "_") and c.isascii():
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_") and text[j].isascii():
                j += 1
            word = text[i:j]
            if word.lower() == "text" and j < n and text[j] == ":":
                i, line = _multiline(text, j + 1, line, out)
                continue
            out.append(Token("ident", word.lower(), line))
            i = j
        else:
            raise SieveSyntaxError(line, f"unexpected character {c!r}")
    return out


def _multiline(text: str, i: int, line: int, out: list[Token]) -> tuple[int, int]:
    """``text:`` up to a line holding only ``.``; ``..`` is unstuffed (§2.4.2)."""
    start = line
    n = len(text)
    while i < n and text[i] in " \t\r":
        i += 1
    if i < n and text[i] == "#":
        while i < n and text[i] != "\n":
            i += 1
    if i >= n or text[i] != "\n":
        raise SieveSyntaxError(line, "text: must be followed by a line break")
    i += 1
    line += 1
    lines: list[str] = []
    while True:
        if i >= n:
            raise SieveSyntaxError(start, "unterminated text: string")
        end = text.find("\n", i)
        if end < 0:
            end = n
        raw = text[i:end].rstrip("\r")
        i = end + 1
        line += 1
        if raw == ".":
            break
        lines.append(raw[1:] if raw.startswith("..") else raw)
    out.append(Token("string", "".join(s + "\r\n" for s in lines), start))
    return i, line
