"""purl → OSV package mapping: per-ecosystem rules, distribution releases, and real SBOMs from two tools.

The real-data tests read ``../shared/data`` and skip when it is absent:
- every purl type we map lands on an ecosystem named in the OSV ecosystem list;
- the purls Ubuntu/Rocky advisories carry map onto the ecosystem key of the record itself;
- syft and trivy SBOMs of the same four images map to the same packages (see the test's docstring).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from packageurl import PackageURL

from core.packages import NotAssessable, PackageRef
from matcher.purls import (
    DISTRO_ECOSYSTEM_FOR_PURL,
    ECOSYSTEM_FOR_PURL_TYPE,
    deployed_ecosystem,
    normalize_name,
    package_for_purl,
    purl_key,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def data_dir(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data absent: {path}")
    return path


def ref(purl: str, **source: str) -> PackageRef:
    result = package_for_purl(purl, **source)
    assert isinstance(result, PackageRef), result
    return result


def key(purl: str, **source: str) -> tuple[str, str, str]:
    r = ref(purl, **source)
    return (r.ecosystem, r.name, r.version)


def not_assessable(purl: str) -> NotAssessable:
    result = package_for_purl(purl)
    assert isinstance(result, NotAssessable), result
    return result


# ---- language ecosystems -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purl", "expected"),
    [
        ("pkg:pypi/Django_Rest.Framework@3.14.0", ("PyPI", "django-rest-framework", "3.14.0")),
        ("pkg:npm/%40babel/generator@7.18.2", ("npm", "@babel/generator", "7.18.2")),
        ("pkg:npm/lodash@4.17.20", ("npm", "lodash", "4.17.20")),
        (
            "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.10.8",
            ("Maven", "com.fasterxml.jackson.core:jackson-databind", "2.9.10.8"),
        ),
        # Go: module path from namespace + name; OSV writes versions without "v".
        (
            "pkg:golang/github.com/alecthomas/participle/v2@v2.0.0-beta.5",
            ("Go", "github.com/alecthomas/participle/v2", "2.0.0-beta.5"),
        ),
        (
            "pkg:golang/github.com/aymerick/raymond@v2.0.2+incompatible",
            ("Go", "github.com/aymerick/raymond", "2.0.2+incompatible"),
        ),
        ("pkg:golang/stdlib@go1.19.4", ("Go", "stdlib", "1.19.4")),
        ("pkg:composer/Symfony/Security-Core@v5.2.14", ("Packagist", "symfony/security-core", "5.2.14")),
        ("pkg:nuget/Newtonsoft.Json@13.0.1", ("NuGet", "newtonsoft.json", "13.0.1")),
        ("pkg:dotnet/Markdig.Signed@0.21.1", ("NuGet", "markdig.signed", "0.21.1")),
        (
            "pkg:dotnet-core/System.Security.Cryptography.Cng@5.0.0",
            ("NuGet", "system.security.cryptography.cng", "5.0.0"),
        ),
        ("pkg:cargo/Inflector@0.11.4", ("crates.io", "Inflector", "0.11.4")),
        ("pkg:gem/ActiveSupport@7.0.1", ("RubyGems", "ActiveSupport", "7.0.1")),
        ("pkg:hex/plug@1.14.0", ("Hex", "plug", "1.14.0")),
        ("pkg:pub/http@0.13.5", ("Pub", "http", "0.13.5")),
    ],
)
def test_language_purls(purl: str, expected: tuple[str, str, str]) -> None:
    assert key(purl) == expected


def test_canonical_purl_drops_non_identity_qualifiers() -> None:
    assert ref("pkg:npm/lodash@4.17.20?package-id=abc#dist").purl == "pkg:npm/lodash@4.17.20"


@pytest.mark.parametrize(
    ("purl", "reason"),
    [
        ("not a purl", NotAssessable.INVALID_PURL),
        ("pkg:pypi/requests", NotAssessable.NO_VERSION),
        ("pkg:maven/atomic_reference/atomic_reference", NotAssessable.NO_VERSION),
        ("pkg:maven/jrt-fs@11.0.17", NotAssessable.INVALID_PURL),
        ("pkg:golang/github.com/bitnami/render-template@(devel)", NotAssessable.NO_VERSION),
        ("pkg:generic/node@16.18.1", NotAssessable.UNSUPPORTED_ECOSYSTEM),
        ("pkg:oci/logstash@sha256%3A014a", NotAssessable.UNSUPPORTED_ECOSYSTEM),
        ("pkg:rpm/centos/bash@4.2.46-35.el7_9?distro=centos-7", NotAssessable.UNSUPPORTED_ECOSYSTEM),
        ("pkg:rpm/fedora/bash@5.2.15-3.fc38?distro=fedora-38", NotAssessable.UNSUPPORTED_ECOSYSTEM),
    ],
)
def test_not_assessable_says_why(purl: str, reason: str) -> None:
    result = not_assessable(purl)
    assert result.reason == reason
    assert result.detail


# ---- distribution packages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distro", "ecosystem"),
    [
        ("debian-12", "Debian:12"),
        ("debian-11.6", "Debian:11"),
        ("bookworm", "Debian:12"),
        ("debian-bullseye", "Debian:11"),
        ("sid", "Debian:sid"),
    ],
)
def test_debian_release_from_distro(distro: str, ecosystem: str) -> None:
    assert ref(f"pkg:deb/debian/curl@7.88.1-10?distro={distro}").ecosystem == ecosystem


@pytest.mark.parametrize(
    ("distro", "ecosystem"),
    [
        ("ubuntu-22.04", "Ubuntu:22.04:LTS"),
        ("ubuntu-22.04.3", "Ubuntu:22.04:LTS"),
        ("jammy", "Ubuntu:22.04:LTS"),
        ("ubuntu-23.10", "Ubuntu:23.10"),
        ("questing", "Ubuntu:25.10"),
        ("esm-infra/xenial", "Ubuntu:16.04:LTS"),
        ("trusty/esm", "Ubuntu:14.04:LTS"),
    ],
)
def test_ubuntu_release_carries_lts_suffix(distro: str, ecosystem: str) -> None:
    assert ref(f"pkg:deb/ubuntu/curl@7.81.0-1ubuntu1.14?distro={distro}").ecosystem == ecosystem


def test_deb_source_package_from_syft_upstream_with_and_without_version() -> None:
    # The binary carries epoch 1, its source util-linux does not: the source version must win.
    assert key(
        "pkg:deb/debian/bsdutils@1:2.36.1-8+deb11u1?arch=amd64"
        "&upstream=util-linux%402.36.1-8+deb11u1&distro=debian-11"
    ) == ("Debian:11", "util-linux", "2.36.1-8+deb11u1")
    assert key("pkg:deb/debian/libaudit1@1:3.0-2?arch=amd64&upstream=audit&distro=debian-11") == (
        "Debian:11",
        "audit",
        "1:3.0-2",
    )


def test_deb_source_package_given_beside_the_purl() -> None:
    purl = "pkg:deb/debian/libgmp10@2:6.2.1+dfsg-1+deb11u1?distro=debian-11.5"
    assert key(purl) == ("Debian:11", "libgmp10", "2:6.2.1+dfsg-1+deb11u1")
    assert key(purl, source_name="gmp", source_version="2:6.2.1+dfsg-1+deb11u1") == (
        "Debian:11",
        "gmp",
        "2:6.2.1+dfsg-1+deb11u1",
    )
    # A source stated in the purl itself wins over one stated elsewhere in the SBOM.
    assert key(f"{purl}&upstream=gmp", source_name="other")[1] == "gmp"


@pytest.mark.parametrize(
    ("purl", "version"),
    [
        ("pkg:deb/debian/openssh-client@9.2p1-2?distro=debian-12&epoch=1", "1:9.2p1-2"),
        ("pkg:deb/debian/openssh-client@1:9.2p1-2?distro=debian-12&epoch=1", "1:9.2p1-2"),
        ("pkg:deb/debian/curl@7.88.1-10?distro=debian-12&epoch=0", "7.88.1-10"),
        ("pkg:deb/debian/curl@0:7.88.1-10?distro=debian-12", "7.88.1-10"),
        (
            "pkg:rpm/almalinux/openssl-libs@3.0.7-16.el9_2?arch=x86_64&epoch=1&distro=almalinux-9.2",
            "1:3.0.7-16.el9_2",
        ),
    ],
)
def test_epoch_qualifier_becomes_part_of_the_version(purl: str, version: str) -> None:
    assert ref(purl).version == version


@pytest.mark.parametrize(
    "purl",
    [
        "pkg:apk/alpine/libssl3@3.0.7-r0?distro=3.16.3",
        "pkg:apk/alpine/libssl3@3.0.7-r0?distro=alpine-3.16.3&origin=openssl",
        "pkg:alpine/libssl3@3.0.7-r0?arch=x86_64&upstream=openssl&distro=alpine-3.16.3",
    ],
)
def test_alpine_spellings_meet(purl: str) -> None:
    r = ref(purl, source_name="openssl", source_version="3.0.7-r0")
    assert (r.ecosystem, r.name, r.version) == ("Alpine:v3.16", "openssl", "3.0.7-r0")
    assert r.purl.startswith("pkg:apk/alpine/libssl3@3.0.7-r0?distro=")


def test_alpine_release_number_forms() -> None:
    assert ref("pkg:apk/alpine/musl@1.2.4-r2?distro=3.22.0").ecosystem == "Alpine:v3.22"
    assert ref("pkg:apk/alpine/musl@1.2.4-r2?distro=alpine-3.18.4").ecosystem == "Alpine:v3.18"


@pytest.mark.parametrize(
    "purl",
    [
        "pkg:apk/alpine/musl@1.2.4-r2",
        "pkg:apk/alpine/musl@1.2.4-r2?distro=edge",
        "pkg:deb/ubuntu/curl@7.81.0-1ubuntu1.14",
        "pkg:deb/debian/curl@7.88.1-10?distro=debian-unstable-ish",
        "pkg:rpm/redhat/bash@5.1.8-6.el9?distro=fedora-38",
    ],
)
def test_distro_package_without_known_release_is_not_assessable(purl: str) -> None:
    result = not_assessable(purl)
    assert result.reason == NotAssessable.UNSUPPORTED_ECOSYSTEM
    assert "release unknown" in result.detail


@pytest.mark.parametrize(
    ("purl", "expected"),
    [
        (
            "pkg:rpm/almalinux/openssl-libs@3.0.7-16.el9_2?arch=x86_64&upstream=openssl-3.0.7-16.el9_2.src.rpm"
            "&distro=almalinux-9.2",
            ("AlmaLinux:9", "openssl-libs", "3.0.7-16.el9_2"),
        ),
        ("pkg:rpm/rocky/bash@5.1.8-6.el9_1?distro=rocky-9.2", ("Rocky Linux:9", "bash", "5.1.8-6.el9_1")),
        (
            "pkg:rpm/rocky-linux/firefox@102.11.0-2.el8_7?distro=rocky-linux-8&epoch=0",
            ("Rocky Linux:8", "firefox", "102.11.0-2.el8_7"),
        ),
        (
            "pkg:rpm/redhat/bash@5.1.8-6.el9?distro=rhel-9.2",
            ("Red Hat:enterprise_linux:9", "bash", "5.1.8-6.el9"),
        ),
        (
            "pkg:rpm/redhat/bash@5.1.8-6.el9?distro=redhat-9.2",
            ("Red Hat:enterprise_linux:9", "bash", "5.1.8-6.el9"),
        ),
        (
            "pkg:rpm/opensuse/bash@5.2.15-150500.1.1?distro=opensuse-leap-15.5",
            ("openSUSE:Leap 15.5", "bash", "5.2.15-150500.1.1"),
        ),
        (
            "pkg:rpm/suse/bash@4.4-150400.27.3.2?distro=sles-15.5",
            ("SUSE:Linux Enterprise Server 15 SP5", "bash", "4.4-150400.27.3.2"),
        ),
    ],
)
def test_rpm_vendors_by_namespace(purl: str, expected: tuple[str, str, str]) -> None:
    assert key(purl) == expected


@pytest.mark.parametrize(
    ("advisory", "deployed"),
    [
        ("Ubuntu:22.04:LTS", "Ubuntu:22.04:LTS"),
        ("Ubuntu:Pro:16.04:LTS", "Ubuntu:16.04:LTS"),
        ("Ubuntu:Pro:FIPS-updates:22.04:LTS", None),
        ("Ubuntu:25.10", "Ubuntu:25.10"),
        ("Red Hat:enterprise_linux:9::appstream", "Red Hat:enterprise_linux:9"),
        ("Red Hat:rhel_eus:9.2::baseos", None),
        ("Packagist:https://packages.drupal.org/8", "Packagist"),
        ("Maven:https://maven.google.com", "Maven"),
        ("Debian:12", "Debian:12"),
        ("PyPI", "PyPI"),
    ],
)
def test_deployed_ecosystem_folds_advisory_variants(advisory: str, deployed: str | None) -> None:
    assert deployed_ecosystem(advisory) == deployed


def test_normalize_name_matches_both_sides() -> None:
    assert normalize_name("PyPI", "jw.util") == "jw-util"
    assert normalize_name("NuGet", "Microsoft.NETCore.App") == "microsoft.netcore.app"
    assert normalize_name("Packagist:https://packages.drupal.org/8", "Drupal/Core") == "drupal/core"
    assert normalize_name("Go", "github.com/BurntSushi/toml") == "github.com/BurntSushi/toml"


@pytest.mark.parametrize(
    "purl",
    [
        "pkg:pypi/Django_Rest.Framework@3.0",
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        "pkg:deb/debian/bsdutils@1:2.36.1-8+deb11u1?distro=debian-11&upstream=util-linux",
        "pkg:golang/github.com/gin-gonic/gin@v1.9.0",
    ],
)
def test_purl_key_is_the_package_key_with_or_without_a_version(purl: str) -> None:
    package = ref(purl)
    versionless = PackageURL.from_string(purl)._replace(version=None)
    assert purl_key(purl) == (package.ecosystem, package.name)
    assert purl_key(versionless) == (package.ecosystem, package.name)
    assert purl_key(versionless.to_string()) == (package.ecosystem, package.name)


def test_purl_key_says_why_it_has_none() -> None:
    invalid = purl_key("not a purl")
    assert isinstance(invalid, NotAssessable)
    assert invalid.reason == NotAssessable.INVALID_PURL
    unsupported = purl_key("pkg:generic/openssl")
    assert isinstance(unsupported, NotAssessable)
    assert unsupported.reason == NotAssessable.UNSUPPORTED_ECOSYSTEM
    # A version that says there is none (a Go main module built from a checkout) is not replaced.
    devel = purl_key("pkg:golang/example.com/app@(devel)")
    assert isinstance(devel, NotAssessable)
    assert devel.reason == NotAssessable.NO_VERSION


# ---- real data -----------------------------------------------------------------------------------


def test_every_mapped_ecosystem_is_an_osv_ecosystem() -> None:
    known = set(json.loads((data_dir("schemas", "osv") / "ecosystems.json").read_text()))
    produced = set(ECOSYSTEM_FOR_PURL_TYPE.values()) | set(DISTRO_ECOSYSTEM_FOR_PURL.values())
    assert produced - known == set()


def _advisory_purls(folder: Path) -> list[tuple[str, str, str]]:
    """(record id, affected ecosystem, purl) for affected entries whose purl names a version and release."""
    found = []
    for path in sorted(folder.rglob("*.json")):
        record = json.loads(path.read_text())
        for affected in record.get("affected", []):
            package = affected.get("package") or {}
            purl = package.get("purl") or ""
            # Canonical's CVE records write "?arch=src?distro=…" (two "?"): not a valid purl, skipped.
            if "@" in purl and purl.count("?") == 1:
                found.append((record["id"], package["ecosystem"], purl))
    return found


@pytest.mark.realdata
def test_distro_advisory_purls_map_to_their_own_ecosystem() -> None:
    """The purls Ubuntu and Rocky advisories carry must land on the key those advisories fold onto."""
    samples = data_dir("advisories", "distro-npm-samples")
    checked = 0
    for record_id, ecosystem, purl in _advisory_purls(samples / "ubuntu") + _advisory_purls(
        samples / "rocky-linux"
    ):
        expected = deployed_ecosystem(ecosystem)
        if expected is None:  # FIPS streams are deliberately not matched (see deployed_ecosystem)
            continue
        assert ref(purl).ecosystem == expected, (record_id, purl)
        checked += 1
    assert checked >= 40


_TRIVY_SOURCE = re.compile(r"built package from: (\S+) (\S+)$")


def _spdx_packages(path: Path) -> dict[tuple[str, str, str], tuple[str, PackageRef]]:
    """Raw identity → (purl, mapped package) for each SPDX package whose purl maps.

    The raw identity is tool-neutral: (ecosystem family, SPDX package name without a Maven group,
    version without a leading "v"). trivy states the distribution source package only in
    ``sourceInfo`` ("built package from: gmp 2:6.2.1+dfsg-1+deb11u1"); it is passed beside the purl
    exactly as an SBOM reader would.
    """
    document = json.loads(path.read_text())
    mapped: dict[tuple[str, str, str], tuple[str, PackageRef]] = {}
    for package in document.get("packages", []):
        source = _TRIVY_SOURCE.match(package.get("sourceInfo") or "")
        extra = {"source_name": source.group(1), "source_version": source.group(2)} if source else {}
        for external in package.get("externalRefs", []):
            if external.get("referenceType") != "purl":
                continue
            result = package_for_purl(external["referenceLocator"], **extra)
            if isinstance(result, PackageRef):
                family = result.ecosystem.split(":")[0]
                raw_name = package["name"].rsplit(":", 1)[-1].lower()
                raw_version = re.sub(r"^v(?=\d)", "", package.get("versionInfo") or "")
                mapped[(family, raw_name, raw_version)] = (external["referenceLocator"], result)
    return mapped


def _identity(package: PackageRef) -> tuple[str, str, str]:
    return (package.ecosystem, package.name, package.version)


@pytest.mark.realdata
def test_syft_and_trivy_sboms_of_one_image_map_to_the_same_packages() -> None:
    """syft and trivy describe four images; their mapped (ecosystem, name, version) sets must agree.

    - Every component both tools found (same raw identity) maps to the same package, unless the two
      purls themselves name different packages (syft guesses Maven group ids from jar names).
    - For each ecosystem family in which both tools found exactly the same components, the mapped sets
      are equal; where detection differs (Maven jars, composer files, a Go main module) the differences
      are detection, which the first check shows.
    """
    folder = data_dir("sboms", "spdx", "popular-containers")
    images = sorted(p.name.removeprefix("syft-") for p in folder.glob("syft-*.spdx.json"))
    assert images
    shared_total = 0
    families_equal: set[str] = set()
    for image in images:
        syft = _spdx_packages(folder / f"syft-{image}")
        trivy = _spdx_packages(folder / f"trivy-{image}")
        mismatched = []
        for raw in syft.keys() & trivy.keys():
            (syft_purl, syft_ref), (trivy_purl, trivy_ref) = syft[raw], trivy[raw]
            shared_total += 1
            purls_differ = syft_purl.split("@")[0].lower() != trivy_purl.split("@")[0].lower()
            if _identity(syft_ref) != _identity(trivy_ref) and not (raw[0] == "Maven" and purls_differ):
                mismatched.append((raw, _identity(syft_ref), _identity(trivy_ref)))
        assert mismatched == [], image

        by_family: dict[str, list[set[tuple[str, str, str]]]] = defaultdict(
            lambda: [set(), set(), set(), set()]
        )
        for index, side in enumerate((syft, trivy)):
            for raw, (_, package) in side.items():
                by_family[raw[0]][index].add(raw)
                by_family[raw[0]][index + 2].add(_identity(package))
        for family, (syft_raw, trivy_raw, syft_mapped, trivy_mapped) in by_family.items():
            if syft_raw and syft_raw == trivy_raw:
                assert syft_mapped == trivy_mapped, (image, family)
                families_equal.add(family)
    # Distribution packages are where the mapping does real work (source packages, epochs, releases).
    assert {"Debian", "Alpine"} <= families_equal
    assert shared_total > 1000
