"""Every command the operator guide and the README show is one jmapd takes
(#10): each complete command line of their literal blocks is parsed by the
real command-line parser, plugin commands included, so a renamed command
or option cannot leave the docs behind."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from jmapd.cli import build_parser
from jmapd.plugins import make_plugin_manager

ROOT = Path(__file__).parent.parent.parent


def documented_commands() -> list[tuple[str, str]]:
    out = []
    for doc in (ROOT / "docs" / "operator.rst", ROOT / "README.md"):
        # a command continued with a backslash is one line
        for line in doc.read_text().replace("\\\n", " ").splitlines():
            stripped = line.strip()
            # a command line of a literal block: indented (rst) or in a ```sh fence (README)
            if stripped.startswith("jmapd unix "):  # Postfix master.cf: a transport named jmapd
                continue
            if re.match(r"^(\.venv/bin/)?jmapd (--|[a-z])", stripped) and line != stripped.lstrip() or (
                doc.suffix == ".md" and stripped.startswith("jmapd --config")
            ):
                out.append((doc.name, stripped))
    return out


def parser() -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    make_plugin_manager(None).hook.jmapd_commands(subparsers=sub)
    return parser


def argv(command: str) -> list[str]:
    """The arguments of a documented line: shell substitutions become a value,
    a synopsis's optional parts (``[--user NAME]``) are given."""
    command = re.sub(r"\$\([^)]*\)", "VALUE", command)
    command = command.replace("[", " ").replace("]", " ")
    words = shlex.split(command, comments=True)
    for cut in ("|", "<", ">"):  # a synopsis's alternatives (the first) or the shell's redirections
        if cut in words:
            words = words[: words.index(cut)]
    # placeholders (ID, NAME, ID...) stand for a value; 1 is a valid id and name
    return ["1" if re.fullmatch(r"[A-Z][A-Z_]*(\.\.\.)?", w) else w for w in words[1:]]  # without "jmapd"


def test_the_docs_show_commands() -> None:
    commands = documented_commands()
    assert len(commands) >= 30, commands  # the guide's blocks are found at all
    assert any("backup" in c for _, c in commands) and any("queue list" in c for _, c in commands)


@pytest.mark.parametrize("doc,command", documented_commands())
def test_documented_command_parses(doc: str, command: str) -> None:
    try:
        parser().parse_args(argv(command))
    except SystemExit as exc:
        pytest.fail(f"{doc}: `{command}` is not a jmapd command line (exit {exc.code})")
