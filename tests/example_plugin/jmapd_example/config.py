"""The `example:` section of the YAML."""

from dataclasses import dataclass

from jmapd.config import doc


@dataclass
class NotesConfig:
    max_note_size: int = doc("Largest note body, in characters.", 100_000)
