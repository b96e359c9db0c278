"""``package_for_purl`` maps plain purls without packageurl-python, to the same answer.

The reference is the general path (packageurl-python parses, the package is rebuilt and printed by it),
reached by switching the plain path off.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.packages import NotAssessable, PackageRef
from matcher import purls
from matcher.purls import DISTRO_ECOSYSTEM_FOR_PURL, ECOSYSTEM_FOR_PURL_TYPE, package_for_purl

SBOMS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sboms"


def general_path(purl: str, **source: str | None) -> PackageRef | NotAssessable:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(purls, "_plain_package", lambda *args: None)
        return package_for_purl(purl, **source)


PLAIN = [
    "pkg:pypi/Django_REST.framework@3.14.0",
    "pkg:pypi/zope.interface@6.0+local",
    "pkg:npm/lodash@4.17.21",
    "pkg:npm/@Angular/Core@17.0.0",
    "pkg:npm/%40angular/core@17.0.0",
    "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar",
    "pkg:golang/github.com/Org/Mod@v1.2.3",
    "pkg:golang/stdlib@go1.21.3",
    "pkg:composer/Laravel/Framework@v10.1.0",
    "pkg:cargo/serde@1.0.190",
    "pkg:gem/rails@7.1.2",
    "pkg:nuget/Newtonsoft.Json@13.0.1",
    "pkg:hex/Phoenix@1.7.0",
    "pkg:pub/Flutter_Web-Plugins@0.1.0",
    "pkg:hackage/base_x@4.18.0",
    "pkg:bitnami/Redis@7.2.3",
    "pkg:swift/github.com/apple/swift-nio@2.58.0",
    "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
    "pkg:deb/debian/bsdutils@2.36.1-8+deb11u1?arch=amd64&epoch=1&upstream=util-linux&distro=debian-11",
    "pkg:deb/ubuntu/libc6@2.35-0ubuntu3.4?arch=amd64&distro=ubuntu-22.04",
    "pkg:apk/Alpine/Musl-Utils@1.2.4-r2?arch=x86_64&origin=musl&distro=alpine-3.18.4",
    "pkg:alpine/musl@1.2.4-r2?distro=3.18.4",
    "pkg:rpm/almalinux/openssl-libs@3.0.7-24.el9?arch=x86_64&epoch=1&distro=almalinux-9.3",
    "pkg:rpm/redhat/bash@5.1.8-6.el9_1?distro=rhel-9.1",
]


@pytest.mark.parametrize("purl", PLAIN)
def test_plain_purls_map_as_the_general_path_does(purl: str) -> None:
    assert package_for_purl(purl) == general_path(purl)


@pytest.mark.parametrize(
    ("purl", "source"),
    [
        ("pkg:deb/debian/bsdutils@1:2.36.1-8?distro=debian-11", ("util-linux", "2.36.1-8")),
        ("pkg:deb/debian/bsdutils@2.36.1-8?epoch=1&distro=debian-11", ("util-linux", "2.36.1-8+deb11u1")),
        ("pkg:apk/alpine/musl-utils@1.2.4-r2?distro=alpine-3.18.4", ("musl", None)),
        ("pkg:deb/debian/x@1.0?upstream=src&distro=debian-12", ("other", "2.0")),
    ],
)
def test_source_packages_map_as_the_general_path_does(purl: str, source: tuple[str, str | None]) -> None:
    name, version = source
    found = package_for_purl(purl, source_name=name, source_version=version)
    assert found == general_path(purl, source_name=name, source_version=version)


@pytest.mark.parametrize("purl", PLAIN)
def test_plain_purls_take_the_plain_path(purl: str) -> None:
    assert purls._plain_package(purl, None, None) is not None


@pytest.mark.parametrize(
    "purl",
    [
        "pkg:maven/log4j-core@2.14.1",  # no group id: not assessable, in the general path's words
        "pkg:golang/example.com/mod@(devel)",
        "pkg:pypi/django",
        "pkg:deb/debian/openssl@3.0.11?distro=debian-foo",  # no known release: the general path says so
        "pkg:deb/debian/openssl@3.0.11",
        "pkg:deb/debian/bsdutils@1%3A2.36.1-8?distro=debian-11",
        "pkg:generic/thing@1.0",
        "pkg:pypi/django@4.2%2Blocal",
    ],
)
def test_other_purls_take_the_general_path(purl: str) -> None:
    assert purls._plain_package(purl, None, None) is None


_segment = st.one_of(
    st.text(alphabet="abzAZ09._~+-", min_size=1, max_size=6),
    st.text(alphabet="abzAZ09._~+-", min_size=1, max_size=6),
    st.text(alphabet="aZ0._+-@%:/ ", max_size=5),
)


@st.composite
def language_purls(draw: st.DrawFn) -> str:
    type_ = draw(st.sampled_from([*ECOSYSTEM_FOR_PURL_TYPE, "PyPI", "NPM", "Maven", "generic"]))
    scope = draw(st.sampled_from(["", "", "@scope/", "%40Scope/", "%40"]))
    path = "/".join(draw(st.lists(_segment, min_size=1, max_size=3)))
    version = draw(st.sampled_from(["@1.0", "@v1.2.3", "@go1.21", "@1.0+Build_7", "@(devel)", "", "@1%2B2"]))
    keys = st.sampled_from(["type", "Arch", "classifier", "1k"])
    pairs = draw(st.lists(st.tuples(keys, _segment), max_size=2))
    query = "?" + "&".join(f"{k}={v}" for k, v in pairs) if pairs else ""
    return f"pkg:{type_}/{scope}{path}{version}{query}"


@settings(max_examples=3000)
@given(language_purls())
def test_generated_purls_map_as_the_general_path_does(purl: str) -> None:
    assert package_for_purl(purl) == general_path(purl)


_DISTROS = [
    "debian-12",
    "bookworm",
    "debian-3.1",
    "ubuntu-22.04",
    "jammy",
    "ubuntu-23.10",
    "alpine-3.18.4",
    "3.19",
    "edge",
    "almalinux-9.3",
    "rocky-8.9",
    "rhel-9.2",
    "el8",
    "opensuse-leap-15.5",
    "sles-15.5",
    "debian-99",
    "debian-foo",
    "",
    "Debian-12",
]


@st.composite
def distro_purls(draw: st.DrawFn) -> tuple[str, str | None, str | None]:
    type_, namespace = draw(
        st.sampled_from([*DISTRO_ECOSYSTEM_FOR_PURL, ("deb", "Debian"), ("APK", "ALPINE")])
    )
    name = draw(st.sampled_from(["openssl", "Musl-Utils", "libc6", "bsd_utils", "x+y"]))
    version = draw(
        st.sampled_from(["3.0.11-1~deb12u2", "1:2.36.1-8", "0:1.0", "2.36.1-8+deb11u1", "1.2.4-r2"])
    )
    pairs = [("distro", draw(st.sampled_from(_DISTROS)))]
    for key, values in (
        ("epoch", ["0", "1", "2"]),
        ("upstream", ["util-linux", "src", "Musl"]),
        ("origin", ["musl"]),
        ("Arch", ["amd64", "x86_64"]),
    ):
        if draw(st.booleans()):
            pairs.append((key, draw(st.sampled_from(values))))
    order = draw(st.permutations(pairs))
    query = "&".join(f"{k}={v}" for k, v in order if v)
    purl = f"pkg:{type_}/{namespace + '/' if namespace else ''}{name}@{version}" + (
        f"?{query}" if query else ""
    )
    source_name = draw(st.sampled_from([None, None, "util-linux", "musl"]))
    source_version = draw(st.sampled_from([None, "2.36.1-8", "1:2.0"])) if source_name else None
    return purl, source_name, source_version


@settings(max_examples=3000)
@given(distro_purls())
def test_generated_distribution_purls_map_as_the_general_path_does(
    case: tuple[str, str | None, str | None],
) -> None:
    purl, source_name, source_version = case
    found = package_for_purl(purl, source_name=source_name, source_version=source_version)
    assert found == general_path(purl, source_name=source_name, source_version=source_version)


def test_real_sbom_purls_map_as_the_general_path_does() -> None:
    if not SBOMS.is_dir():
        pytest.skip(f"real SBOM data not found at {SBOMS.resolve()}")
    seen: set[str] = set()
    for path in sorted(SBOMS.rglob("*.json")):
        try:
            document = json.loads(path.read_bytes())
        except ValueError:
            continue
        seen.update(_purls_in(document))
    plain = [p for p in seen if purls._plain_package(p, None, None) is not None]
    assert len(plain) > 1000, "the real SBOMs hold plain language purls"
    assert [p for p in sorted(seen) if package_for_purl(p) != general_path(p)] == []


def _purls_in(value: object) -> Iterator[str]:
    """Every string in a JSON document that starts like a purl."""
    if isinstance(value, str):
        if value.startswith("pkg:"):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _purls_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _purls_in(item)
