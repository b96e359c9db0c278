"""The documented corners where an ecosystem's own order is not transitive, reproduced pairwise.

Maven (``matcher/versions/maven.py``): a ``.qualifier`` or a ``.0`` kept before a qualifier meets a
hyphen list as "string/number versus list", while a shorter version meets both as "versus null". The
first three cycles are recorded by the ordering fixtures (maven-versions-generated.txt lines 5775-5778,
2781-2787 and 12642, sorted and checked by maven-artifact's ``ComparableVersion``).

Packagist (``matcher/versions/packagist.py``): a ``#`` word equals every number, and running out meets
``#``, so ``1.2.3.#`` equals both ``1.2.3`` and ``1.2.3.1`` (packagist-versions.txt lines 94-96).
"""

from __future__ import annotations

import itertools

import pytest

from matcher.versions import SCHEMES, compare

MAVEN_CYCLES = [
    ("2.9.0.RC1", "2.9.0", "2.9.0-1"),
    ("1.0.0.RC7-3", "1.0.0", "1.0.0-gradle-rework-beta3"),
    ("1.1.0.Beta1", "1.1.0", "1.1.0-01-glassfish"),
    ("1", "1.sp", "1-alpha"),
    ("1.0.alpha", "1", "1-1"),
]


@pytest.mark.parametrize("cycle", MAVEN_CYCLES, ids=" < ".join)
def test_maven_cycles_are_reproduced_in_both_directions(cycle: tuple[str, ...]) -> None:
    key = SCHEMES["maven"].key
    for low, high in itertools.pairwise((*cycle, cycle[0])):
        assert key(low) < key(high), f"{low} < {high}"
        assert key(high) > key(low), f"{high} > {low}"
        assert key(low) != key(high)


def test_maven_cycles_also_hold_through_the_registry() -> None:
    # ranges.py compares wrapped (1, key) tuples; the wrapper must not hide the pairwise order.
    for cycle in MAVEN_CYCLES:
        for low, high in itertools.pairwise((*cycle, cycle[0])):
            assert compare("Maven", low, high) == -1
            assert compare("Maven", high, low) == 1


def test_maven_versions_in_a_cycle_still_sort_without_error() -> None:
    versions = [v for cycle in MAVEN_CYCLES for v in cycle]
    ordered = sorted(versions, key=SCHEMES["maven"].key)
    assert sorted(ordered) == sorted(versions)


def test_packagist_hash_words_equal_every_number() -> None:
    key = SCHEMES["packagist"].key
    wild, short, longer, other = key("1.2.3.#"), key("1.2.3"), key("1.2.3.1"), key("1.2.3.9")
    assert wild == short
    assert wild == longer
    assert wild == other
    assert short < longer < other  # so equality is not transitive here
    assert hash(wild) == hash(short) == hash(longer) == hash(other)
    assert key("1.2.3.#.1") > short
    assert key("1.2.3.#.beta") < short
    assert key("1.2.3.#.p3") > short


def test_packagist_without_hash_words_keeps_a_total_order() -> None:
    key = SCHEMES["packagist"].key
    chain = ["1.0-dev", "1.0alpha1", "1.0b1", "1.0RC1", "1.0", "1.0.1", "1.0pl1"]  # pl beats a number
    keys = [key(v) for v in chain]
    assert all(not k.wild for k in keys)
    assert keys == sorted(keys)
    assert all(a < b for a, b in itertools.combinations(keys, 2))
