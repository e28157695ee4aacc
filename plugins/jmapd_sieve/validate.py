"""SieveScript/validate (RFC 9661 §2.6): check a script without storing it."""

from __future__ import annotations

from typing import Any

from jmapd.methods.standard.args import check_args

from .capability import SIEVE
from .config import SieveConfig
from .script import script_error


def validate_script(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    """The same checks as /set, so a script that validates is one /set stores.

    NOTE(sieve): a blob the account cannot see is answered in ``error`` as the
    ``blobNotFound`` SetError /set would give, not as a method error, so a
    client reads one place for every reason a script cannot be stored.
    """
    args = check_args(args, {"accountId": ("Id", True), "blobId": ("Id", True)}, {})
    account = ctx.account(args["accountId"], SIEVE)
    error = script_error(ctx, account.id, args["blobId"], ctx.config.section(SieveConfig))
    return {"accountId": account.id, "error": error.to_json() if error is not None else None}
