"""Hook implementations of the example plugin, and nothing else."""

from __future__ import annotations

from typing import Any

from jmapd import hookimpl
from jmapd.methods.registry import Capability, Method

from .config import NotesConfig
from .types import NOTES, Note, NoteFolder


def _pin_all(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Note/pinAll: a custom method built by calling the engine's /set."""
    from jmapd.methods.standard.set import run_set

    account = ctx.account(args.get("accountId"), NOTES, write=True)
    note = Note()
    ids = list(note.load(ctx, account.id, None, ["pinned"], {}))
    return run_set(note, ctx, account.id, {}, {}, {i: {"pinned": True} for i in ids}, [])


def _sleep(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Example/sleep: a deliberately slow call, to prove one slow request
    does not hold up the same user's other requests."""
    import time

    seconds = min(float(args.get("seconds", 0)), 5.0)
    time.sleep(seconds)
    return {"slept": seconds}


@hookimpl
def jmapd_config_schema() -> tuple[str, type]:
    return ("example", NotesConfig)


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    section = config.section(NotesConfig)
    return [
        Capability(
            NOTES,
            session={"maxNoteSize": section.max_note_size},
            account={"mayCreateFolder": True},
        )
    ]


@hookimpl
def jmapd_data_types(config: Any) -> list[Any]:
    return [Note(config), NoteFolder(config)]


@hookimpl
def jmapd_methods(config: Any) -> list[Method]:
    return [Method("Note/pinAll", _pin_all, NOTES), Method("Example/sleep", _sleep, NOTES)]
