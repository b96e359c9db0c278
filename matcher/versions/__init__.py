"""Version schemes, one module per scheme, and one registry keyed by OSV ecosystem.

``scheme_for("Debian:12")`` splits the release suffix and returns the scheme, or ``None`` for an
ecosystem we have no exact rules for (it is then reported as unsupported, never approximated).
``version_key`` and ``compare`` are conveniences over it; see ``registry`` for the "0" rule and caching.
"""

from __future__ import annotations

from matcher.versions.interface import InvalidVersion, VersionScheme
from matcher.versions.registry import (
    ECOSYSTEM_SCHEMES,
    SCHEMES,
    SUPPORTED,
    UNSUPPORTED,
    OsvVersions,
    UnsupportedEcosystem,
    base_ecosystem,
    compare,
    scheme_for,
    version_key,
)

__all__ = [
    "ECOSYSTEM_SCHEMES",
    "SCHEMES",
    "SUPPORTED",
    "UNSUPPORTED",
    "InvalidVersion",
    "OsvVersions",
    "UnsupportedEcosystem",
    "VersionScheme",
    "base_ecosystem",
    "compare",
    "scheme_for",
    "version_key",
]
