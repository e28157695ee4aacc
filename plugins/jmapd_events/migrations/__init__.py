"""Schema migrations of the events plugin."""
