"""Chain guards: a set of Maven/Packagist keys they admit is ordered consistently, pair by pair.

The matcher merges the event versions of all advisories of a package into one sorted table only when
the scheme's guard admits every key (``matcher.ranges.table.RankedEntries``); so an admitted set must
be a chain: sorted once, every earlier key compares ``<=`` every later one. Checked on random sets drawn
from the ordering fixtures' own strings (which contain the documented cycles) and from generated
version-like strings; the known cycles must be refused.
"""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest

from matcher.versions import SCHEMES
from matcher.versions.maven import MavenChainGuard, MavenKey, compare_items
from matcher.versions.packagist import PackagistChainGuard, PackagistKey, compare_parts

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "version-ordering"
LINE = re.compile(r"(\S+) [<>=] (\S+)")

MAVEN_CYCLES = [
    ("2.9.0.RC1", "2.9.0", "2.9.0-1"),
    ("1.0.0.RC7-3", "1.0.0", "1.0.0-gradle-rework-beta3"),
    ("1.1.0.Beta1", "1.1.0", "1.1.0-01-glassfish"),
    ("1", "1.sp", "1-alpha"),
    ("1.0.alpha", "1", "1-1"),
]
PARTS = ["0", "1", "2", "10", "alpha", "beta", "rc", "sp", "ga", "final", "m", "a1", "b2", "RC1", "jre", ""]


def _fixture_strings(*names: str) -> list[str]:
    found: set[str] = set()
    for name in names:
        path = DATA / name
        if not path.is_file():
            pytest.skip(f"ordering fixtures not found at {path.resolve()}")
        for line in path.read_text().splitlines():
            match = LINE.match(line.strip())
            if match:
                found.update(match.groups())
    return sorted(found)


def _maven_chain(keys: list[MavenKey]) -> bool:
    ordered = sorted(keys)
    return all(compare_items(a.items, b.items) <= 0 for a, b in itertools.combinations(ordered, 2))


def _generated(rng: random.Random) -> str:
    pieces = [rng.choice(PARTS) for _ in range(rng.randint(1, 5))]
    text = "".join(p + rng.choice([".", ".", "-", ""]) for p in pieces[:-1]) + pieces[-1]
    return text or "1"


@pytest.mark.parametrize("cycle", MAVEN_CYCLES, ids=" < ".join)
def test_maven_guard_refuses_the_known_cycles(cycle: tuple[str, ...]) -> None:
    guard = MavenChainGuard()
    assert not all(guard.admit(SCHEMES["maven"].key(v)) for v in cycle)


def test_maven_guard_admits_plain_release_lines_and_allows_leaves_it_unchanged() -> None:
    key = SCHEMES["maven"].key
    guard = MavenChainGuard()
    assert all(guard.admit(key(v)) for v in ("1.0", "1.2.3", "2.0.0-rc1", "2.0.1", "10.1.0-M1", "10.1.13"))
    assert not guard.allows(key("2.0.0.RC2"))  # a kept 0 followed by a qualifier beside "2.0.0-rc1"
    assert guard.allows(key("2.0.2"))
    other = MavenChainGuard()
    assert other.allows(key("1-alpha"))
    assert other.admit(key("1.sp"))  # "1-alpha" was only asked about, not added
    assert not other.admit(key("1-alpha"))


def test_maven_admitted_sets_are_chains() -> None:
    strings = _fixture_strings("maven-versions.txt", "maven-versions-generated.txt")
    rng = random.Random(20261126)
    key = SCHEMES["maven"].key
    # Sets of neighbours (same 3-character prefix) meet the fixtures' corner cases most often.
    groups: dict[str, list[str]] = {}
    for version in strings:
        groups.setdefault(version[:3], []).append(version)
    families = [g for g in groups.values() if len(g) >= 5]
    admitted = refused = 0
    for trial in range(4000):
        if trial % 2:
            family = rng.choice(families)
            chosen = rng.sample(family, min(len(family), rng.randint(3, 20)))
        else:
            chosen = list({_generated(rng) for _ in range(rng.randint(3, 8))})
        keys = [key(v) for v in chosen]
        guard = MavenChainGuard()
        if all(guard.admit(k) for k in keys):
            admitted += 1
            assert _maven_chain(keys), sorted(chosen, key=key)
        else:
            refused += 1
    assert admitted > 1000
    assert refused > 500


def test_packagist_guard_refuses_hash_words_and_admitted_sets_are_chains() -> None:
    key = SCHEMES["packagist"].key
    guard = PackagistChainGuard()
    assert guard.admit(key("1.2.3"))
    assert not guard.allows(key("1.2.3.#"))
    strings = _fixture_strings("packagist-versions.txt", "packagist-versions-generated.txt")
    rng = random.Random(7)
    admitted = 0
    for _ in range(1500):
        chosen = rng.sample(strings, 12)
        keys: list[PackagistKey] = [key(v) for v in chosen]
        guard = PackagistChainGuard()
        if all(guard.admit(k) for k in keys):
            admitted += 1
            ordered = sorted(keys)
            assert all(compare_parts(a.parts, b.parts) <= 0 for a, b in itertools.combinations(ordered, 2))
    assert admitted > 1000
