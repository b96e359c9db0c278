"""Every comparison of ../shared/data/version-ordering (71,903 lines), checked in both directions.

Each line ``A op B`` must give ``key(A) op key(B)`` and the mirrored result for ``key(B)`` against
``key(A)``, with the ecosystem's own scheme (not the OSV wrapper, whose "0" rule differs on purpose).
Failures are collected per file and the first 30 printed. Every line is asserted as written, including
the few that no total order can satisfy together with their neighbours (Maven's cycles such as
``2.9.0.RC1 < 2.9.0 < 2.9.0-1 < 2.9.0.RC1``, Packagist's ``1.2.3.# = 1.2.3.1`` beside
``1.2.3.# = 1.2.3``): those schemes compare pairwise, as the native tools do (see their modules and
``test_nontransitive.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher.versions import SCHEMES, VersionScheme

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "version-ordering"

#: fixture file → schemes that must satisfy it (semver-versions.txt serves npm, crates.io, Go, Hex).
FILES: dict[str, tuple[str, ...]] = {
    "alpine-versions.txt": ("apk",),
    "alpine-versions-generated.txt": ("apk",),
    "cran-versions.txt": ("cran",),
    "cran-versions-generated.txt": ("cran",),
    "debian-versions.txt": ("dpkg",),
    "debian-versions-generated.txt": ("dpkg",),
    "hackage-versions.txt": ("hackage",),
    "maven-versions.txt": ("maven",),
    "maven-versions-generated.txt": ("maven",),
    "nuget-versions.txt": ("nuget",),
    "packagist-versions.txt": ("packagist",),
    "packagist-versions-generated.txt": ("packagist",),
    "osv.dev/packagist_test_cases.txt": ("packagist",),
    "pub-versions.txt": ("pub",),
    "pypi-versions.txt": ("pypi",),
    "pypi-versions-generated.txt": ("pypi",),
    "redhat-versions.txt": ("rpm",),
    "rubygems-versions.txt": ("rubygems",),
    "rubygems-versions-generated.txt": ("rubygems",),
    "semver-versions.txt": ("semver",),
}

EXPECTED_TOTAL = 71_903
_MIRROR = {"<": ">", ">": "<", "=": "="}


def comparisons(path: Path) -> Iterator[tuple[int, str, str, str]]:
    """(line number, a, op, b) for each comparison line; osv-scalibr's reader rules."""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith(("# ", "//", "#\t")) or raw == "#":
            continue
        parts = raw.split(" ")
        assert len(parts) == 3, f"{path.name}:{number}: not a comparison: {raw!r}"
        assert parts[1] in _MIRROR, f"{path.name}:{number}: unknown operator: {raw!r}"
        yield number, parts[0], parts[1], parts[2]


def _order(scheme: VersionScheme, a: str, b: str) -> str:
    key_a, key_b = scheme.key(a), scheme.key(b)
    return "<" if key_a < key_b else ">" if key_a > key_b else "="


def check_file(name: str, scheme: VersionScheme) -> tuple[int, list[str]]:
    failures: list[str] = []
    count = 0
    for number, a, op, b in comparisons(DATA / name):
        count += 1
        try:
            forward, backward = _order(scheme, a, b), _order(scheme, b, a)
        except Exception as error:  # any exception is a failure to report, not a crash
            failures.append(f"{name}:{number}: {a} {op} {b}: raised {error!r}")
            continue
        if forward != op or backward != _MIRROR[op]:
            failures.append(f"{name}:{number}: {a} {op} {b}: got {forward} (reverse {backward})")
    return count, failures


needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"fixture data absent: {DATA}")


@pytest.mark.realdata
@needs_data
@pytest.mark.parametrize(
    ("name", "scheme_id"), [(name, scheme) for name, schemes in FILES.items() for scheme in schemes]
)
def test_fixture_file(name: str, scheme_id: str) -> None:
    count, failures = check_file(name, SCHEMES[scheme_id])
    print(f"{name} [{scheme_id}]: {count} comparisons, {len(failures)} failures")
    assert count > 0
    assert not failures, "\n".join(failures[:30])


@pytest.mark.realdata
@needs_data
def test_every_fixture_line_is_counted() -> None:
    on_disk = sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*.txt"))
    assert on_disk == sorted(FILES), "a fixture file is not mapped to a scheme"
    total = sum(sum(1 for _ in comparisons(DATA / name)) for name in FILES)
    assert total == EXPECTED_TOTAL
