"""urn:ietf:params:jmap:submission: Identity, EmailSubmission and the outbound queue (RFC 8621 §6–7)."""
