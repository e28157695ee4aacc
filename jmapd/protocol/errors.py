"""The three levels of JMAP error (RFC 8620 §3.6) as exceptions.

Raising is the one way code deeper in the stack reports a JMAP error; the
dispatcher and the /set engine turn them into the right wire shape, so a
handler never builds an error response by hand.
"""

from __future__ import annotations

from typing import Any

PROBLEM_PREFIX = "urn:ietf:params:jmap:error:"


class RequestError(Exception):
    """A request-level error, answered as RFC 7807 problem details."""

    def __init__(self, type_: str, detail: str, status: int = 400, **extra: Any) -> None:
        super().__init__(detail)
        self.type = type_ if ":" in type_ else PROBLEM_PREFIX + type_
        self.detail = detail
        self.status = status
        self.extra = extra

    def to_problem(self) -> dict[str, Any]:
        return {"type": self.type, "status": self.status, "detail": self.detail, **self.extra}


class MethodError(Exception):
    """A method-level error: the call answers ``["error", {...}, id]``."""

    def __init__(self, type_: str, description: str | None = None, **extra: Any) -> None:
        super().__init__(description or type_)
        self.type = type_
        self.description = description
        self.extra = extra

    def to_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"type": self.type}
        if self.description:
            args["description"] = self.description
        args.update(self.extra)
        return args


class SetError(Exception):
    """A per-object error of /set, /copy or a type's own create-like methods."""

    def __init__(
        self,
        type_: str,
        description: str | None = None,
        properties: list[str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(description or type_)
        self.type = type_
        self.description = description
        self.properties = properties
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.description:
            out["description"] = self.description
        if self.properties is not None:
            out["properties"] = self.properties
        out.update(self.extra)
        return out


def invalid_properties(*paths: str, description: str | None = None) -> SetError:
    """The common SetError naming the exact property paths at fault."""
    paths_list = list(dict.fromkeys(paths))
    return SetError(
        "invalidProperties",
        description or "Invalid value for: " + ", ".join(paths_list),
        properties=paths_list,
    )


class PropertyProblems:
    """Every invalid property of one object, gathered before refusing it.

    RFC 8620 §5.3: the invalidProperties SetError SHOULD list all the
    invalid properties, so a check adds what it found here and goes on,
    and the object is refused once, by :meth:`check`.
    """

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.descriptions: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.paths)

    def add(self, path: str, description: str | None = None) -> None:
        if path not in self.paths:
            self.paths.append(path)
            if description:
                self.descriptions.append(f"{path}: {description}")

    def absorb(self, error: SetError) -> bool:
        """Take the paths of an invalidProperties error; False for any other error."""
        if error.type != "invalidProperties" or not error.properties:
            return False
        for path in error.properties:
            self.add(path)
        if error.description and not error.description.startswith("Invalid value for: "):
            self.descriptions.append(error.description)
        return True

    def error(self) -> SetError:
        return invalid_properties(*self.paths, description="; ".join(self.descriptions) or None)

    def check(self) -> None:
        """Refuse the object if anything was found."""
        if self.paths:
            raise self.error()
