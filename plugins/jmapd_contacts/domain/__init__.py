"""Pure contacts domain library: JSContact validation, no server imports.

- ``validate`` — ``validate_card`` (every invalid path of a Card),
  ``apply_patch`` (the PatchObject semantics ``localizations`` uses).
"""
