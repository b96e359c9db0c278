"""Package URLs to OSV packages: purl type → OSV ecosystem, names and versions normalized per ecosystem.

An SBOM names a component by purl; an advisory names it by (OSV ecosystem, package name). This module
turns the first into the second so that both meet in one index key, ``(ecosystem, name)``. The same
name normalization is applied to advisory names (``normalize_name``) so the two sides agree.

Language ecosystems (``ECOSYSTEM_FOR_PURL_TYPE``) need only the name rules below. Distribution
packages need more, because their advisories are scoped to a release and name *source* packages:

- ``deb``: the release comes from the ``distro`` qualifier (``debian-12``, ``debian-11.6``,
  ``bookworm``, ``ubuntu-22.04``, ``jammy``), the vendor from the namespace. Ubuntu LTS releases carry
  OSV's mandatory ``:LTS`` suffix (``Ubuntu:22.04:LTS``). The name and version are those of the source
  package: syft writes ``upstream=<source>`` or ``upstream=<source>@<source version>``; trivy keeps the
  source in the SPDX ``sourceInfo`` instead, which a reader passes as ``source_name``/``source_version``.
  The source version matters: ``bsdutils 1:2.36.1-8+deb11u1`` is built from ``util-linux
  2.36.1-8+deb11u1`` (no epoch), and comparing the binary's epoch against util-linux advisories would
  call every version fixed.
- ``apk`` (and ``pkg:alpine/…``, which older syft writes): ``distro`` ``alpine-3.18.4`` or ``3.18.4`` →
  ``Alpine:v3.18``; the ``origin``/``upstream`` qualifier or ``source_name`` gives the origin package.
  apk sub-packages always share their origin's version.
- ``rpm``: the release comes from ``distro`` (``almalinux-9.2`` → ``AlmaLinux:9``, ``rocky-9.2`` →
  ``Rocky Linux:9``, ``rhel-9.2``/``redhat-9.2`` → ``Red Hat:enterprise_linux:9``, ``opensuse-leap-15.5``
  → ``openSUSE:Leap 15.5``, ``sles-15.5`` → ``SUSE:Linux Enterprise Server 15 SP5``). RPM advisories
  (AlmaLinux, Rocky, Red Hat) list every binary RPM, so the binary name is kept.
- ``deb`` and ``rpm`` versions get the ``epoch`` qualifier prepended (``epoch=1`` → ``1:ver``) unless the
  version already carries one; an epoch of 0 is dropped, since both dpkg and rpm treat it as absent.

Advisories use a few ecosystem variants that apply to the same installed release; ``deployed_ecosystem``
folds them onto the key ``package_for_purl`` produces (see its docstring for the exact rules).

``purl_key`` gives that key for a purl with or without a version (VEX statements, CSAF products and
``patchgap why`` name packages without one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

from packageurl import PackageURL

from core.packages import NotAssessable, PackageRef
from core.purls import split_plain

#: Where advisories and deployed packages meet: ``(OSV ecosystem with release suffix, normalized name)``.
PackageKey = tuple[str, str]

#: purl type → OSV ecosystem, for ecosystems whose packages need no release suffix.
ECOSYSTEM_FOR_PURL_TYPE: Mapping[str, str] = MappingProxyType(
    {
        "pypi": "PyPI",
        "npm": "npm",
        "maven": "Maven",
        "golang": "Go",
        "cargo": "crates.io",
        "gem": "RubyGems",
        "nuget": "NuGet",
        # syft writes pkg:dotnet and trivy pkg:dotnet-core for packages read from .deps.json files;
        # those libraries are NuGet packages (osv-scanner treats deps.json the same way).
        "dotnet": "NuGet",
        "dotnet-core": "NuGet",
        "composer": "Packagist",
        "hex": "Hex",
        "pub": "Pub",
        "cran": "CRAN",
        "hackage": "Hackage",
        "swift": "SwiftURL",
        "bitnami": "Bitnami",
    }
)

#: Distribution purl (type, namespace) → OSV ecosystem family; the release suffix comes from ``distro``.
DISTRO_ECOSYSTEM_FOR_PURL: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("deb", "debian"): "Debian",
        ("deb", "ubuntu"): "Ubuntu",
        ("apk", "alpine"): "Alpine",
        ("alpine", ""): "Alpine",
        ("rpm", "redhat"): "Red Hat",
        ("rpm", "almalinux"): "AlmaLinux",
        ("rpm", "rocky"): "Rocky Linux",
        ("rpm", "rocky-linux"): "Rocky Linux",
        ("rpm", "opensuse"): "openSUSE",
        ("rpm", "suse"): "SUSE",
        ("rpm", "sles"): "SUSE",
    }
)

#: Debian codename → release number as OSV's ``Debian:<RELEASE>`` uses it (distro-info-data).
DEBIAN_RELEASES: Mapping[str, str] = MappingProxyType(
    {
        "woody": "3.0",
        "sarge": "3.1",
        "etch": "4",
        "lenny": "5",
        "squeeze": "6",
        "wheezy": "7",
        "jessie": "8",
        "stretch": "9",
        "buster": "10",
        "bullseye": "11",
        "bookworm": "12",
        "trixie": "13",
        "forky": "14",
        "duke": "15",
        "sid": "sid",
    }
)

#: Ubuntu codename → YY.MM release (wiki.ubuntu.com/Releases), from the oldest OSV covers.
UBUNTU_RELEASES: Mapping[str, str] = MappingProxyType(
    {
        "dapper": "6.06",
        "hardy": "8.04",
        "lucid": "10.04",
        "precise": "12.04",
        "quantal": "12.10",
        "raring": "13.04",
        "saucy": "13.10",
        "trusty": "14.04",
        "utopic": "14.10",
        "vivid": "15.04",
        "wily": "15.10",
        "xenial": "16.04",
        "yakkety": "16.10",
        "zesty": "17.04",
        "artful": "17.10",
        "bionic": "18.04",
        "cosmic": "18.10",
        "disco": "19.04",
        "eoan": "19.10",
        "focal": "20.04",
        "groovy": "20.10",
        "hirsute": "21.04",
        "impish": "21.10",
        "jammy": "22.04",
        "kinetic": "22.10",
        "lunar": "23.04",
        "mantic": "23.10",
        "noble": "24.04",
        "oracular": "24.10",
        "plucky": "25.04",
        "questing": "25.10",
        "resolute": "26.04",
    }
)

# Qualifiers that are part of a distribution package's identity in the canonical purl we store.
_IDENTITY_QUALIFIERS = ("distro", "epoch")
_VERSION_PREFIX_V = re.compile(r"^v(?=\d)")
_RELEASE_NUMBER = re.compile(r"(\d+)(?:\.(\d+))?")


def normalize_name(ecosystem: str, name: str) -> str:
    """The name under which ``ecosystem`` (suffix allowed) indexes ``name``; applied to both sides.

    PyPI: PEP 503 (runs of ``-_.`` → ``-``, lower case). NuGet and Packagist names are case-insensitive
    in their registries, so they are lower-cased; every other ecosystem compares names exactly.
    """
    base = ecosystem.split(":", 1)[0]
    if base == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()
    if base in ("NuGet", "Packagist"):
        return name.lower()
    return name


def deployed_ecosystem(advisory_ecosystem: str) -> str | None:
    """Fold an advisory's ecosystem string onto the ecosystem key deployed packages carry.

    - ``Ubuntu:Pro:<release>`` (ESM) → ``Ubuntu:<release>``: Ubuntu publishes one entry per release,
      either in the standard or in the Pro pocket, and an ESM entry says that the installed release is
      affected until the Pro update is installed; a system without Pro is then rightly shown affected.
    - ``Ubuntu:Pro:FIPS…`` → ``None``: FIPS builds are a separate package stream (``+Fips`` versions)
      that a purl does not identify; matching them against ordinary builds would flag every fixed
      ordinary version as affected (``3.0.2-0ubuntu1.12`` < ``3.0.2-0ubuntu1.12+Fips1``).
    - ``Red Hat:enterprise_linux:9::appstream`` → ``Red Hat:enterprise_linux:9``: the repository part of
      the CPE stream is not in a purl. Other Red Hat streams (EUS, AUS, layered products) → ``None``.
    - ``Packagist:https://…`` and ``Maven:https://…`` → their base ecosystem: composer and Maven purls do
      not reliably say which repository a package came from, and names do not collide in practice.
    - anything else is returned unchanged.
    """
    parts = advisory_ecosystem.split(":")
    base = parts[0]
    if base == "Ubuntu" and len(parts) > 1 and parts[1] == "Pro":
        if len(parts) > 2 and parts[2].upper().startswith("FIPS"):
            return None
        return ":".join([base, *parts[2:]])
    if base == "Red Hat":
        match = re.fullmatch(r"Red Hat:enterprise_linux:(\d+)(?::.*)?", advisory_ecosystem)
        return f"Red Hat:enterprise_linux:{match.group(1)}" if match else None
    if base in ("Packagist", "Maven") and len(parts) > 1:
        return base
    return advisory_ecosystem


def package_for_purl(
    purl: str, *, source_name: str | None = None, source_version: str | None = None
) -> PackageRef | NotAssessable:
    """Map one purl to the package advisories name, or say why it cannot be assessed.

    ``source_name``/``source_version`` are the distribution source package when the SBOM states it
    outside the purl (trivy's SPDX ``sourceInfo``); a source in the purl's own qualifiers wins.
    """
    plain = _plain_package(purl.strip(), source_name, source_version)
    if plain is not None:
        return plain
    try:
        parsed = PackageURL.from_string(purl.strip())
    except ValueError as exc:
        return NotAssessable(NotAssessable.INVALID_PURL, f"{purl}: {exc}")
    if not parsed.version:
        return NotAssessable(NotAssessable.NO_VERSION, purl)
    family = DISTRO_ECOSYSTEM_FOR_PURL.get((parsed.type, (parsed.namespace or "").lower()))
    if family is not None:
        return _distro_package(parsed, parsed.version, family, source_name, source_version)
    ecosystem = ECOSYSTEM_FOR_PURL_TYPE.get(parsed.type)
    if ecosystem is None:
        kind = f"{parsed.type}/{parsed.namespace}" if parsed.type in ("deb", "rpm", "apk") else parsed.type
        return NotAssessable(NotAssessable.UNSUPPORTED_ECOSYSTEM, f"{kind}: no OSV ecosystem for {purl}")
    return _language_package(parsed, parsed.version, ecosystem, purl)


def purl_key(purl: str | PackageURL) -> PackageKey | NotAssessable:
    """The ``(ecosystem, name)`` key of a purl, whether or not it carries a version.

    ``package_for_purl`` needs a version to build a package, but the version does not enter the key,
    so a placeholder stands in when the purl has none. A string is parsed as it is (not stripped).
    """
    if isinstance(purl, str):
        try:
            parsed = PackageURL.from_string(purl)
        except ValueError as exc:
            return NotAssessable(NotAssessable.INVALID_PURL, f"{purl}: {exc}")
    else:
        parsed = purl
    found = package_for_purl(parsed._replace(version=parsed.version or "0").to_string())
    return (found.ecosystem, found.name) if isinstance(found, PackageRef) else found


def _language_package(
    parsed: PackageURL, version: str, ecosystem: str, purl: str
) -> PackageRef | NotAssessable:
    identity = _language_identity(ecosystem, parsed.namespace or "", parsed.name, version, purl)
    if isinstance(identity, NotAssessable):
        return identity
    base = PackageURL(type=parsed.type, namespace=parsed.namespace, name=parsed.name, version=parsed.version)
    return PackageRef(ecosystem=ecosystem, name=identity[0], version=identity[1], purl=base.to_string())


def _language_identity(
    ecosystem: str, namespace: str, name: str, version: str, purl: str
) -> tuple[str, str] | NotAssessable:
    """The name and version advisories of a language ecosystem use for a purl's namespace, name, version."""
    if ecosystem == "Maven":
        if not namespace:
            return NotAssessable(NotAssessable.INVALID_PURL, f"{purl}: Maven purl without a group id")
        name = f"{namespace}:{name}"
    elif ecosystem == "Go":
        name = f"{namespace}/{name}" if namespace else name
        if version == "(devel)":
            # A main module built from a checkout: Go records no version for it.
            return NotAssessable(NotAssessable.NO_VERSION, f"{purl}: Go main module built as (devel)")
        # OSV writes Go versions without the "v" (and the toolchain as "stdlib 1.21.3", not "go1.21.3").
        version = re.sub(r"^go(?=\d)", "", version) if name in ("stdlib", "toolchain") else version
        version = _VERSION_PREFIX_V.sub("", version)
    elif ecosystem == "Packagist":
        name = f"{namespace}/{name}" if namespace else name
        # Composer's version parser ignores a leading "v" (v5.2.14 is 5.2.14); strip it for one identity.
        version = _VERSION_PREFIX_V.sub("", version)
    elif namespace and ecosystem in ("npm", "SwiftURL"):
        name = f"{namespace}/{name}"
    return normalize_name(ecosystem, name), version


def _distro_package(
    parsed: PackageURL, version: str, family: str, source_name: str | None, source_version: str | None
) -> PackageRef | NotAssessable:
    qualifiers: dict[str, str] = dict(parsed.qualifiers or {})
    identity = _distro_identity(
        family, parsed.name, version, qualifiers, source_name=source_name, source_version=source_version
    )
    if identity is None:
        distro = qualifiers.get("distro", "")
        why = f"distro {distro!r} names no known {family} release" if distro else "no distro qualifier"
        return NotAssessable(
            NotAssessable.UNSUPPORTED_ECOSYSTEM, f"{parsed.to_string()}: {family} release unknown ({why})"
        )
    ecosystem, name, version = identity
    # pkg:alpine/… (older syft) is stored under the purl spec's own spelling, pkg:apk/alpine/….
    alpine = family == "Alpine"
    canonical = PackageURL(
        type="apk" if alpine else parsed.type,
        namespace="alpine" if alpine else parsed.namespace,
        name=parsed.name,
        version=parsed.version,
        qualifiers={k: qualifiers[k] for k in _IDENTITY_QUALIFIERS if qualifiers.get(k)},
    )
    return PackageRef(ecosystem=ecosystem, name=name, version=version, purl=canonical.to_string())


def _distro_identity(
    family: str,
    name: str,
    version: str,
    qualifiers: Mapping[str, str],
    *,
    source_name: str | None,
    source_version: str | None,
) -> tuple[str, str, str] | None:
    """The ecosystem, name and version advisories of a distribution use for a package of it; ``None``
    when the ``distro`` qualifier names no known release."""
    release = _release_suffix(family, qualifiers.get("distro", ""))
    if release is None:
        return None
    ecosystem = f"{family}:{release}"
    if family != "Alpine":
        version = _with_epoch(version, qualifiers.get("epoch"))

    if family in ("Debian", "Ubuntu", "Alpine"):
        upstream = qualifiers.get("upstream") or qualifiers.get("origin") or qualifiers.get("source")
        if upstream:
            source_name, _, in_purl_version = upstream.partition("@")
            source_version = in_purl_version or None
        if source_name:
            name = source_name
            if source_version and family != "Alpine":
                version = _with_epoch(source_version, None)
    return ecosystem, normalize_name(ecosystem, name), version


def _with_epoch(version: str, epoch: str | None) -> str:
    """``E:V`` with a zero or absent epoch dropped, so one package version has one spelling."""
    if ":" not in version and epoch and epoch != "0":
        version = f"{epoch}:{version}"
    head, colon, rest = version.partition(":")
    if colon and head.isdigit() and int(head) == 0:
        return rest
    return version


def _release_suffix(family: str, distro: str) -> str | None:
    """The OSV release suffix for a ``distro`` qualifier, or ``None`` when it names no known release."""
    value = distro.strip().lower()
    if not value:
        return None
    if family == "Debian":
        return _debian_release(value)
    if family == "Ubuntu":
        return _ubuntu_release(value)
    if family == "Alpine":
        match = _RELEASE_NUMBER.match(value.removeprefix("alpine-").removeprefix("v"))
        if match is None or match.group(2) is None:
            return None  # "edge" and bare majors are not OSV release branches
        return f"v{match.group(1)}.{match.group(2)}"
    if family in ("AlmaLinux", "Rocky Linux", "Red Hat"):
        prefixes = ("almalinux-", "alma-", "rocky-linux-", "rocky-", "rhel-", "redhat-", "el")
        for prefix in prefixes:
            if value.startswith(prefix):
                match = _RELEASE_NUMBER.match(value.removeprefix(prefix))
                if match is None:
                    return None
                major = match.group(1)
                return f"enterprise_linux:{major}" if family == "Red Hat" else major
        return None
    if family == "openSUSE":
        if value.startswith("opensuse-tumbleweed"):
            return "Tumbleweed"
        match = re.fullmatch(r"opensuse-leap-(\d+\.\d+)", value)
        return f"Leap {match.group(1)}" if match else None
    if family == "SUSE":
        match = re.fullmatch(r"sles-(\d+)(?:\.(\d+))?", value)
        if match is None:
            return None
        service_pack = f" SP{match.group(2)}" if match.group(2) and match.group(2) != "0" else ""
        return f"Linux Enterprise Server {match.group(1)}{service_pack}"
    return None


def _debian_release(value: str) -> str | None:
    for part in re.split(r"[/\s]", value):
        token = part.removeprefix("debian-")
        if token in DEBIAN_RELEASES:
            return DEBIAN_RELEASES[token]
        match = _RELEASE_NUMBER.fullmatch(token)
        if match:
            major = int(match.group(1))
            # Before etch (4.0) Debian releases were numbered x.y; from 4 on only the major counts.
            return match.group(0) if major < 4 else str(major)
    return None


def _ubuntu_release(value: str) -> str | None:
    for part in re.split(r"[/\s]", value):
        token = part.removeprefix("ubuntu-")
        release = UBUNTU_RELEASES.get(token)
        if release is None:
            match = re.fullmatch(r"(\d+\.\d\d)(?:\.\d+)?", token)
            release = match.group(1) if match else None
        if release is not None:
            year, month = release.split(".")
            # LTS: every .04 of an even year since 8.04, plus 6.06 (dapper); OSV requires the suffix.
            lts = release == "6.06" or (month == "04" and int(year) % 2 == 0 and int(year) >= 8)
            return f"{release}:LTS" if lts else release
    return None


# --- plain purls, without packageurl-python -----------------------------------------------------
# Parsing a purl, rebuilding it without qualifiers and printing it with packageurl-python costs ~25 µs,
# most of the ingest of a 10,000-component SBOM. Purls of the plain shape (core.purls) are mapped here
# instead, through the same rules; tests/matcher/test_purls_plain.py holds the answers equal.

# How packageurl-python normalizes names of the types mapped here (the purl specification's type
# rules); the namespaces of the second set's types it lower-cases too.
_NAME_RULES: Mapping[str, Callable[[str], str]] = MappingProxyType(
    {
        "pypi": lambda name: name.replace("_", "-").lower(),
        "npm": str.lower,
        "composer": str.lower,
        "hex": str.lower,
        "bitnami": str.lower,
        "apk": str.lower,
        "pub": lambda name: re.sub(r"[^a-z0-9]", "_", name.lower()),
        "hackage": lambda name: name.replace("_", "-"),
    }
)
_LOWER_CASE_NAMESPACE_TYPES = frozenset({"pypi", "composer", "hex", "apk"})


def _unchanged(name: str) -> str:
    return name


def _normalized(type_: str, namespace: tuple[str, ...], name: str) -> tuple[tuple[str, ...], str]:
    """The namespace segments and name as packageurl-python normalizes them for ``type_``."""
    if type_ in _LOWER_CASE_NAMESPACE_TYPES:
        namespace = tuple(segment.lower() for segment in namespace)
    return namespace, _NAME_RULES.get(type_, _unchanged)(name)


def _encoded(part: str) -> str:
    # packageurl-python percent-encodes each part it prints; of the characters a plain purl's parts
    # hold, that changes "+" and the "@" of an npm scope only.
    return part.replace("+", "%2B").replace("@", "%40")


def _printed(
    type_: str, namespace: tuple[str, ...], name: str, version: str, qualifiers: Mapping[str, str]
) -> str:
    """``PackageURL(...).to_string()`` of plain parts, without building one."""
    namespace, name = _normalized(type_, namespace, name)
    # The name rule runs again on the encoded name, as packageurl-python prints it.
    path = "/".join([*map(_encoded, namespace), _NAME_RULES.get(type_, _unchanged)(_encoded(name))])
    printed = f"pkg:{type_}/{path}@{_encoded(version)}"
    if qualifiers:
        printed += "?" + "&".join(f"{key}={_encoded(qualifiers[key])}" for key in sorted(qualifiers))
    return printed


def _plain_package(purl: str, source_name: str | None, source_version: str | None) -> PackageRef | None:
    """``package_for_purl`` of a plain purl; ``None`` for any other purl and for one that cannot be
    assessed (the general path says why, in its words)."""
    plain = split_plain(purl)
    if plain is None or plain.version is None:
        return None
    namespace, name = _normalized(plain.type, plain.namespace, plain.name)
    family = DISTRO_ECOSYSTEM_FOR_PURL.get((plain.type, "/".join(namespace).lower()))
    if family is not None:
        qualifiers = dict(plain.qualifiers)  # a repeated key: the last value, as packageurl-python
        identity = _distro_identity(
            family, name, plain.version, qualifiers, source_name=source_name, source_version=source_version
        )
        if identity is None:
            return None
        alpine = family == "Alpine"
        canonical = _printed(
            "apk" if alpine else plain.type,
            ("alpine",) if alpine else namespace,
            name,
            plain.version,
            {k: qualifiers[k] for k in _IDENTITY_QUALIFIERS if qualifiers.get(k)},
        )
        return PackageRef(ecosystem=identity[0], name=identity[1], version=identity[2], purl=canonical)
    ecosystem = ECOSYSTEM_FOR_PURL_TYPE.get(plain.type)
    if ecosystem is None:
        return None
    found = _language_identity(ecosystem, "/".join(namespace), name, plain.version, purl)
    if isinstance(found, NotAssessable):
        return None
    canonical = _printed(plain.type, namespace, name, plain.version, {})
    return PackageRef(ecosystem=ecosystem, name=found[0], version=found[1], purl=canonical)
