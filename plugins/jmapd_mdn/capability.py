"""The capability URN (RFC 9007 §1.3): an empty object in the session and in each account."""

MDN = "urn:ietf:params:jmap:mdn"
MAIL = "urn:ietf:params:jmap:mail"
SUBMISSION = "urn:ietf:params:jmap:submission"
