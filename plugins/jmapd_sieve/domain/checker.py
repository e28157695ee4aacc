"""Which commands, tests and tags exist, which ``require`` they need, and
whether each use in a script has the right arguments.

Everything is checked before a script is stored (``SieveScript/set`` and
``/validate`` answer ``invalidSieve``), so the interpreter may trust the
shapes it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lexer import SieveSyntaxError
from .parser import Arg, Node, parse

# Extensions this interpreter implements (the capability object lists them).
EXTENSIONS = (
    "fileinto", "reject", "ereject", "envelope", "imap4flags",
    "copy", "body", "variables", "relational", "subaddress", "date", "index", "regex",
    "vacation", "vacation-seconds", "include", "environment", "mailbox",
    "comparator-i;ascii-numeric", "comparator-i;octet", "comparator-i;ascii-casemap",
)

COMPARATORS = ("i;octet", "i;ascii-casemap", "i;ascii-numeric")
RELATIONS = ("gt", "ge", "lt", "le", "eq", "ne")

_MATCH = {":is": None, ":contains": None, ":matches": None, ":regex": "regex",
          ":value": "relational", ":count": "relational"}
_APART = {":localpart": None, ":domain": None, ":all": None, ":user": "subaddress",
          ":detail": "subaddress"}
# tag -> (argument kind or None, extension it needs or None)
_T = dict[str, tuple[str | None, str | None]]


def _group(tags: dict[str, str | None], arg: dict[str, str] | None = None) -> _T:
    return {t: ((arg or {}).get(t), ext) for t, ext in tags.items()}


MATCH_TAGS = _group(_MATCH, {":value": "s", ":count": "s"})
COMP_TAGS: _T = {":comparator": ("s", None)}
APART_TAGS = _group(_APART)
INDEX_TAGS: _T = {":index": ("n", "index"), ":last": (None, "index")}
ZONE_TAGS: _T = {":zone": ("s", "date"), ":originalzone": (None, "date")}
EXCLUSIVE = (set(MATCH_TAGS), set(APART_TAGS), set(ZONE_TAGS),
             {":raw", ":content", ":text"}, {":days", ":seconds"},
             {":personal", ":global"})


@dataclass(frozen=True)
class Spec:
    ext: str | None
    pos: str = ""  # one letter per positional: s string, l string list, n number
    tags: _T = field(default_factory=dict)
    tests: str = "none"  # none, one, many
    block: bool = False
    optional_first: bool = False  # setflag [variable] list


def _merge(*groups: _T) -> _T:
    out: _T = {}
    for g in groups:
        out.update(g)
    return out


_CMP = _merge(MATCH_TAGS, COMP_TAGS)
FLAGS: _T = {":flags": ("l", "imap4flags")}
COMMANDS: dict[str, Spec] = {
    "require": Spec(None, "l"),
    "if": Spec(None, tests="one", block=True),
    "elsif": Spec(None, tests="one", block=True),
    "else": Spec(None, block=True),
    "stop": Spec(None),
    "keep": Spec(None, tags=FLAGS),
    "discard": Spec(None),
    "redirect": Spec(None, "s", {":copy": (None, "copy")}),
    "fileinto": Spec("fileinto", "s", _merge(FLAGS, {":copy": (None, "copy"),
                                                    ":create": (None, "mailbox")})),
    "reject": Spec("reject", "s"),
    "ereject": Spec("ereject", "s"),
    "setflag": Spec("imap4flags", "sl", optional_first=True),
    "addflag": Spec("imap4flags", "sl", optional_first=True),
    "removeflag": Spec("imap4flags", "sl", optional_first=True),
    "set": Spec("variables", "ss", {m: (None, None) for m in (
        ":lower", ":upper", ":lowerfirst", ":upperfirst", ":quotewildcard", ":length")}),
    "vacation": Spec("vacation", "s", {
        ":days": ("n", None), ":seconds": ("n", "vacation-seconds"), ":subject": ("s", None),
        ":from": ("s", None), ":addresses": ("l", None), ":mime": (None, None),
        ":handle": ("s", None)}),
    "include": Spec("include", "s", {":personal": (None, None), ":global": (None, None),
                                     ":once": (None, None), ":optional": (None, None)}),
    "return": Spec("include"),
    "global": Spec("include", "l"),
}
TESTS: dict[str, Spec] = {
    "allof": Spec(None, tests="many"),
    "anyof": Spec(None, tests="many"),
    "not": Spec(None, tests="one"),
    "true": Spec(None),
    "false": Spec(None),
    "exists": Spec(None, "l"),
    "size": Spec(None, "n", {":over": (None, None), ":under": (None, None)}),
    "header": Spec(None, "ll", _merge(_CMP, INDEX_TAGS)),
    "address": Spec(None, "ll", _merge(_CMP, APART_TAGS, INDEX_TAGS)),
    "envelope": Spec("envelope", "ll", _merge(_CMP, APART_TAGS)),
    "body": Spec("body", "l", _merge(_CMP, {":raw": (None, None), ":content": ("l", None),
                                           ":text": (None, None)})),
    "string": Spec("variables", "ll", _CMP),
    "hasflag": Spec("imap4flags", "ll", _CMP, optional_first=True),
    "date": Spec("date", "sll", _merge(_CMP, ZONE_TAGS, INDEX_TAGS)),
    "currentdate": Spec("date", "sl", _merge(_CMP, {":zone": ("s", "date")})),
    "environment": Spec("environment", "sl", _CMP),
    "mailboxexists": Spec("mailbox", "l"),
}
DATE_PARTS = ("year", "month", "day", "date", "julian", "hour", "minute", "second", "time",
              "iso8601", "std11", "zone", "weekday")


def check(text: str) -> list[Node]:
    """Parse and check ``text``; raise :class:`SieveSyntaxError` if invalid."""
    nodes = parse(text)
    required: set[str] = set()
    seen_other = False
    for node in nodes:
        if node.name == "require":
            if seen_other:
                raise SieveSyntaxError(node.line, "require must come before other commands")
            _shape(node, COMMANDS["require"], required, is_test=False)
            for ext in _strings(node.pos[0]):
                if ext not in EXTENSIONS:
                    raise SieveSyntaxError(node.line, f"unsupported extension {ext!r}")
                required.add(ext)
        else:
            seen_other = True
    _check_block(nodes, required, top=True)
    return nodes


def _strings(value: object) -> list[str]:
    assert isinstance(value, list)
    return [str(v) for v in value]


def _check_block(nodes: list[Node], required: set[str], top: bool) -> None:
    prev = ""
    for node in nodes:
        spec = COMMANDS.get(node.name)
        if spec is None:
            raise SieveSyntaxError(node.line, f"unknown command {node.name!r}")
        if node.name == "require" and not top:
            raise SieveSyntaxError(node.line, "require must be at the top level")
        if node.name in ("elsif", "else") and prev not in ("if", "elsif"):
            raise SieveSyntaxError(node.line, f"{node.name} without a preceding if")
        if node.name == "global" and "variables" not in required:
            raise SieveSyntaxError(node.line, "global needs require \"variables\"")
        _shape(node, spec, required, is_test=False)
        for test in node.tests:
            _check_test(test, required)
        if node.block is not None:
            _check_block(node.block, required, top=False)
        prev = node.name


def _check_test(node: Node, required: set[str]) -> None:
    spec = TESTS.get(node.name)
    if spec is None:
        raise SieveSyntaxError(node.line, f"unknown test {node.name!r}")
    _shape(node, spec, required, is_test=True)
    for sub in node.tests:
        _check_test(sub, required)


def _shape(node: Node, spec: Spec, required: set[str], is_test: bool) -> None:
    what = "test" if is_test else "command"
    if spec.ext is not None and spec.ext not in required:
        raise SieveSyntaxError(node.line, f"{what} {node.name!r} needs require \"{spec.ext}\"")
    args = list(node.args)
    i = 0
    positional: list[Arg] = []
    while i < len(args):
        arg = args[i]
        if arg.kind != "tag":
            positional.append(arg)
            i += 1
            continue
        tag = str(arg.value)
        if tag not in spec.tags:
            raise SieveSyntaxError(arg.line, f"unknown tag {tag} for {node.name}")
        if positional:
            raise SieveSyntaxError(arg.line, f"tag {tag} after positional arguments")
        kind, ext = spec.tags[tag]
        if ext is not None and ext not in required:
            raise SieveSyntaxError(arg.line, f"tag {tag} needs require \"{ext}\"")
        if tag in node.tags:
            raise SieveSyntaxError(arg.line, f"tag {tag} given twice")
        for group in EXCLUSIVE:
            if tag in group and group & set(node.tags):
                raise SieveSyntaxError(arg.line, f"tag {tag} conflicts with another tag")
        value: object = True
        if kind is not None:
            if i + 1 >= len(args) or not _fits(args[i + 1].kind, kind):
                raise SieveSyntaxError(arg.line, f"tag {tag} needs a {_NAMES[kind]} argument")
            value = args[i + 1].value
            i += 1
        node.tags[tag] = value
        i += 1
    kinds = spec.pos
    if spec.optional_first and len(positional) == len(kinds) - 1:
        kinds = kinds[1:]
        node.tags["__var"] = None
    if len(positional) != len(kinds):
        raise SieveSyntaxError(node.line, f"{node.name} takes {len(kinds)} positional argument(s), got {len(positional)}")
    for a, kind in zip(positional, kinds, strict=True):
        if not _fits(a.kind, kind):
            raise SieveSyntaxError(node.line, f"{node.name} needs a {_NAMES[kind]} here")
        node.pos.append(a.value)
    if spec.tests == "none" and node.tests:
        raise SieveSyntaxError(node.line, f"{node.name} takes no test")
    if spec.tests == "one" and len(node.tests) != 1:
        raise SieveSyntaxError(node.line, f"{node.name} needs exactly one test")
    if spec.tests == "many" and not node.tests:
        raise SieveSyntaxError(node.line, f"{node.name} needs a test list")
    if spec.block and node.block is None:
        raise SieveSyntaxError(node.line, f"{node.name} needs a block")
    if not spec.block and node.block is not None:
        raise SieveSyntaxError(node.line, f"{node.name} takes no block")
    _check_values(node)


_NAMES = {"s": "string", "l": "string list", "n": "number"}


def _fits(kind: str, want: str) -> bool:
    return {"s": kind == "string", "l": kind in ("string", "list"), "n": kind == "number"}[want]


def _check_values(node: Node) -> None:
    comp = node.tags.get(":comparator")
    if comp is not None and _strings(comp)[0].lower() not in COMPARATORS:
        raise SieveSyntaxError(node.line, f"unknown comparator {_strings(comp)[0]!r}")
    for rel in (":value", ":count"):
        if rel in node.tags and _strings(node.tags[rel])[0].lower() not in RELATIONS:
            raise SieveSyntaxError(node.line, f"unknown relation for {rel}")
    if node.name == "size" and len(set(node.tags) & {":over", ":under"}) != 1:
        raise SieveSyntaxError(node.line, "size needs exactly one of :over or :under")
    if node.name in ("date", "currentdate"):
        part = _strings(node.pos[-2])[0].lower()
        if part not in DATE_PARTS:
            raise SieveSyntaxError(node.line, f"unknown date part {part!r}")
    if ":last" in node.tags and ":index" not in node.tags:
        raise SieveSyntaxError(node.line, ":last needs :index")
    if ":regex" in node.tags and "${" not in "".join(_all_keys(node)):
        import re

        from .matching import unsafe_regex

        for key in _all_keys(node):
            try:
                re.compile(key)
            except re.error as exc:
                raise SieveSyntaxError(node.line, f"bad regex {key!r}: {exc}") from None
            if unsafe_regex(key):
                raise SieveSyntaxError(node.line, f"regex {key!r} may backtrack without bound (nested repetition)")


def _all_keys(node: Node) -> list[str]:
    return _strings(node.pos[-1]) if node.pos else []
