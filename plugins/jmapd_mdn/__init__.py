"""urn:ietf:params:jmap:mdn: read receipts sent and parsed over JMAP (RFC 9007)."""
