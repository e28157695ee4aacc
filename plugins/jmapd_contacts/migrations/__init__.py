"""Schema migrations of the contacts plugin."""
