"""Schema migrations of the sieve plugin."""
