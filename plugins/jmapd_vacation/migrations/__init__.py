"""Schema migrations of the vacation plugin."""
