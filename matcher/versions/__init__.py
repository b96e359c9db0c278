"""Version schemes, one module per scheme, and one registry keyed by OSV ecosystem.

``scheme_for("Debian:12")`` splits the release suffix and returns the scheme, or ``None`` for an
ecosystem we have no exact rules for (it is then reported as unsupported, never approximated).
"""

from __future__ import annotations

from matcher.versions.interface import InvalidVersion, VersionScheme

__all__ = ["InvalidVersion", "VersionScheme"]
