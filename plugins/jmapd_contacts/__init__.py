"""JMAP for Contacts (RFC 9610) on JSContact cards (RFC 9553, RFC 9982)."""
