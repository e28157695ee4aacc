"""RFC 5228 §8.2 grammar into a small tree of :class:`Node` objects.

Depth of nesting is bounded here (blocks and test lists) so a hostile
script cannot exhaust Python's stack while parsing or running.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lexer import SieveSyntaxError, Token, tokenize

MAX_NESTING = 32


@dataclass
class Arg:
    kind: str  # "tag", "number", "string" (one string) or "list" (a string list)
    value: object
    line: int


@dataclass
class Node:
    """A command or a test; the checker fills ``tags`` and ``pos``."""

    name: str
    line: int
    args: list[Arg] = field(default_factory=list)
    tests: list[Node] = field(default_factory=list)
    block: list[Node] | None = None
    tags: dict[str, object] = field(default_factory=dict)
    pos: list[object] = field(default_factory=list)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def line(self) -> int:
        tok = self.peek()
        if tok is not None:
            return tok.line
        return self.toks[-1].line if self.toks else 1

    def take(self, kind: str) -> Token:
        tok = self.peek()
        if tok is None or tok.kind != kind:
            found = "end of script" if tok is None else repr(tok.value)
            raise SieveSyntaxError(self.line(), f"expected {kind!r}, found {found}")
        self.i += 1
        return tok

    def commands(self, depth: int, in_block: bool) -> list[Node]:
        if depth > MAX_NESTING:
            raise SieveSyntaxError(self.line(), "blocks nested too deeply")
        out: list[Node] = []
        while True:
            tok = self.peek()
            if tok is None:
                if in_block:
                    raise SieveSyntaxError(self.line(), "missing '}'")
                return out
            if tok.kind == "}" and in_block:
                return out
            out.append(self.command(depth))

    def command(self, depth: int) -> Node:
        name = self.take("ident")
        node = Node(str(name.value), name.line)
        node.args = self.arguments()
        tok = self.peek()
        if tok is not None and tok.kind == "(":
            node.tests = self.test_list(depth)
        elif tok is not None and tok.kind == "ident":
            node.tests = [self.test(depth)]
        tok = self.peek()
        if tok is not None and tok.kind == "{":
            self.i += 1
            node.block = self.commands(depth + 1, True)
            self.take("}")
        else:
            self.take(";")
        return node

    def arguments(self) -> list[Arg]:
        args: list[Arg] = []
        while True:
            tok = self.peek()
            if tok is None:
                return args
            if tok.kind == "tag":
                args.append(Arg("tag", tok.value, tok.line))
            elif tok.kind == "number":
                args.append(Arg("number", tok.value, tok.line))
            elif tok.kind == "string":
                args.append(Arg("string", [tok.value], tok.line))
            elif tok.kind == "[":
                args.append(Arg("list", self.string_list(), tok.line))
                continue
            else:
                return args
            self.i += 1

    def string_list(self) -> list[str]:
        self.take("[")
        items = [str(self.take("string").value)]
        while self.peek() is not None and self.toks[self.i].kind == ",":
            self.i += 1
            items.append(str(self.take("string").value))
        self.take("]")
        return items

    def test_list(self, depth: int) -> list[Node]:
        self.take("(")
        tests = [self.test(depth + 1)]
        while self.peek() is not None and self.toks[self.i].kind == ",":
            self.i += 1
            tests.append(self.test(depth + 1))
        self.take(")")
        return tests

    def test(self, depth: int) -> Node:
        if depth > MAX_NESTING:
            raise SieveSyntaxError(self.line(), "tests nested too deeply")
        name = self.take("ident")
        node = Node(str(name.value), name.line)
        node.args = self.arguments()
        tok = self.peek()
        if tok is not None and tok.kind == "(":
            node.tests = self.test_list(depth)
        elif tok is not None and tok.kind == "ident":
            node.tests = [self.test(depth + 1)]
        return node


def parse(text: str) -> list[Node]:
    """Parse a whole script (not yet checked against the known commands)."""
    return _Parser(tokenize(text)).commands(0, False)
