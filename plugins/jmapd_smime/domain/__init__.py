"""Verifying S/MIME signatures of stored messages; no JMAP, Falcon or database here."""
