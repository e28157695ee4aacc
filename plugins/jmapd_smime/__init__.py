"""S/MIME signature verification (RFC 9219, ``urn:ietf:params:jmap:smimeverify``)."""
