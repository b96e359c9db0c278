"""Known tricky cases per scheme (ecosystem's own order), and the registry contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matcher.versions import (
    SCHEMES,
    SUPPORTED,
    UNSUPPORTED,
    InvalidVersion,
    UnsupportedEcosystem,
    base_ecosystem,
    compare,
    scheme_for,
    version_key,
)

CASES: dict[str, list[tuple[str, str, str]]] = {
    "pypi": [
        ("10.11.dev3", "<", "10.11"),
        ("1.0a1", "<", "1.0b1"),
        ("1.0rc1", "<", "1.0"),
        ("1.0", "<", "1.0.post1"),
        ("1.0", "=", "1.0.0"),
        ("1!0.1", ">", "2.0"),
        ("0.1-bulbasaur", "<", "0.0.1"),  # legacy versions sort before every PEP 440 version
        ("1.0+local", ">", "1.0"),
    ],
    "semver": [
        ("1.2.3+build", "=", "1.2.3"),
        ("1.2.3+a", "=", "1.2.3+b"),
        ("1.0.0-alpha", "<", "1.0.0-alpha.1"),
        ("1.0.0-alpha.beta", "<", "1.0.0-beta"),
        ("1.0.0-beta.2", "<", "1.0.0-beta.11"),
        ("1.0.0-rc.1", "<", "1.0.0"),
        ("v1.2.3", "=", "1.2.3"),
        ("v1.2", "=", "v1.2.0"),
        ("v2.0.0+incompatible", "=", "v2.0.0"),
        ("v0.0.0-20210101000000-abcdef123456", "<", "v0.0.0-20220101000000-123456abcdef"),
        ("v0.0.0-20220101000000-123456abcdef", "<", "v0.0.1"),
        ("v1.2.4-0.20210101000000-abcdef123456", ">", "v1.2.3"),
        ("v1.2.4-0.20210101000000-abcdef123456", "<", "v1.2.4"),
    ],
    "pub": [("1.0.0", "<", "1.0.0+build"), ("1.2.3+1", "<", "1.2.3+a"), ("1.0.0-dev", "<", "1.0.0")],
    "maven": [
        ("1.0-alpha", "<", "1.0"),
        ("1.0.0", "=", "1"),
        ("1.0-alpha-1", "<", "1.0-beta-1"),
        ("1.0-beta-1", "<", "1.0-milestone-1"),
        ("1.0-rc1", "=", "1.0-cr1"),
        ("1.0-rc1", "<", "1.0-SNAPSHOT"),
        ("1.0-SNAPSHOT", "<", "1.0"),
        ("1.0", "=", "1.0.Final"),
        ("1.0.GA", "=", "1.0-release"),
        ("1.0", "<", "1.0-sp1"),
        ("1.0.Final", "<", "1.0.SP1"),
        ("1.0", "<", "1.0-1"),
        ("1.0a1", "=", "1.0-alpha-1"),
        ("2.0.1-xyz", "<", "2.0.1-123"),
        ("4.1.0", "=", "4.1.0.RELEASE"),
        ("1-1", "=", "1-ga-1"),  # the POM reference trims "ga" with its hyphen (maven-artifact: <)
        ("1.0.0-1", "=", "1-1"),
        # maven-artifact 3.8, as the fixtures record it: ".RC1" keeps the 0 before it, and a number
        # beats a hyphen list; 3.9 (MNG-7644) reads ".RC1" as "-RC1" and says "<".
        ("1.0.0.RC1", ">", "1.0.0-RC2"),
        ("20190126.230843", "<", "1234567890.12345"),  # int, long and BigInteger items
        ("12345678901234567890.1", ">", "1234567890123456789.1"),
    ],
    "nuget": [
        ("1.0.0-BETA", "=", "1.0.0-beta"),
        ("1.0", "=", "1.0.0.0"),
        ("1.0.0", "<", "1.0.0.1"),
        ("1.0.0+meta", "=", "1.0.0"),
        ("1.0.0-beta.2", "<", "1.0.0-beta.10"),
    ],
    "rubygems": [
        ("1.0.a", "<", "1.0"),
        ("1.0", "=", "1.0.0"),
        ("1.0.1", ">", "1"),
        ("1.0.0.1", "<", "1.0.1"),
        ("1.0.a.10", ">", "1.0.a9"),
        ("1.0.b1", "<", "1.0"),
        ("1.0-1", "<", "1.0"),  # '-' reads as ".pre."
    ],
    "packagist": [
        ("1.0-dev", "<", "1.0alpha1"),
        ("1.0RC1", "=", "1.0rc1"),
        ("1.0", "<", "1.0pl1"),
        ("v1.0.0", "=", "1.0.0"),
        ("1.0.0", ">", "1.0"),
        ("dev-foo", "<", "1.26.0"),
        ("1.25.0-beta2.1", "=", "1.25.0-b.2.1"),
        ("1.0.0-patch1", ">", "1.0.0"),  # PHP matches special forms by prefix: "patch" is "p"
        ("1.0.0-foo", "<", "1.0.0-dev"),  # unknown words rank below dev
        ("1.0.#", "=", "1.0.5"),  # OSV's reading of '#' (packagist.py docstring)
    ],
    "dpkg": [
        ("1.0~rc1", "<", "1.0"),
        ("1.0~~", "<", "1.0~"),
        ("1.0", "<", "1.0a"),
        ("1.0", "<", "1.0+dfsg"),
        ("1.0", "=", "1.0-0"),
        ("1:0.1", ">", "9.9"),
        ("1.2.3-1~deb7u1", "<", "1.2.3-1"),
        ("2.7.4+reloaded2-13ubuntu1", "<", "2.7.4+reloaded2-13+deb9u1"),
        ("0~", "<", "0"),
    ],
    "opam": [("1.0~beta", "<", "1.0"), ("1.0", "<", "1.0.1")],
    "rpm": [
        ("1.0^", ">", "1.0"),
        ("1.0^git1", "<", "1.0.1"),
        ("1.0~rc1", "<", "1.0"),
        ("1.0~rc1^git1", ">", "1.0~rc1"),
        ("1:1.0", ">", "2.0"),
        ("0:3.10.0-229.el7", "<", "0:3.10.0-229.1.2.ael7b"),
        ("1.0a", ">", "1.0"),
        ("1.0", "<", "1.0-1"),
        ("1.01", "=", "1.1"),
        ("a:1", "<", "b:1"),  # no numeric epoch: the colon is part of the version
    ],
    "apk": [
        ("1.2.3_rc1", "<", "1.2.3"),
        ("1.2.3", "<", "1.2.3_p1"),
        ("1.2.3_alpha", "<", "1.2.3_beta"),
        ("1.2.3-r1", "<", "1.2.3-r10"),
        ("1.2.3a", ">", "1.2.3"),
        ("1.2.3a", "<", "1.2.4"),
        ("1.05", "<", "1.1"),
        ("1.2.3_git20200101-r0", ">", "1.2.3-r5"),
    ],
    "cran": [("0.1-2", "<", "0.2-2"), ("1.0", "<", "1.0.0"), ("1.0-0", "=", "1.0.0")],
    "hackage": [("1.0", "<", "1.0.0"), ("0.10", ">", "0.9"), ("1.2.3.4", "<", "1.3")],
}


@pytest.mark.parametrize(
    ("scheme_id", "a", "op", "b"), [(s, a, op, b) for s, cases in CASES.items() for a, op, b in cases]
)
def test_known_cases(scheme_id: str, a: str, op: str, b: str) -> None:
    key = SCHEMES[scheme_id].key
    got = "<" if key(a) < key(b) else ">" if key(a) > key(b) else "="
    assert got == op, f"{scheme_id}: {a} {op} {b}, got {got}"


@pytest.mark.parametrize(
    ("scheme_id", "bad"),
    [
        ("semver", "x1.2.3"),
        ("semver", "1.2.3 "),
        ("hackage", "1.0-r1"),
        ("cran", "1.0a"),
        ("dpkg", "a:1.0"),
        ("dpkg", "1.0-"),
        ("nuget", "v1.0"),
        ("rubygems", "a1"),
        ("maven", "1.0\u00e9"),
    ],
)
def test_invalid_versions(scheme_id: str, bad: str) -> None:
    with pytest.raises(InvalidVersion):
        SCHEMES[scheme_id].key(bad)


@pytest.mark.parametrize(
    ("ecosystem", "base"),
    [
        ("Debian:12", "Debian"),
        ("Ubuntu:22.04:LTS", "Ubuntu"),
        ("Ubuntu:Pro:18.04:LTS", "Ubuntu"),
        ("Alpine:v3.18", "Alpine"),
        ("Packagist:https://packages.drupal.org/8", "Packagist"),
        ("Red Hat:enterprise_linux:9::appstream", "Red Hat"),
        ("AlmaLinux:8", "AlmaLinux"),
        ("Rocky Linux:9", "Rocky Linux"),
        ("SUSE:Linux Enterprise Server 15 SP5", "SUSE"),
        ("openSUSE:Tumbleweed", "openSUSE"),
    ],
)
def test_suffix_is_split(ecosystem: str, base: str) -> None:
    assert base_ecosystem(ecosystem) == base
    assert scheme_for(ecosystem) is scheme_for(base) is not None


def test_every_schema_ecosystem_is_classified() -> None:
    data = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
    path = data / "schemas" / "osv" / "ecosystems.json"
    if not path.is_file():
        pytest.skip(f"OSV ecosystems list absent: {path}")
    names = set(json.loads(path.read_text(encoding="utf-8")))
    assert names - SUPPORTED - UNSUPPORTED == set()
    assert not SUPPORTED & UNSUPPORTED


def test_unsupported_and_unknown_return_none_and_convenience_raises() -> None:
    assert scheme_for("Linux") is None
    assert scheme_for("NoSuchEcosystem") is None
    with pytest.raises(UnsupportedEcosystem, match="known but unsupported"):
        compare("GitHub Actions", "v1", "v2")
    with pytest.raises(UnsupportedEcosystem, match="unknown"):
        version_key("NoSuchEcosystem", "1.0")


def test_zero_is_the_start_in_osv_order_only() -> None:
    # Maven itself says 0 == 0.0.0 > 0-alpha; OSV's introduced "0" means "before everything".
    assert SCHEMES["maven"].key("0") == SCHEMES["maven"].key("0.0.0")
    assert compare("Maven", "0", "0-alpha") == -1
    assert compare("Maven", "0", "0") == 0
    assert compare("npm", "0", "0.0.0-alpha") == -1


def test_registry_errors_name_the_scheme() -> None:
    with pytest.raises(InvalidVersion, match="dpkg"):
        version_key("Debian:12", "1.0-")
    assert compare("Debian:12", "1.0~rc1", "1.0") == -1
    assert compare("PyPI", "10.11.dev3", "10.11") == -1
