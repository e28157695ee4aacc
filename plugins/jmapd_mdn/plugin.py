"""Hook implementations of the mdn plugin, and nothing else."""

from __future__ import annotations

from typing import Any

from jmapd import hookimpl
from jmapd.methods.registry import Capability, Method

from .capability import MAIL, MDN, SUBMISSION
from .parse import mdn_parse
from .send import mdn_send


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    return [Capability(MDN, session={}, account={}, requires=(MAIL, SUBMISSION))]


@hookimpl
def jmapd_methods(config: Any) -> list[Method]:
    return [Method("MDN/send", mdn_send, MDN), Method("MDN/parse", mdn_parse, MDN)]
