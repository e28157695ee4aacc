"""The ``sieve:`` section of the YAML."""

from __future__ import annotations

from dataclasses import dataclass

from jmapd.config import ConfigError, doc


@dataclass
class SieveConfig:
    max_script_size: int = doc(
        "Largest script in octets (maxSizeScript); a larger blob is refused with tooLarge.", 65536
    )
    max_scripts: int = doc("Scripts an account may hold (maxNumberScripts); one more is overQuota.", 32)
    max_script_name: int = doc(
        "Longest script name in octets (maxSizeScriptName; RFC 9661 asks for at least 512).", 512
    )
    max_actions: int = doc("Actions one run of a script may take before it fails (and keeps the message).", 32)
    max_redirects: int = doc("redirect actions one run may take (maxNumberRedirects).", 4)
    max_include_depth: int = doc("How deep include may nest (RFC 6609); deeper is a runtime error.", 5)
    max_steps: int = doc("Commands and tests one run may evaluate, so no script runs unbounded.", 10000)

    def __post_init__(self) -> None:
        for name in ("max_script_size", "max_scripts", "max_actions", "max_include_depth", "max_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"sieve.{name} must be at least 1")
        if self.max_redirects < 0:
            raise ConfigError("sieve.max_redirects must not be negative")
        if self.max_script_name < 512:  # RFC 9661 §1.2.1: ManageSieve names of 128 characters must fit
            raise ConfigError("sieve.max_script_name must be at least 512")
