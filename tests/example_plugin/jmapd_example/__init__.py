"""An example third-party capability: notes in folders (urn:example:notes)."""
