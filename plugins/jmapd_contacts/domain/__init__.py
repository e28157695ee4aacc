"""Pure contacts domain library: JSContact and vCard, no server imports.

- ``validate`` — ``validate_card`` (every invalid path of a Card),
  ``apply_patch`` (the PatchObject semantics ``localizations`` uses).
- ``vcard`` — ``parse_vcards`` (cards plus per-card errors with line and
  reason), ``to_vcard``/``to_vcards`` (vCard 4.0 after RFC 9555).
"""
