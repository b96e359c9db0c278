"""Package identity as the matcher sees it: an OSV ecosystem, a normalized name and a version."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PackageRef:
    """A deployed package version, keyed the way advisories key them.

    ``ecosystem`` is the OSV ecosystem with its release suffix where it has one (``PyPI``,
    ``Debian:12``, ``Alpine:v3.18``); ``name`` is normalized per ecosystem; ``purl`` is the canonical
    package URL without qualifiers that do not change identity.
    """

    ecosystem: str
    name: str
    version: str
    purl: str


@dataclass(frozen=True, slots=True)
class NotAssessable:
    """Why a component cannot be matched: a value that travels with results, never an exception."""

    reason: str
    detail: str = ""

    # Stable reason codes; reports group by them.
    NO_PURL = "no-purl"
    INVALID_PURL = "invalid-purl"
    NO_VERSION = "no-version"
    UNSUPPORTED_ECOSYSTEM = "unsupported-ecosystem"
    INVALID_VERSION = "invalid-version"
    # A name, version, purl or ecosystem longer than patchgap stores (``core.text``): kept truncated.
    TOO_LONG = "too-long"
