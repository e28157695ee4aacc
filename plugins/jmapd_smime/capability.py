"""The capability URN (RFC 9219 §3): an empty object in the session and in each account."""

SMIME = "urn:ietf:params:jmap:smimeverify"
MAIL = "urn:ietf:params:jmap:mail"
