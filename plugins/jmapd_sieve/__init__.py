"""Sieve mail filtering (RFC 5228 and extensions, RFC 9661 JMAP Sieve)."""
