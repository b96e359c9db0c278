"""The registry: OSV ecosystem name → version scheme, plus the one place that handles "0" and errors.

``scheme_for("Debian:12")`` splits the release suffix (``Ubuntu:Pro:22.04:LTS``,
``Packagist:https://…``, ``Red Hat:enterprise_linux:9::appstream`` …) and returns an ``OsvVersions``
wrapper, or ``None`` for an ecosystem we know but have no exact rules for (``UNSUPPORTED``) and for
names we do not know at all. The wrapper

* rejects empty strings and strings with whitespace or control characters for every scheme;
* turns any ``ValueError`` a scheme raises into ``InvalidVersion`` naming the scheme;
* maps ``"0"`` (OSV's ``introduced: "0"``, "from the start") to a key below every other key, as
  osv.dev's ``VersionKey`` does — so in OSV order ``0`` precedes ``0.0.0-alpha`` even where the
  ecosystem itself would rank them differently (Maven: ``0`` = ``0.0.0``);
* caches keys per (scheme, string) in one bounded LRU cache, because parsing dominates matching.

Wrapped keys are ``(0,)`` for "0" and ``(1, scheme_key)`` otherwise. Use the scheme modules directly
(``SCHEMES``) when the ecosystem's own order is wanted, as the ordering fixtures do.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

from matcher.versions.apk import ApkScheme
from matcher.versions.cran import CranScheme
from matcher.versions.dpkg import DpkgScheme, OpamScheme
from matcher.versions.hackage import HackageScheme
from matcher.versions.interface import ChainGuard, InvalidVersion, VersionScheme
from matcher.versions.maven import MavenScheme
from matcher.versions.nuget import NuGetScheme
from matcher.versions.packagist import PackagistScheme
from matcher.versions.pub import PubScheme
from matcher.versions.pypi import PyPIScheme
from matcher.versions.rpm import RpmScheme
from matcher.versions.rubygems import RubyGemsScheme
from matcher.versions.semver import SemverScheme

#: One instance per scheme; several ecosystems share one.
SCHEMES: Final[dict[str, VersionScheme]] = {
    "apk": ApkScheme(),
    "cran": CranScheme(),
    "dpkg": DpkgScheme(),
    "hackage": HackageScheme(),
    "maven": MavenScheme(),
    "nuget": NuGetScheme(),
    "opam": OpamScheme(),
    "packagist": PackagistScheme(),
    "pub": PubScheme(),
    "pypi": PyPIScheme(),
    "rpm": RpmScheme(),
    "rubygems": RubyGemsScheme(),
    "semver": SemverScheme(),
}

#: OSV ecosystem (without suffix) → scheme id. Every name of the OSV schema's ecosystems.json is
#: either here or in UNSUPPORTED.
ECOSYSTEM_SCHEMES: Final[dict[str, str]] = {
    "PyPI": "pypi",
    "npm": "semver",
    "crates.io": "semver",
    "Go": "semver",
    "Hex": "semver",
    "SwiftURL": "semver",  # the schema: tags that conform to SemVer 2.0
    "Bitnami": "semver",  # osv.dev orders Bitnami with SemVer
    "Pub": "pub",
    "Maven": "maven",
    "NuGet": "nuget",
    "RubyGems": "rubygems",
    "Packagist": "packagist",
    "Debian": "dpkg",
    "Ubuntu": "dpkg",
    "Echo": "dpkg",  # Debian-based; osv.dev: DPKG
    "opam": "opam",  # opam's manual: versions compare with the Debian algorithm on the whole string
    "Alpine": "apk",
    "Alpaquita": "apk",
    "BellSoft Hardened Containers": "apk",
    "Chainguard": "apk",
    "MinimOS": "apk",
    "Wolfi": "apk",
    "Red Hat": "rpm",
    "AlmaLinux": "rpm",
    "Rocky Linux": "rpm",
    "SUSE": "rpm",
    "openSUSE": "rpm",
    "Mageia": "rpm",
    "openEuler": "rpm",
    "Azure Linux": "rpm",  # tdnf/rpm EVRs
    "Photon OS": "rpm",  # tdnf/rpm EVRs
    "CRAN": "cran",
    "Bioconductor": "cran",  # R packages: package_version order
    "Hackage": "hackage",
    "GHC": "hackage",
}

#: Known to OSV, but no exact version order implemented: matching reports them as unsupported.
UNSUPPORTED: Final[frozenset[str]] = frozenset(
    {
        "Android",  # versions are git/AOSP release labels, GIT ranges
        "ConanCenter",  # Conan's own loose version order
        "CleanStart",  # mixed distribution formats, no published order
        "Docker Hardened Images",  # per-image mix of distribution and upstream versions
        "FreeBSD",  # pkg(8) version order not implemented
        "GIT",  # commits, not versions
        "GitHub Actions",  # tags and SHAs
        "Julia",  # VersionNumber orders build metadata, not implemented
        "Kubernetes",
        "Linux",  # kernel ranges are GIT ranges
        "OSS-Fuzz",  # GIT ranges
        "Root",  # per-variant formats (…-rN, +root.io.N, .root.io.N) on top of several ecosystems
        "TuxCare",  # spans several distributions' formats
        "VSCode",  # osv.dev uses a loose "SemVer-like" order
    }
)

SUPPORTED: Final[frozenset[str]] = frozenset(ECOSYSTEM_SCHEMES)

_ZERO_KEY: Final = (0,)


class UnsupportedEcosystem(LookupError):
    """The ecosystem has no exact version order here (or is unknown)."""


def base_ecosystem(ecosystem: str) -> str:
    """``Debian:12`` → ``Debian``; ``Red Hat:enterprise_linux:9::appstream`` → ``Red Hat``."""
    return ecosystem.split(":", 1)[0].strip()


@lru_cache(maxsize=2**18)
def _cached_key(scheme_id: str, version: str) -> tuple[Any, ...] | InvalidVersion:
    # Exceptions are not cached by lru_cache, so an invalid version is cached as a value.
    if not version or not version.isprintable() or " " in version:
        return InvalidVersion(f"{SCHEMES[scheme_id].name}: not a version: {version!r}")
    if version == "0":
        return _ZERO_KEY
    try:
        return (1, SCHEMES[scheme_id].key(version))
    except ValueError as error:  # InvalidVersion, and the libraries' own ValueErrors
        return InvalidVersion(f"{SCHEMES[scheme_id].name}: invalid version {version!r} ({error})")
    except (TypeError, IndexError, RecursionError) as error:
        return InvalidVersion(f"{SCHEMES[scheme_id].name}: unparsable version {version!r} ({error})")


class OsvVersions:
    """A scheme as OSV range evaluation needs it: cached, "0" first, one error type."""

    def __init__(self, scheme_id: str) -> None:
        self.scheme_id = scheme_id
        self.name = SCHEMES[scheme_id].name

    def key(self, version: str) -> tuple[Any, ...]:
        result = _cached_key(self.scheme_id, version)
        if isinstance(result, InvalidVersion):
            raise result
        return result

    def chain_guard(self) -> ChainGuard | None:
        """A guard for sets of this wrapper's keys, or ``None`` when every set of them is a chain
        (tuple keys: the scheme's order is total). See ``interface.ChainGuard``."""
        make = getattr(SCHEMES[self.scheme_id], "chain_guard", None)
        return None if make is None else _WrappedGuard(make())

    def compare(self, a: str, b: str) -> int:
        """-1, 0 or 1 like ``cmp``."""
        key_a, key_b = self.key(a), self.key(b)
        return (key_a > key_b) - (key_a < key_b)

    def __repr__(self) -> str:
        return f"OsvVersions({self.scheme_id!r})"


class _WrappedGuard:
    """A scheme's guard on wrapped keys: ``(0,)`` lies below every key, so only ``(1, key)`` is checked."""

    __slots__ = ("_inner",)

    def __init__(self, inner: ChainGuard) -> None:
        self._inner = inner

    def admit(self, key: tuple[Any, ...]) -> bool:
        return key[0] != 1 or self._inner.admit(key[1])

    def allows(self, key: tuple[Any, ...]) -> bool:
        return key[0] != 1 or self._inner.allows(key[1])


_WRAPPERS: Final[dict[str, OsvVersions]] = {scheme_id: OsvVersions(scheme_id) for scheme_id in SCHEMES}


def scheme_for(ecosystem: str) -> OsvVersions | None:
    """The version scheme of an OSV ecosystem (suffix allowed), or ``None`` when unsupported/unknown."""
    scheme_id = ECOSYSTEM_SCHEMES.get(base_ecosystem(ecosystem))
    return None if scheme_id is None else _WRAPPERS[scheme_id]


def _require(ecosystem: str) -> OsvVersions:
    scheme = scheme_for(ecosystem)
    if scheme is None:
        known = "known but unsupported" if base_ecosystem(ecosystem) in UNSUPPORTED else "unknown"
        raise UnsupportedEcosystem(f"ecosystem {ecosystem!r}: {known}, no exact version order")
    return scheme


def version_key(ecosystem: str, version: str) -> tuple[Any, ...]:
    """The OSV-order key of ``version``; raises InvalidVersion or UnsupportedEcosystem."""
    return _require(ecosystem).key(version)


def compare(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1; raises InvalidVersion or UnsupportedEcosystem."""
    return _require(ecosystem).compare(a, b)
