"""Pure domain library for mail submission and delivery.

Nothing in this package imports the JMAP server core, Falcon or Peewee: it
holds the rules (RFC 5321 address syntax, RFC 8621 §7 envelope derivation,
the outbound SMTP relay) so they can be tested against real peers in isolation and
wired into JMAP methods by the server plugin.

Modules:

- ``addresses``  -- envelope mailbox syntax and ESMTP parameter validation
- ``headers``    -- minimal, byte-preserving header-section parsing
- ``envelope``   -- JMAP Envelope objects, validation, derivation, Bcc stripping
- ``relay``      -- outbound smarthost SMTP client and retry backoff
"""
