"""What a script run decides: the actions, in order, for the delivery code
to carry out. Running a script has no side effects of its own."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Keep:
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileInto:
    mailbox: str
    flags: tuple[str, ...] = ()
    create: bool = False


@dataclass(frozen=True)
class Redirect:
    address: str


@dataclass(frozen=True)
class Reject:
    reason: str
    extended: bool = False  # ereject: refuse in the SMTP/LMTP dialogue if possible


@dataclass(frozen=True)
class Vacation:
    reason: str
    seconds: int
    subject: str | None = None
    from_: str | None = None
    addresses: tuple[str, ...] = ()
    mime: bool = False
    handle: str = ""


@dataclass(frozen=True)
class Discard:
    pass


Action = Keep | FileInto | Redirect | Reject | Vacation | Discard


@dataclass
class Limits:
    """Bounds on one run, so a hostile script costs a known amount."""

    max_steps: int = 10_000  # commands and tests evaluated, includes counted
    max_actions: int = 32
    max_redirects: int = 4
    max_include_depth: int = 5
    max_includes: int = 16
    max_variable_size: int = 4096
    max_variables: int = 256
    max_script_size: int = 65536


@dataclass
class Result:
    """``actions`` as decided; ``error`` is set when the run failed, in which
    case the actions are the implicit keep only (RFC 5228 §2.10.6)."""

    actions: list[Action] = field(default_factory=list)
    error: str | None = None
