"""Schema migrations of the submission plugin."""
