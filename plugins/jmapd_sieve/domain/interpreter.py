"""Runs a checked script against one message and decides the actions.

Sieve has no loops, so a script's cost is bounded by its size; what needs
bounding are ``include`` chains, variables growing by concatenation and the
number of actions. Every bound is a :class:`~.actions.Limits` field and
breaking one is a runtime error: the run ends with the implicit keep and the
error recorded (RFC 5228 §2.10.6), so mail is never lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .actions import (
    Action,
    Discard,
    FileInto,
    Keep,
    Limits,
    Redirect,
    Reject,
    Result,
    Vacation,
)
from .checker import check
from .conditions import evaluate
from .lexer import SieveSyntaxError
from .matching import match, relate, unsafe_regex
from .message import MessageView
from .parser import Node

MAX_EXPANDED = 65536
_VAR = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")

# include's loader: (name, is_global) -> script text, or None when there is none
Loader = Callable[[str, bool], "str | None"]


class SieveRuntimeError(Exception):
    pass


class _Stop(Exception):
    pass


class _Return(Exception):
    pass


@dataclass
class Frame:
    """One script's namespace (RFC 5229 variables are per script, RFC 6609
    ``global`` names are shared)."""

    name: str
    required: set[str]
    variables: dict[str, str] = field(default_factory=dict)
    globals_: set[str] = field(default_factory=set)
    match_vars: list[str] = field(default_factory=list)


@dataclass
class Envelope:
    mail_from: str = ""
    rcpt_to: str = ""


class Runtime:
    """One run; create a new one per message."""

    def __init__(
        self,
        message: MessageView,
        envelope: Envelope,
        *,
        environment: dict[str, str] | None = None,
        limits: Limits | None = None,
        loader: Loader | None = None,
        mailbox_exists: Callable[[str], bool] | None = None,
        now: datetime | None = None,
    ) -> None:
        self.message = message
        self.envelope = envelope
        self.environment = environment or {}
        self.limits = limits or Limits()
        self.loader = loader
        self.mailbox_exists = mailbox_exists or (lambda name: name.upper() == "INBOX")
        self.now = now or datetime.now(UTC)
        self.actions: list[Action] = []
        self.implicit_keep = True
        self.flags: list[str] = []
        self.steps = 0
        self.redirects = 0
        self.includes = 0
        self.stack: list[str] = []
        self.once: set[str] = set()
        self.global_vars: dict[str, str] = {}

    # -- running -----------------------------------------------------------
    def run(self, nodes: list[Node], name: str = "") -> Result:
        try:
            try:
                self._script(nodes, name)
            except _Stop:
                pass
            return Result(actions=self._final())
        except SieveRuntimeError as exc:
            return Result(actions=[Keep()], error=str(exc))

    def _final(self) -> list[Action]:
        acts = list(self.actions)
        if self.implicit_keep:
            acts.append(Keep(tuple(self.flags)))
        out: list[Action] = []
        seen: set[object] = set()
        for act in acts:
            key: object = act
            if isinstance(act, Keep):
                key = "keep"
            elif isinstance(act, FileInto):
                key = ("fileinto", act.mailbox)
            elif isinstance(act, Redirect):
                key = ("redirect", act.address.lower())
            if key in seen:
                continue
            seen.add(key)
            out.append(act)
        return out

    def _script(self, nodes: list[Node], name: str) -> None:
        required: set[str] = set()
        for node in nodes:
            if node.name == "require":
                required.update(str(s) for s in node.pos[0])  # type: ignore[attr-defined]
        frame = Frame(name, required)
        self.stack.append(name)
        try:
            self._block(nodes, frame)
        except _Return:
            pass
        finally:
            self.stack.pop()

    def _tick(self) -> None:
        self.steps += 1
        if self.steps > self.limits.max_steps:
            raise SieveRuntimeError("script ran too long")

    def _block(self, nodes: list[Node], frame: Frame) -> None:
        last: bool | None = None  # result of the if/elsif chain so far
        for node in nodes:
            self._tick()
            name = node.name
            if name == "if":
                last = evaluate(self, frame, node.tests[0])
                if last:
                    self._block(node.block or [], frame)
                continue
            if name in ("elsif", "else"):
                if last:
                    continue
                last = True if name == "else" else evaluate(self, frame, node.tests[0])
                if last:
                    self._block(node.block or [], frame)
                continue
            last = None
            self._command(node, frame)

    # -- strings and variables ---------------------------------------------
    def expand(self, frame: Frame, s: str) -> str:
        if "variables" not in frame.required or "${" not in s:
            return s

        def sub(m: re.Match[str]) -> str:
            key = m.group(1)
            if key.isdigit():
                i = int(key)
                return frame.match_vars[i] if i < len(frame.match_vars) else ""
            if "." in key:
                return m.group(0)
            return self.get_var(frame, key.lower())

        return _VAR.sub(sub, s)[:MAX_EXPANDED]

    def strings(self, frame: Frame, value: object) -> list[str]:
        assert isinstance(value, list)
        return [self.expand(frame, str(v)) for v in value]

    def string(self, frame: Frame, value: object) -> str:
        return self.strings(frame, value)[0]

    def get_var(self, frame: Frame, name: str) -> str:
        if name in frame.globals_:
            return self.global_vars.get(name, "")
        return frame.variables.get(name, "")

    def set_var(self, frame: Frame, name: str, value: str) -> None:
        value = value[: self.limits.max_variable_size]
        target = self.global_vars if name in frame.globals_ else frame.variables
        if name not in target and len(frame.variables) + len(self.global_vars) >= self.limits.max_variables:
            raise SieveRuntimeError("too many variables")
        target[name] = value

    # -- actions -------------------------------------------------------------
    def _add(self, act: Action) -> None:
        if len(self.actions) >= self.limits.max_actions:
            raise SieveRuntimeError("too many actions")
        rejecting = any(isinstance(a, Reject) for a in self.actions + [act])
        others = any(isinstance(a, Keep | FileInto | Redirect | Vacation) for a in self.actions + [act])
        if rejecting and others:
            raise SieveRuntimeError("reject cannot be combined with keep, fileinto, redirect or vacation")
        if isinstance(act, Vacation) and any(isinstance(a, Vacation) for a in self.actions):
            raise SieveRuntimeError("only one vacation action per run")
        self.actions.append(act)

    def _flag_list(self, frame: Frame, value: object) -> list[str]:
        out: list[str] = []
        for s in self.strings(frame, value):
            for flag in s.split():
                if flag.lower() not in (f.lower() for f in out):
                    out.append(flag)
        return out

    def _current_flags(self, frame: Frame, node: Node) -> tuple[str, ...]:
        if ":flags" in node.tags:
            return tuple(self._flag_list(frame, node.tags[":flags"]))
        return tuple(self.flags)

    def flag_var(self, frame: Frame, node: Node) -> str | None:
        if "__var" in node.tags:
            return None
        return self.string(frame, node.pos[0]).lower()

    def read_flags(self, frame: Frame, var: str | None) -> list[str]:
        if var is None:
            return list(self.flags)
        return self.get_var(frame, var).split()

    def _command(self, node: Node, frame: Frame) -> None:
        name = node.name
        if name == "require":
            return
        if name == "stop":
            raise _Stop
        if name == "keep":
            self._add(Keep(self._current_flags(frame, node)))
            self.implicit_keep = False
        elif name == "discard":
            self.implicit_keep = False
            self.actions.append(Discard())
        elif name == "fileinto":
            box = self.string(frame, node.pos[0])
            self._add(FileInto(box, self._current_flags(frame, node), ":create" in node.tags))
            if ":copy" not in node.tags:
                self.implicit_keep = False
        elif name == "redirect":
            addr = self.string(frame, node.pos[0]).strip()
            if "@" not in addr or any(c in addr for c in "\r\n<>, "):
                raise SieveRuntimeError(f"redirect to an invalid address {addr!r}")
            self.redirects += 1
            if self.redirects > self.limits.max_redirects:
                raise SieveRuntimeError("too many redirects")
            self._add(Redirect(addr))
            if ":copy" not in node.tags:
                self.implicit_keep = False
        elif name in ("reject", "ereject"):
            self._add(Reject(self.string(frame, node.pos[0]), name == "ereject"))
            self.implicit_keep = False
        elif name in ("setflag", "addflag", "removeflag"):
            self._flags(node, frame)
        elif name == "set":
            self._set(node, frame)
        elif name == "vacation":
            self._vacation(node, frame)
        elif name == "include":
            self._include(node, frame)
        elif name == "return":
            raise _Return
        elif name == "global":
            for var in self.strings(frame, node.pos[0]):
                frame.globals_.add(var.lower())
        else:  # the checker lets nothing else through
            raise SieveRuntimeError(f"unknown command {name}")

    def _flags(self, node: Node, frame: Frame) -> None:
        var = self.flag_var(frame, node)
        given = self._flag_list(frame, node.pos[-1])
        current = self.read_flags(frame, var)
        if node.name == "setflag":
            new = given
        elif node.name == "addflag":
            new = current + [f for f in given if f.lower() not in {c.lower() for c in current}]
        else:
            drop = {f.lower() for f in given}
            new = [f for f in current if f.lower() not in drop]
        if var is None:
            self.flags = new
        else:
            self.set_var(frame, var, " ".join(new))

    def _set(self, node: Node, frame: Frame) -> None:
        name = self.string(frame, node.pos[0]).lower()
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise SieveRuntimeError(f"bad variable name {name!r}")
        value = self.string(frame, node.pos[1])
        tags = node.tags
        if ":lower" in tags:
            value = value.lower()
        if ":upper" in tags:
            value = value.upper()
        if ":lowerfirst" in tags:
            value = value[:1].lower() + value[1:]
        if ":upperfirst" in tags:
            value = value[:1].upper() + value[1:]
        if ":quotewildcard" in tags:
            value = re.sub(r"([*?\\])", r"\\\1", value)
        if ":length" in tags:
            value = str(len(value))
        self.set_var(frame, name, value)

    def _vacation(self, node: Node, frame: Frame) -> None:
        tags = node.tags
        if ":seconds" in tags:
            seconds = int(tags[":seconds"])  # type: ignore[call-overload]
        else:
            days = int(tags.get(":days", 7))  # type: ignore[call-overload]
            seconds = max(1, days) * 86400
        seconds = min(seconds, 365 * 86400)
        subject = self.string(frame, tags[":subject"]) if ":subject" in tags else None
        from_ = self.string(frame, tags[":from"]) if ":from" in tags else None
        addresses = tuple(self.strings(frame, tags[":addresses"])) if ":addresses" in tags else ()
        handle = self.string(frame, tags[":handle"]) if ":handle" in tags else ""
        reason = self.string(frame, node.pos[0])
        self._add(Vacation(reason, seconds, subject, from_, addresses, ":mime" in tags, handle))

    def _include(self, node: Node, frame: Frame) -> None:
        name = self.string(frame, node.pos[0])
        is_global = ":global" in node.tags
        key = ("global:" if is_global else "personal:") + name
        if ":once" in node.tags and key in self.once:
            return
        if key in self.stack:
            raise SieveRuntimeError(f"include of {name!r} is recursive")
        if len(self.stack) >= self.limits.max_include_depth:
            raise SieveRuntimeError("includes nested too deeply")
        self.includes += 1
        if self.includes > self.limits.max_includes:
            raise SieveRuntimeError("too many includes")
        text = self.loader(name, is_global) if self.loader else None
        if text is None:
            if ":optional" in node.tags:
                return
            raise SieveRuntimeError(f"included script {name!r} does not exist")
        if len(text.encode()) > self.limits.max_script_size:
            raise SieveRuntimeError(f"included script {name!r} is too large")
        try:
            nodes = check(text)
        except SieveSyntaxError as exc:
            raise SieveRuntimeError(f"included script {name!r}: {exc}") from None
        self.once.add(key)
        try:
            self._script(nodes, key)
        except _Return:
            pass

    # -- shared helpers for tests -----------------------------------------
    def compare(self, frame: Frame, node: Node, subjects: list[str], keys: list[str],
                count_empty: bool = True) -> bool:
        comp = str(self.string(frame, node.tags[":comparator"])).lower() if ":comparator" in node.tags else "i;ascii-casemap"
        if ":count" in node.tags:
            rel = self.string(frame, node.tags[":count"]).lower()
            n = len(subjects) if count_empty else len([s for s in subjects if s != ""])
            return any(relate("i;ascii-numeric", rel, str(n), k) for k in keys)
        if ":value" in node.tags:
            rel = self.string(frame, node.tags[":value"]).lower()
            return any(relate(comp, rel, s, k) for s in subjects for k in keys)
        mtype = next((t for t in (":is", ":contains", ":matches", ":regex") if t in node.tags), ":is")
        for s in subjects:
            for k in keys:
                self._tick()
                if mtype == ":regex" and unsafe_regex(k):
                    raise SieveRuntimeError(f"regex {k[:64]!r} may backtrack without bound")
                caps = match(mtype, comp, s, k)
                if caps is not None:
                    if mtype in (":matches", ":regex") and "variables" in frame.required:
                        frame.match_vars = caps
                    return True
        return False


def run_script(text: str, raw: bytes, envelope: Envelope, **kwargs: object) -> Result:
    """Check and run ``text``: the convenience the tests and delivery use.

    A script that does not check (it was stored before a server upgrade, say)
    is a runtime error: implicit keep and the error recorded.
    """
    try:
        nodes = check(text)
    except SieveSyntaxError as exc:
        return Result(actions=[Keep()], error=str(exc))
    rt = Runtime(MessageView(raw), envelope, **kwargs)  # type: ignore[arg-type]
    return rt.run(nodes)
