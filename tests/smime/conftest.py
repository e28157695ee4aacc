"""The test PKI (jmapd_smime.testing) for every S/MIME test."""

from jmapd_smime.testing import pki  # noqa: F401
