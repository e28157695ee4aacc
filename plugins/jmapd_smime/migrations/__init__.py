"""Migrations of the smime plugin."""
